"""The training step's update orders and the generator's moving average (train_step.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.model import losses
from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import loop
from pix2pix_tf.training import train_step


def _batch(seed=0):
    generator = tf.random.Generator.from_seed(seed)
    return {'sketch': generator.uniform([2, 64, 64, 1], -1, 1),
            'photo': generator.uniform([2, 64, 64, 3], -1, 1)}


def _state(config):
    keras.utils.set_random_seed(1)
    return train_step.create_state(config, 'float32')


def _gan_loss(discriminator, sketch, generated):
    logits = discriminator([sketch, generated], training=True)
    return float(tf.reduce_mean(losses.generator_gan_loss(logits)))


@pytest.mark.parametrize('order', ['simultaneous', 'alternating'])
def test_update_order_decides_which_d_the_generator_loss_sees(make_config, order):
    # No dropout: the generator's forward pass is then a function of its weights and the batch.
    config = make_config(update_order=order, dropout_rate=0.0)
    state, batch = _state(config), _batch()
    generated = state.generator(batch['sketch'], training=True)
    loss_before = _gan_loss(state.discriminator, batch['sketch'], generated)
    step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
    metrics, _ = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
    loss_after = _gan_loss(state.discriminator, batch['sketch'], generated)
    assert abs(loss_after - loss_before) > 1e-3  # D's one step changed what it says.
    # simultaneous: G's loss came from D before its update; alternating (the reference's
    # order): from D after it.
    expected = loss_after if order == 'alternating' else loss_before
    assert float(metrics['generator/gan_loss']) == pytest.approx(expected, rel=1e-4)


def test_both_orders_make_the_same_discriminator_update(make_config):
    weights = {}
    for order in ('simultaneous', 'alternating'):
        config = make_config(update_order=order, dropout_rate=0.0)
        state = _state(config)
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        step(iter(tf.data.Dataset.from_tensors(_batch()).repeat()), tf.constant(0))
        weights[order] = ([v.numpy() for v in state.discriminator.trainable_variables],
                          [v.numpy() for v in state.generator.trainable_variables])
    # (Their moving statistics differ: alternating runs D three times, simultaneous twice.)
    for simultaneous, alternating in zip(weights['simultaneous'][0], weights['alternating'][0]):
        np.testing.assert_allclose(simultaneous, alternating, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b, rtol=1e-5, atol=1e-6)
               for a, b in zip(weights['simultaneous'][1], weights['alternating'][1]))


def test_ema_follows_the_generator_with_the_warmed_up_decay(make_config):
    config = make_config(ema_decay=0.9)
    state = _state(config)
    step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
    iterator = iter(tf.data.Dataset.from_tensors(_batch()).repeat())
    expected = [w.copy() for w in state.generator.get_weights()]
    np.testing.assert_array_equal(expected[0], state.ema_generator.get_weights()[0])
    for update in range(1, 4):
        step(iterator, tf.constant(0))
        decay = min(0.9, (1 + update) / (10 + update))
        expected = [decay * e + (1 - decay) * w
                    for e, w in zip(expected, state.generator.get_weights())]
    averaged = state.ema_generator.get_weights()
    assert len(averaged) == len(expected)  # Moving statistics included.
    for got, want in zip(averaged, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, w) for a, w in zip(averaged, state.generator.get_weights()))


def test_ema_is_checkpointed_restored_and_added_to_a_run_without_it(make_config, tmp_path):
    workdir = str(tmp_path)
    loop.train_and_evaluate(make_config(train_steps=2, checkpoint_every=2), workdir)
    first = checkpoints.checkpoint_path(workdir)
    assert not checkpoints.has_ema(first)
    with pytest.raises(config_lib.ConfigError, match='holds no generator moving average'):
        checkpoints.restore_generator(workdir, use_ema=True)
    # Resumed with --ema_decay: the average starts at the restored generator.
    loop.train_and_evaluate(make_config(train_steps=3, checkpoint_every=2, ema_decay=0.5),
                                 workdir)
    assert checkpoints.has_ema(checkpoints.checkpoint_path(workdir))
    _, average, _ = checkpoints.restore_generator(workdir)  # The default: the average.
    _, trained, _ = checkpoints.restore_generator(workdir, use_ema=False)
    _, before, _ = checkpoints.restore_generator(workdir, step=2, use_ema=False)
    # One update with decay min(0.5, 4/13): the average is the two generators' blend.
    decay = 4 / 13
    for a, t, b in zip(average.get_weights(), trained.get_weights(), before.get_weights()):
        np.testing.assert_allclose(a, decay * b + (1 - decay) * t, rtol=1e-4, atol=1e-5)


def _two_steps(state, config):
    """Two training steps on one repeated batch; their last metrics, every one finite."""
    step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
    data = iter(tf.data.Dataset.from_tensors(_batch()).repeat())
    for _ in range(2):
        metrics, _ = step(data, tf.constant(0))
    assert all(np.isfinite(float(value)) for value in metrics.values())
    return metrics


@pytest.mark.parametrize('order', ['simultaneous', 'alternating'])
def test_realism_levers_train_reproducibly(make_config, order):
    """--diff_augment, --gan_loss=hinge and --spectral_norm together: finite losses, the same
    weights from the same seed (stateless augmentation), other weights without augmentation."""
    def run(**overrides):
        config = make_config(update_order=order, dropout_rate=0.0, gan_loss='hinge',
                             spectral_norm=True, **overrides)
        state = _state(config)
        _two_steps(state, config)
        return [v.numpy() for v in state.discriminator.trainable_variables]

    augmented = run(diff_augment='color,translation,cutout')
    for first, again in zip(augmented, run(diff_augment='color,translation,cutout')):
        np.testing.assert_array_equal(first, again)
    plain = run(diff_augment='')
    assert any(not np.allclose(a, b) for a, b in zip(augmented, plain))


def _check_weighted_term(metrics, config, name, weight, by_hand):
    """The G loss term `name` is `by_hand` and enters the total with `weight` (absent at 0)."""
    if not weight:
        assert f'generator/{name}' not in metrics
        return
    assert float(metrics[f'generator/{name}']) == pytest.approx(by_hand, rel=1e-4)
    assert float(metrics['generator/total_loss']) == pytest.approx(
        float(metrics['generator/gan_loss'])
        + config.l1_weight * float(metrics['generator/l1_loss']) + weight * by_hand, rel=1e-4)


def _weights(state):
    return ([v.numpy() for v in state.discriminator.trainable_variables],
            [v.numpy() for v in state.generator.trainable_variables])


def _check_generator_only(without, with_term):
    """One step's (D, G) weights without and with a G-only term: D's update is unchanged, G's
    is not."""
    for plain, weighted in zip(without[0], with_term[0]):
        np.testing.assert_allclose(plain, weighted, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b, rtol=1e-5, atol=1e-6)
               for a, b in zip(without[1], with_term[1]))


def test_feature_matching_trains_the_generator_only_with_d_features_before_its_update(
        make_config):
    from pix2pix_tf.model import networks
    runs = {}
    for weight in (0.0, 10.0):
        config = make_config(dropout_rate=0.0, feature_matching_weight=weight)
        state, batch = _state(config), _batch()
        features = networks.discriminator_features(state.discriminator)
        assert len(features.weights) == len(state.discriminator.weights)  # Shared, none new.
        generated = state.generator(batch['sketch'], training=True)
        *real, _ = features([batch['sketch'], batch['photo']], training=True)
        *fake, _ = features([batch['sketch'], generated], training=True)
        by_hand = np.mean([np.mean(np.abs(r.numpy() - f.numpy())) for r, f in zip(real, fake)])
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        metrics, _ = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
        _check_weighted_term(metrics, config, 'feature_matching_loss', weight, by_hand)
        runs[weight] = _weights(state)
    _check_generator_only(runs[0.0], runs[10.0])


def test_gradient_loss_weight_is_in_the_generator_loss_and_trains_the_generator_only(
        make_config):
    runs = {}
    for weight in (0.0, 20.0):
        config = make_config(dropout_rate=0.0, gradient_loss_weight=weight)
        state, batch = _state(config), _batch()
        generated = state.generator(batch['sketch'], training=True)
        by_hand = float(tf.reduce_mean(losses.gradient_loss(batch['photo'], generated)))
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        metrics, _ = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
        _check_weighted_term(metrics, config, 'gradient_loss', weight, by_hand)
        runs[weight] = _weights(state)
    _check_generator_only(runs[0.0], runs[20.0])


def test_l1_pool_is_the_l1_term_of_the_step_and_trains_the_generator_only(make_config):
    runs = {}
    for pool in (1, 4):
        config = make_config(dropout_rate=0.0, l1_pool=pool)
        state, batch = _state(config), _batch()
        generated = state.generator(batch['sketch'], training=True)
        by_hand = [float(tf.reduce_mean(losses.l1_loss(batch['photo'], generated, size)))
                   for size in (1, 4)]
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        metrics, _ = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
        # The pooled term (never above the per-pixel one) is the one reported and weighted.
        assert by_hand[1] < by_hand[0]
        assert float(metrics['generator/l1_loss']) == pytest.approx(by_hand[pool > 1], rel=1e-4)
        assert float(metrics['generator/total_loss']) == pytest.approx(
            float(metrics['generator/gan_loss']) + config.l1_weight * by_hand[pool > 1],
            rel=1e-4)
        runs[pool] = _weights(state)
    _check_generator_only(runs[1], runs[4])


def test_discriminator_lr_scale_scales_d_updates_only(make_config):
    # One simultaneous step from the same weights and batch: G's update is the same, and D's
    # first Adam step (lr x m / sqrt(v), m / sqrt(v) = +-1 at step 0) is 3x as large.
    before, after = None, {}
    for scale in (1.0, 3.0):
        config = make_config(dropout_rate=0.0, discriminator_lr_scale=scale)
        state = _state(config)
        before = _weights(state)
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        step(iter(tf.data.Dataset.from_tensors(_batch()).repeat()), tf.constant(0))
        after[scale] = _weights(state)
    for plain, scaled in zip(after[1.0][1], after[3.0][1]):
        np.testing.assert_allclose(plain, scaled, rtol=1e-6, atol=1e-7)
    for start, plain, scaled in zip(before[0], after[1.0][0], after[3.0][0]):
        np.testing.assert_allclose(scaled - start, 3 * (plain - start), rtol=1e-3, atol=1e-6)
    assert any(np.abs(plain - start).max() > 1e-5 for start, plain in zip(before[0],
                                                                           after[1.0][0]))


def test_relativistic_loss_reads_both_pairs_in_the_step(make_config):
    """--gan_loss=relativistic: the step's G and D terms are RaGAN's on D's logits of the real
    and the generated pair before the update; both update orders (alternating through the
    updated D, with feature matching and two scales) train to finite values."""
    config = make_config(dropout_rate=0.0, gan_loss='relativistic')
    state, batch = _state(config), _batch()
    generated = state.generator(batch['sketch'], training=True)
    real = state.discriminator([batch['sketch'], batch['photo']], training=True)
    fake = state.discriminator([batch['sketch'], generated], training=True)
    by_hand = losses.generator_gan_loss(fake, 'relativistic', real_logits=real)
    d_by_hand = losses.discriminator_loss(real, fake, 'relativistic')
    step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
    metrics, _ = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
    assert float(metrics['generator/gan_loss']) == pytest.approx(
        float(tf.reduce_mean(by_hand)), rel=1e-4)
    assert float(metrics['discriminator/real_loss']) == pytest.approx(
        float(tf.reduce_mean(d_by_hand['real_loss'])), rel=1e-4)
    assert float(metrics['discriminator/fake_loss']) == pytest.approx(
        float(tf.reduce_mean(d_by_hand['fake_loss'])), rel=1e-4)
    config = make_config(dropout_rate=0.0, gan_loss='relativistic', update_order='alternating',
                         feature_matching_weight=10.0, discriminator_scales=2)
    state = _state(config)
    before = _weights(state)
    _two_steps(state, config)
    for old, new in zip(before, _weights(state)):  # D and G both learn.
        assert any(not np.allclose(a, b) for a, b in zip(old, new))


def test_feature_matching_with_alternating_order_and_augmentation_is_finite(make_config):
    config = make_config(dropout_rate=0.0, feature_matching_weight=10.0,
                         update_order='alternating', diff_augment='translation,cutout')
    metrics = _two_steps(_state(config), config)
    assert float(metrics['generator/feature_matching_loss']) > 0


@pytest.mark.parametrize('order', ['simultaneous', 'alternating'])
def test_multi_scale_discriminator_trains_every_scale(make_config, order):
    """--discriminator_scales=2 with feature matching: G's adversarial term is the mean over
    the scales, and both PatchGANs learn."""
    config = make_config(update_order=order, dropout_rate=0.0, discriminator_scales=2,
                         feature_matching_weight=10.0)
    state, batch = _state(config), _batch()
    before = {v.path: v.numpy() for v in state.discriminator.trainable_variables}
    assert any(path.startswith('scale_2_') for path in before)
    generated = state.generator(batch['sketch'], training=True)
    logits = state.discriminator([batch['sketch'], generated], training=True)
    assert len(logits) == 2
    by_hand = np.mean([np.mean(losses.generator_gan_loss(scale)) for scale in logits])
    step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
    metrics, _ = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
    assert all(np.isfinite(float(value)) for value in metrics.values())
    assert float(metrics['generator/feature_matching_loss']) > 0
    if order == 'simultaneous':  # G's loss came from D before its update.
        assert float(metrics['generator/gan_loss']) == pytest.approx(by_hand, rel=1e-4)
    for scale in ('block_1_conv', 'scale_2_block_1_conv'):
        moved = [not np.allclose(v.numpy(), before[v.path])
                 for v in state.discriminator.trainable_variables if v.path.startswith(scale)]
        assert moved and all(moved)
