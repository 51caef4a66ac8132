"""Model: the networks and what they are trained with.

- `networks`: the U-Net generator and 70x70 PatchGAN discriminator (Keras), and `generate`.
- `fused_batch_norm`: Keras's batch norm computed by TensorFlow's fused kernel, for training.
- `losses`: the adversarial losses (BCE with logits, least squares, hinge, relativistic) and L1.
- `precision`: mixed-precision policies, loss-scaled and fused Adam optimizers.
- `ema`: the generator's exponential moving average.
- `augment`: differentiable augmentation of the discriminator's inputs (`--diff_augment`).
- `inference_twin`: the generator with its transposed convolutions as forward ones, for exports.

May import: `pix2pix_tf.config` and other `pix2pix_tf.model` modules only (tests/test_layout.py).
"""
