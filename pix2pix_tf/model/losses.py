"""pix2pix losses (Isola et al., CVPR 2017, eq. 1-4): BCE-with-logits GAN loss plus weighted L1.

`--gan_loss` picks the adversarial terms (config.GAN_LOSSES): `vanilla` (the paper's BCE with
logits, the generator's non-saturating form), `lsgan` (least squares, Mao et al. 2017: D pushes real
logits to 1 and generated ones to 0, G pushes its logits to 1) or `hinge` (Lim and Ye 2017, as
in SAGAN and pix2pixHD's successors: D's relu(1 - real) + relu(1 + fake), G's -fake) or
`relativistic` (the relativistic average GAN of Jolicoeur-Martineau 2018 in ESRGAN's form, Wang
et al. 2018: BCE on each patch's logit less the mean logit of the *other* pair of the same
sketch, so D judges whether the real photo is more real than the generated one and G is pushed
by both pairs; ESRGAN credits it with sharper edges. The mean is over that example's patches,
not the batch, so it is per example under any strategy; G's term is the mean of its two BCE
terms, not their sum, to keep the adversarial term's size. The functions then take the other
pair's logits too: `real_logits=` or `fake_logits=`).

`generator_loss` and `discriminator_loss` are what the training step calls (both update
orders); the terms they return are its metrics. Every value is per example (shape [N],
float32): the step averages over the *global* batch itself (this replica's sum / the global
batch size, summed across replicas: what `tf.nn.compute_average_loss` computes, without its
runtime asserts, which XLA can only ignore noisily), so the result is right under any
tf.distribute strategy. Logits are the PatchGAN's [N, P, P, 1] outputs; each example's loss is
the mean over its P x P patches, as `nn.BCEWithLogitsLoss` in the reference. With a multi-scale
discriminator (`--discriminator_scales`) the logits are a list, one map per scale; each
adversarial term and accuracy is then the mean of its per-scale values (pix2pixHD sums them; the
mean keeps the adversarial term's size, so the L1 weight keeps its meaning).
"""

import functools

import tensorflow as tf


def _over_scales(function):
    """Lets a per-example function of one logits map take a list of maps (one per
    discriminator scale) too: the mean of its values over the scales."""

    @functools.wraps(function)
    def wrapper(logits, *args, **kwargs):
        if isinstance(logits, (list, tuple)):
            def at(value, index):  # The other pair's logits are a list of scales as well.
                return value[index] if isinstance(value, (list, tuple)) else value

            return tf.add_n([
                function(scale, *[at(arg, index) for arg in args],
                         **{name: at(value, index) for name, value in kwargs.items()})
                for index, scale in enumerate(logits)]) / len(logits)
        return function(logits, *args, **kwargs)

    return wrapper


def _per_example_mean(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.reshape(tf.cast(values, tf.float32), [tf.shape(values)[0], -1]),
                          axis=1)


def _bce_with_logits(logits: tf.Tensor, target: float) -> tf.Tensor:
    logits = tf.cast(logits, tf.float32)
    labels = tf.fill(tf.shape(logits), target)
    return _per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))


def _squared(logits: tf.Tensor, target: float) -> tf.Tensor:
    return _per_example_mean(tf.square(tf.cast(logits, tf.float32) - target))


def _hinge(logits: tf.Tensor, sign: float) -> tf.Tensor:
    return _per_example_mean(tf.nn.relu(1.0 - sign * tf.cast(logits, tf.float32)))


def _relative(logits: tf.Tensor, other) -> tf.Tensor:
    """RaGAN's critic difference: each patch's logit less the mean logit of `other` (the other
    pair of the same example), per example; either missing is a caller's bug."""
    if logits is None or other is None:
        raise ValueError('--gan_loss=relativistic needs the logits of both pairs')
    other = tf.cast(other, tf.float32)
    return tf.cast(logits, tf.float32) - tf.reduce_mean(
        other, axis=list(range(1, len(other.shape))), keepdims=True)


@_over_scales
def generator_gan_loss(fake_logits: tf.Tensor, kind: str = 'vanilla',
                       real_logits=None) -> tf.Tensor:
    """vanilla: the non-saturating -log D(x, G(x)) (BCE of fake logits against 'real');
    lsgan: (D - 1)^2; hinge: -D; relativistic: the mean of BCE(real - mean fake, 'fake') and
    BCE(fake - mean real, 'real')."""
    if kind == 'relativistic':
        return 0.5 * (_bce_with_logits(_relative(real_logits, fake_logits), 0.0)
                      + _bce_with_logits(_relative(fake_logits, real_logits), 1.0))
    if kind == 'lsgan':
        return _squared(fake_logits, 1.0)
    if kind == 'hinge':
        return -_per_example_mean(fake_logits)
    return _bce_with_logits(fake_logits, 1.0)


@_over_scales
def discriminator_real_loss(real_logits: tf.Tensor, kind: str = 'vanilla',
                            fake_logits=None) -> tf.Tensor:
    """The discriminator's term on real pairs: BCE against 'real' (label 1); lsgan: (D - 1)^2;
    hinge: relu(1 - D); relativistic: BCE(real - mean fake, 'real')."""
    if kind == 'relativistic':
        return _bce_with_logits(_relative(real_logits, fake_logits), 1.0)
    if kind == 'lsgan':
        return _squared(real_logits, 1.0)
    if kind == 'hinge':
        return _hinge(real_logits, 1.0)
    return _bce_with_logits(real_logits, 1.0)


@_over_scales
def discriminator_fake_loss(fake_logits: tf.Tensor, kind: str = 'vanilla',
                            real_logits=None) -> tf.Tensor:
    """The discriminator's term on generated pairs: BCE against 'fake' (label 0); lsgan: D^2;
    hinge: relu(1 + D); relativistic: BCE(fake - mean real, 'fake')."""
    if kind == 'relativistic':
        return _bce_with_logits(_relative(fake_logits, real_logits), 0.0)
    if kind == 'lsgan':
        return _squared(fake_logits, 0.0)
    if kind == 'hinge':
        return _hinge(fake_logits, -1.0)
    return _bce_with_logits(fake_logits, 0.0)


def l1_loss(photo: tf.Tensor, generated_photo: tf.Tensor, pool: int = 1) -> tf.Tensor:
    """Mean absolute error per example, in the [-1, 1] model range (unweighted); with `pool`
    > 1, between the two photos average-pooled on pool x pool blocks (`--l1_pool`): the means
    of the blocks must match, not the pixels inside them."""
    photo, generated_photo = tf.cast(photo, tf.float32), tf.cast(generated_photo, tf.float32)
    if pool > 1:
        photo, generated_photo = (tf.nn.avg_pool2d(image, pool, pool, 'VALID')
                                  for image in (photo, generated_photo))
    return _per_example_mean(tf.abs(photo - generated_photo))


def gradient_loss(photo: tf.Tensor, generated_photo: tf.Tensor) -> tf.Tensor:
    """The gradient difference loss per example [N] (Mathieu, Couprie and LeCun 2016, "Deep
    multi-scale video prediction beyond mean square error", with alpha = 1): the mean absolute
    difference between the *magnitudes* of neighbouring-pixel differences, vertical and
    horizontal, of the photo and the generated photo, in the [-1, 1] model range.

    It compares how strong the edges and texture are at each pixel, not their sign: L1 is
    lowest for the blurred average of the photos a sketch could have, this term is not. (On
    the dev set it made `cpu.flags`-family outputs smoother, not sharper: docs/quality.md.)
    """
    photo = tf.cast(photo, tf.float32)
    generated_photo = tf.cast(generated_photo, tf.float32)

    def magnitudes(image):  # |vertical|, |horizontal| neighbour differences of [N, H, W, C].
        return tf.abs(image[:, 1:] - image[:, :-1]), tf.abs(image[:, :, 1:] - image[:, :, :-1])

    (real_rows, real_cols), (fake_rows, fake_cols) = magnitudes(photo), magnitudes(generated_photo)
    return 0.5 * (_per_example_mean(tf.abs(real_rows - fake_rows))
                  + _per_example_mean(tf.abs(real_cols - fake_cols)))


def generator_loss(fake_logits: tf.Tensor, photo: tf.Tensor, generated_photo: tf.Tensor,
                   l1_weight: float, gan_loss: str = 'vanilla',
                   gradient_weight: float = 0.0, real_logits=None,
                   l1_pool: int = 1) -> dict[str, tf.Tensor]:
    """The generator's objective per example: {'gan_loss', 'l1_loss', 'total_loss'}, each [N],
    and 'gradient_loss' with a `gradient_weight`. `real_logits`: D's on the real pairs, which
    only `relativistic` reads; `l1_pool`: `l1_loss`'s pool.

    total = gan + l1_weight * l1 (the paper's lambda = 100) [+ gradient_weight * gradient];
    l1 and gradient are unweighted.
    """
    adversarial = generator_gan_loss(fake_logits, gan_loss, real_logits=real_logits)
    l1 = l1_loss(photo, generated_photo, l1_pool)
    terms = {'gan_loss': adversarial, 'l1_loss': l1, 'total_loss': adversarial + l1_weight * l1}
    if gradient_weight:
        terms['gradient_loss'] = gradient_loss(photo, generated_photo)
        terms['total_loss'] = terms['total_loss'] + gradient_weight * terms['gradient_loss']
    return terms


def feature_matching_loss(real_features: list, fake_features: list) -> tf.Tensor:
    """pix2pixHD's feature-matching term per example [N]: the mean over D's layers of the mean
    absolute difference between its features of the real and of the generated pair.

    The real pair's features are constants (stop_gradient): the term pulls the generated
    pair's features towards them and trains the generator only.
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError('feature matching needs the same, non-empty list of layers for both')
    per_layer = [_per_example_mean(tf.abs(tf.stop_gradient(tf.cast(real, tf.float32))
                                          - tf.cast(fake, tf.float32)))
                 for real, fake in zip(real_features, fake_features)]
    return tf.add_n(per_layer) / len(per_layer)


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor,
                       gan_loss: str = 'vanilla') -> dict[str, tf.Tensor]:
    """The discriminator's objective per example: {'real_loss', 'fake_loss', 'total_loss'}.

    total = the mean of the real and fake terms: the paper halves D's objective to slow D down.
    """
    real_loss = discriminator_real_loss(real_logits, gan_loss, fake_logits=fake_logits)
    fake_loss = discriminator_fake_loss(fake_logits, gan_loss, real_logits=real_logits)
    return {'real_loss': real_loss, 'fake_loss': fake_loss,
            'total_loss': 0.5 * (real_loss + fake_loss)}


def _threshold(kind: str) -> float:
    return 0.5 if kind == 'lsgan' else 0.0  # Halfway between the targets (lsgan: 0 and 1).


@_over_scales
def real_accuracy(real_logits: tf.Tensor, kind: str = 'vanilla', fake_logits=None) -> tf.Tensor:
    """Share of patches the discriminator calls real on real pairs, per example (relativistic:
    more real than the generated pair's mean patch)."""
    if kind == 'relativistic':
        return _per_example_mean(tf.cast(_relative(real_logits, fake_logits) > 0, tf.float32))
    return _per_example_mean(tf.cast(tf.cast(real_logits, tf.float32) > _threshold(kind),
                                     tf.float32))


@_over_scales
def fake_accuracy(fake_logits: tf.Tensor, kind: str = 'vanilla', real_logits=None) -> tf.Tensor:
    """Share of patches the discriminator calls fake on generated pairs, per example
    (relativistic: less real than the real pair's mean patch)."""
    if kind == 'relativistic':
        return _per_example_mean(tf.cast(_relative(fake_logits, real_logits) < 0, tf.float32))
    return _per_example_mean(tf.cast(tf.cast(fake_logits, tf.float32) < _threshold(kind),
                                     tf.float32))
