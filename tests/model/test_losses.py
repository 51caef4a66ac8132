import math

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.model import losses


def softplus(x):
    return math.log1p(math.exp(x))


def test_bce_with_logits_by_hand():
    # One example, two "patches": logits 2 and -1.
    logits = tf.constant([[[[2.0]], [[-1.0]]]])  # [1, 2, 1, 1]
    # BCE(label=1, z) = softplus(-z); BCE(label=0, z) = softplus(z).
    expected_real = (softplus(-2.0) + softplus(1.0)) / 2
    expected_fake = (softplus(2.0) + softplus(-1.0)) / 2
    np.testing.assert_allclose(losses.generator_gan_loss(logits), [expected_real], rtol=1e-6)
    np.testing.assert_allclose(losses.discriminator_real_loss(logits), [expected_real],
                               rtol=1e-6)
    np.testing.assert_allclose(losses.discriminator_fake_loss(logits), [expected_fake],
                               rtol=1e-6)


def test_discriminator_loss_is_mean_of_real_and_fake_terms():
    real = tf.fill([2, 3, 3, 1], 3.0)
    fake = tf.fill([2, 3, 3, 1], -0.5)
    expected = 0.5 * (softplus(-3.0) + softplus(-0.5))
    terms = losses.discriminator_loss(real, fake)
    np.testing.assert_allclose(terms['total_loss'], [expected] * 2, rtol=1e-6)
    np.testing.assert_allclose(terms['real_loss'], [softplus(-3.0)] * 2, rtol=1e-6)
    np.testing.assert_allclose(terms['fake_loss'], [softplus(-0.5)] * 2, rtol=1e-6)


def test_l1_and_weighted_generator_loss_by_hand():
    photo = tf.zeros([2, 2, 2, 3])
    generated = tf.concat([tf.fill([1, 2, 2, 3], 0.5), tf.fill([1, 2, 2, 3], -0.25)], axis=0)
    np.testing.assert_allclose(losses.l1_loss(photo, generated), [0.5, 0.25])
    fake_logits = tf.zeros([2, 3, 3, 1])  # BCE(1, 0) = log 2.
    terms = losses.generator_loss(fake_logits, photo, generated, 100.0)
    np.testing.assert_allclose(terms['total_loss'], [math.log(2) + 50.0, math.log(2) + 25.0],
                               rtol=1e-6)
    np.testing.assert_allclose(terms['l1_loss'], [0.5, 0.25])  # Unweighted.
    np.testing.assert_allclose(terms['gan_loss'], [math.log(2)] * 2, rtol=1e-6)


def test_pooled_l1_compares_block_means_only():
    rng = np.random.default_rng(0)
    photo = tf.constant(rng.uniform(-0.5, 0.5, [2, 8, 8, 3]), tf.float32)

    def signs(side):  # +-1 in a checkerboard, side x side.
        return np.indices([side, side]).sum(axis=0) % 2 * 2 - 1

    # +-0.2 in a checkerboard: each 2x2 block keeps its mean, each pixel moves by 0.2.
    checkerboard = 0.2 * signs(8)[None, :, :, None]
    speckled = photo + tf.constant(checkerboard, tf.float32)
    np.testing.assert_allclose(losses.l1_loss(photo, speckled), [0.2, 0.2], rtol=1e-5)
    np.testing.assert_allclose(losses.l1_loss(photo, speckled, pool=2), [0.0, 0.0], atol=1e-6)
    # The checkerboard of 2x2 blocks (period 4) survives a pool of 2 and averages out at 4.
    blocks = 0.2 * np.kron(signs(4), np.ones([2, 2]))[None, :, :, None]
    blocky = photo + tf.constant(blocks, tf.float32)
    np.testing.assert_allclose(losses.l1_loss(photo, blocky, pool=2), [0.2, 0.2], rtol=1e-5)
    np.testing.assert_allclose(losses.l1_loss(photo, blocky, pool=4), [0.0, 0.0], atol=1e-6)
    # A shift of the whole photo counts in full at every pool; pool 1 is the plain L1.
    np.testing.assert_allclose(losses.l1_loss(photo, photo + 0.3, pool=4), [0.3, 0.3],
                               rtol=1e-5)
    np.testing.assert_array_equal(losses.l1_loss(photo, blocky, pool=1),
                                  losses.l1_loss(photo, blocky))
    # In the generator loss: the pooled term is the one weighted and reported.
    logits = tf.zeros([2, 3, 3, 1])
    terms = losses.generator_loss(logits, photo, speckled, 100.0, l1_pool=2)
    np.testing.assert_allclose(terms['l1_loss'], [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(terms['total_loss'], terms['gan_loss'], atol=1e-4)


def test_gradient_loss_by_hand_compares_edge_strength_not_sign():
    # A vertical step edge of height 1 between columns 1 and 2 of a 3x3 image.
    step = tf.constant([[-0.5, -0.5, 0.5]] * 3)[tf.newaxis, :, :, tf.newaxis]
    flat = tf.zeros_like(step)
    # Horizontal differences: 3 rows x [0, 1] against zeros -> mean 0.5; vertical: all 0.
    np.testing.assert_allclose(losses.gradient_loss(step, flat), [0.5 * (0.0 + 0.5)])
    # The same edge falling the other way (-step) or moved by a constant: no loss, while L1
    # counts it in full.
    np.testing.assert_allclose(losses.gradient_loss(step, -step), [0.0])
    np.testing.assert_allclose(losses.gradient_loss(step, step + 0.3), [0.0], atol=1e-7)
    assert float(losses.l1_loss(step, -step)[0]) == pytest.approx(1.0)
    # Blur and noise both move it up from zero; the photo against itself is zero.
    rng = np.random.default_rng(0)
    photo = tf.constant(rng.uniform(-1, 1, [2, 16, 16, 3]), tf.float32)
    blurred = tf.nn.avg_pool2d(photo, 3, 1, 'SAME')
    noised = photo + tf.constant(rng.normal(0, 0.3, [2, 16, 16, 3]), tf.float32)
    np.testing.assert_allclose(losses.gradient_loss(photo, photo), [0.0, 0.0])
    assert np.all(losses.gradient_loss(photo, blurred).numpy() > 0.1)
    assert np.all(losses.gradient_loss(photo, noised).numpy() > 0.05)
    # In the generator loss: weighted into the total, reported unweighted, absent at weight 0.
    logits = tf.zeros([2, 3, 3, 1])
    plain = losses.generator_loss(logits, photo, blurred, 100.0)
    weighted = losses.generator_loss(logits, photo, blurred, 100.0, gradient_weight=20.0)
    assert 'gradient_loss' not in plain
    np.testing.assert_allclose(weighted['gradient_loss'], losses.gradient_loss(photo, blurred))
    np.testing.assert_allclose(weighted['total_loss'],
                               plain['total_loss'] + 20.0 * weighted['gradient_loss'], rtol=1e-6)


def test_accuracies_count_patches_on_the_right_side():
    logits = tf.constant([[[[1.0], [-1.0]], [[2.0], [3.0]]]])  # 3 of 4 patches > 0.
    np.testing.assert_allclose(losses.real_accuracy(logits), [0.75])
    np.testing.assert_allclose(losses.fake_accuracy(logits), [0.25])


def test_losses_are_float32_for_bfloat16_logits():
    logits = tf.cast(tf.fill([1, 2, 2, 1], 1.0), tf.bfloat16)
    assert losses.generator_gan_loss(logits).dtype == tf.float32


def test_lsgan_and_hinge_terms_by_hand():
    real = tf.constant([[[[2.0]], [[0.0]]]])  # One example, two patches.
    fake = tf.constant([[[[-0.5]], [[1.0]]]])
    lsgan = losses.discriminator_loss(real, fake, 'lsgan')
    assert float(lsgan['real_loss'][0]) == pytest.approx(((2 - 1) ** 2 + (0 - 1) ** 2) / 2)
    assert float(lsgan['fake_loss'][0]) == pytest.approx((0.25 + 1) / 2)
    hinge = losses.discriminator_loss(real, fake, 'hinge')
    assert float(hinge['real_loss'][0]) == pytest.approx((0 + 1) / 2)  # relu(1 - D)
    assert float(hinge['fake_loss'][0]) == pytest.approx((0.5 + 2) / 2)  # relu(1 + D)
    photo = tf.zeros([1, 2, 2, 3])
    assert float(losses.generator_loss(fake, photo, photo, 100.0, 'lsgan')['gan_loss'][0]) == (
        pytest.approx((2.25 + 0) / 2))
    assert float(losses.generator_loss(fake, photo, photo, 100.0, 'hinge')['gan_loss'][0]) == (
        pytest.approx(-0.25))
    # Accuracy: lsgan's targets are 0 and 1, so it decides at 0.5; the others at 0.
    assert float(losses.real_accuracy(real, 'lsgan')[0]) == 0.5
    assert float(losses.fake_accuracy(fake, 'lsgan')[0]) == 0.5
    assert float(losses.fake_accuracy(fake)[0]) == 0.5


def test_feature_matching_by_hand_and_only_through_the_generated_features():
    real = [tf.constant([[1.0, 2.0], [0.0, 0.0]]), tf.constant([[[3.0]], [[1.0]]])]
    fake = [tf.Variable([[0.0, 0.0], [0.0, 1.0]]), tf.Variable([[[1.0]], [[1.0]]])]
    real_variables = [tf.Variable(r) for r in real]
    with tf.GradientTape() as tape:
        loss = losses.feature_matching_loss(real_variables, fake)
    # Example 0: layers (|1| + |2|) / 2 = 1.5 and |3 - 1| = 2 -> 1.75; example 1: 0.5 and 0.
    np.testing.assert_allclose(loss.numpy(), [1.75, 0.25])
    gradients = tape.gradient(loss, real_variables + fake)
    assert gradients[0] is None and gradients[1] is None  # The real features are constants.
    assert gradients[2] is not None and gradients[3] is not None
    np.testing.assert_allclose(losses.feature_matching_loss(real, real).numpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match='same, non-empty list'):
        losses.feature_matching_loss(real, fake[:1])


@pytest.mark.parametrize('kind', ['vanilla', 'lsgan', 'hinge'])
def test_multi_scale_logits_average_each_term_over_the_scales(kind):
    fine = tf.random.normal([3, 6, 6, 1], seed=1)
    coarse = tf.random.normal([3, 2, 2, 1], seed=2) + 1.0
    for function in (losses.generator_gan_loss, losses.discriminator_real_loss,
                     losses.discriminator_fake_loss, losses.real_accuracy,
                     losses.fake_accuracy):
        both = function([fine, coarse], kind)
        assert both.shape == (3,)
        np.testing.assert_allclose(both, (function(fine, kind) + function(coarse, kind)) / 2,
                                   rtol=1e-6)
    terms = losses.discriminator_loss([fine, coarse], [coarse, fine], kind)
    np.testing.assert_allclose(terms['total_loss'],
                               0.5 * (terms['real_loss'] + terms['fake_loss']), rtol=1e-6)


def _bce(logit, label):
    return float(np.log1p(np.exp(-logit)) if label else np.log1p(np.exp(logit)))


def test_relativistic_terms_by_hand():
    real = tf.constant([[[[2.0]], [[0.0]]]])  # One example, two patches: mean 1.
    fake = tf.constant([[[[-0.5]], [[1.5]]]])  # Mean 0.5.
    terms = losses.discriminator_loss(real, fake, 'relativistic')
    # Real patches less the fake mean: 1.5 and -0.5, against 'real'.
    assert float(terms['real_loss'][0]) == pytest.approx((_bce(1.5, 1) + _bce(-0.5, 1)) / 2)
    # Fake patches less the real mean: -1.5 and 0.5, against 'fake'.
    assert float(terms['fake_loss'][0]) == pytest.approx((_bce(-1.5, 0) + _bce(0.5, 0)) / 2)
    photo = tf.zeros([1, 2, 2, 3])
    gan = losses.generator_loss(fake, photo, photo, 100.0, 'relativistic',
                                real_logits=real)['gan_loss']
    assert float(gan[0]) == pytest.approx(0.5 * ((_bce(1.5, 0) + _bce(-0.5, 0)) / 2
                                                 + (_bce(-1.5, 1) + _bce(0.5, 1)) / 2))
    assert float(losses.real_accuracy(real, 'relativistic', fake_logits=fake)[0]) == 0.5
    assert float(losses.fake_accuracy(fake, 'relativistic', real_logits=real)[0]) == 0.5
    # Only the difference counts: the same shift of both pairs' logits changes nothing.
    shifted = losses.discriminator_loss(real + 3.0, fake + 3.0, 'relativistic')
    np.testing.assert_allclose(shifted['total_loss'], terms['total_loss'], rtol=1e-6)
    with pytest.raises(ValueError, match='logits of both pairs'):
        losses.generator_loss(fake, photo, photo, 100.0, 'relativistic')


def test_relativistic_generator_pushes_fake_up_and_real_down():
    real = tf.Variable(tf.random.normal([2, 3, 3, 1], seed=3))
    fake = tf.Variable(tf.random.normal([2, 3, 3, 1], seed=4))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(losses.generator_gan_loss(fake, 'relativistic', real_logits=real))
    real_gradient, fake_gradient = tape.gradient(loss, [real, fake])
    assert np.all(fake_gradient.numpy() < 0)  # Descent raises every generated patch's logit...
    assert np.all(real_gradient.numpy() > 0)  # ...and lowers the real ones' (through G's mean).
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(losses.discriminator_loss(real, fake, 'relativistic')['total_loss'])
    real_gradient, fake_gradient = tape.gradient(loss, [real, fake])
    assert np.all(real_gradient.numpy() < 0) and np.all(fake_gradient.numpy() > 0)


def test_relativistic_over_scales_pairs_each_scale_with_its_own():
    fine_real, fine_fake = tf.random.normal([3, 6, 6, 1], seed=5), tf.random.normal([3, 6, 6, 1])
    coarse_real, coarse_fake = tf.random.normal([3, 2, 2, 1]) + 1.0, tf.random.normal([3, 2, 2, 1])
    both = losses.generator_gan_loss([fine_fake, coarse_fake], 'relativistic',
                                     real_logits=[fine_real, coarse_real])
    each = [losses.generator_gan_loss(fake, 'relativistic', real_logits=real)
            for fake, real in ((fine_fake, fine_real), (coarse_fake, coarse_real))]
    np.testing.assert_allclose(both, (each[0] + each[1]) / 2, rtol=1e-6)
