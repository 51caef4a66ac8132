"""Evaluation: how good a generator is, over a split.

- `pixel_metrics`: L1, PSNR and SSIM per example and over a dataset (with `realism`, and
  FID/KID when Inception weights are given), TensorBoard scalars, HParams and sample
  grids; used by training's periodic validation and by `evaluate.py`.
- `realism`: realism statistics with no downloaded weights (colour, texture, a two-sample
  test), the generated set against the real one.
- `gan_metrics`: FID and KID from Inception features.
- `report`: the HTML report `evaluate.py` writes.

May import: `pix2pix_tf.config`, `pix2pix_tf.data`, `pix2pix_tf.model` and other
`pix2pix_tf.evaluation` modules (tests/test_layout.py).
"""
