"""Serving: a trained generator in users' hands.

- `exports`: a training workdir -> a SavedModel, TFLite or .keras version; `signatures`: the
  SavedModel's serving signatures (pre- and post-processing in the graph); `tflite_export`;
  `model_card`: assets.extra/pix2pix.json; `versions`: numbered version folders, written whole.
- `client`: the backends that run a model (in-process, TF Serving REST and gRPC);
  `predictions`: sketches or photos in, photos out, for `predict.py`.
- `demo_server` (with `http_connections` and `demo_page.html`): the drawing demo.

May import: everything below it: `pix2pix_tf.config`, `pix2pix_tf.data`, `pix2pix_tf.model`,
`pix2pix_tf.evaluation`, `pix2pix_tf.training` (an export reads training's checkpoints) and
other `pix2pix_tf.serving` modules (tests/test_layout.py).
"""
