"""Training: turning data and a model into checkpoints.

- `loop`: `train_and_evaluate`, the loop as named phases (start, steps, summaries, validation,
  saves, finish).
- `train_step`: the training state and the compiled step (both nets, loss scaling, EMA).
- `checkpoints`, `checkpoint_integrity`: saving, resuming and restoring, and the checksums that
  set a damaged checkpoint aside; `run_info`: the workdir's config.json.
- `distribute`: tf.distribute strategies; `divergence`: the guard that stops a run gone to NaN;
  `progress`: the console progress line; `workdir_lock`: one trainer per workdir;
  `event_files`: TensorBoard events after a resume.

May import: `pix2pix_tf.config`, `pix2pix_tf.data`, `pix2pix_tf.model`,
`pix2pix_tf.evaluation` (periodic validation) and other `pix2pix_tf.training` modules
(tests/test_layout.py).
"""
