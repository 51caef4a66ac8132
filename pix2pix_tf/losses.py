"""pix2pix losses (Isola et al., CVPR 2017, eq. 1-4): BCE-with-logits GAN loss plus weighted L1.

Every function returns one value per example (shape [N], float32), so the training step can
average over the *global* batch with `tf.nn.compute_average_loss` under any tf.distribute
strategy. Logits are the PatchGAN's [N, P, P, 1] float32 outputs; each example's loss is the
mean over its P x P patches, as `nn.BCEWithLogitsLoss` in the reference.
"""

import tensorflow as tf


def _per_example_mean(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.reshape(tf.cast(values, tf.float32), [tf.shape(values)[0], -1]),
                          axis=1)


def _bce_with_logits(logits: tf.Tensor, target: float) -> tf.Tensor:
    logits = tf.cast(logits, tf.float32)
    labels = tf.fill(tf.shape(logits), target)
    return _per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))


def generator_gan_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss -log D(x, G(x)): BCE of fake logits against 'real'."""
    return _bce_with_logits(fake_logits, 1.0)


def discriminator_real_loss(real_logits: tf.Tensor) -> tf.Tensor:
    """BCE of the discriminator's logits on real pairs against 'real' (label 1)."""
    return _bce_with_logits(real_logits, 1.0)


def discriminator_fake_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """BCE of the discriminator's logits on generated pairs against 'fake' (label 0)."""
    return _bce_with_logits(fake_logits, 0.0)


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Mean of the real and fake terms: the paper halves D's objective to slow D down."""
    return 0.5 * (discriminator_real_loss(real_logits) + discriminator_fake_loss(fake_logits))


def l1_loss(photo: tf.Tensor, generated_photo: tf.Tensor) -> tf.Tensor:
    """Mean absolute error per example, in the [-1, 1] model range (unweighted)."""
    return _per_example_mean(tf.abs(tf.cast(photo, tf.float32) -
                                    tf.cast(generated_photo, tf.float32)))


def generator_loss(fake_logits: tf.Tensor, photo: tf.Tensor, generated_photo: tf.Tensor,
                   l1_weight: float) -> tf.Tensor:
    """GAN loss + l1_weight * L1 (the paper's lambda = 100)."""
    return generator_gan_loss(fake_logits) + l1_weight * l1_loss(photo, generated_photo)


def real_accuracy(real_logits: tf.Tensor) -> tf.Tensor:
    """Share of patches the discriminator calls real on real pairs, per example."""
    return _per_example_mean(tf.cast(real_logits > 0, tf.float32))


def fake_accuracy(fake_logits: tf.Tensor) -> tf.Tensor:
    """Share of patches the discriminator calls fake on generated pairs, per example."""
    return _per_example_mean(tf.cast(fake_logits < 0, tf.float32))
