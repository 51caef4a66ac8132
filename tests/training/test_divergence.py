"""When training must stop: the loss rule, and a diverging run that keeps its good checkpoint."""

import os

import numpy as np
import pytest

from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import divergence
from pix2pix_tf.training import loop


def test_rule_for_exploding_losses():
    assert divergence.exploded_loss_limit(100.0) == 1e4
    assert divergence.exploded_loss_limit(5000.0) == 10 * (2 * 5000 + 30)  # Healthy at that weight.
    metrics = dict.fromkeys(divergence.WATCHED_LOSSES, 1.0)
    assert divergence.check_losses(metrics, 5, 0, False, 'ckpt-4') == 0
    metrics['discriminator/real_loss'] = 2e4  # Finite, but a run does not recover from it.
    with pytest.raises(divergence.NonFiniteLossError, match=r'step 5: discriminator/real_loss = '
                                                           r'20000.0 \(over 10000: diverging\)'):
        divergence.check_losses(metrics, 5, 0, True, 'ckpt-4')


def test_float16_loss_scaling_gets_a_few_chances_before_stopping():
    metrics = dict.fromkeys(divergence.WATCHED_LOSSES, 1.0)
    metrics['generator/total_loss'] = float('inf')
    with pytest.raises(divergence.NonFiniteLossError, match='step 7: generator/total_loss = '
                                                           'inf; the last good'):
        divergence.check_losses(metrics, 7, 0, False, 'ckpt-6')  # No scaler: at once.
    skipped = 0
    for step in range(1, divergence.MAX_SKIPPED_STEPS):  # The scaler skipped these updates.
        skipped = divergence.check_losses(metrics, step, skipped, True, 'ckpt-0')
        assert skipped == step
    with pytest.raises(divergence.NonFiniteLossError, match='no checkpoint was written'):
        divergence.check_losses(metrics, 10, skipped, True, None)
    assert divergence.check_losses(dict.fromkeys(divergence.WATCHED_LOSSES, 1.0), 11, skipped,
                                   True, None) == 0  # A finite step resets the count.


def test_divergence_stops_and_keeps_the_good_checkpoint(make_config, tmp_path):
    workdir = str(tmp_path)
    loop.train_and_evaluate(make_config(train_steps=2, checkpoint_every=2), workdir)
    # A checkpoint every step: the worst case for rotating good checkpoints out (3 kept).
    with pytest.raises(divergence.NonFiniteLossError,
                       match=r'training stopped at step (\d+): .*(diverging|not finite).*the '
                             r'last good checkpoint .*ckpt-\d+ is untouched') as stopped:
        loop.train_and_evaluate(make_config(train_steps=40, checkpoint_every=1,
                                                 learning_rate=1e6), workdir)
    stopped_at = int(str(stopped.value).split('step ')[1].split(':')[0])
    assert stopped_at <= 5  # Stopped within a few steps, far before any NaN.
    assert 2 in checkpoints.available_steps(workdir)  # The pre-divergence checkpoint stays.
    for step in checkpoints.available_steps(workdir):
        _, generator, _ = checkpoints.restore_generator(workdir, step)
        assert all(np.isfinite(variable.numpy()).all() for variable in generator.variables)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(make_config, tmp_path):
    workdir = str(tmp_path)
    loop.train_and_evaluate(make_config(train_steps=2, checkpoint_every=2), workdir)
    directory = os.path.join(workdir, 'checkpoints')
    before = {name: open(os.path.join(directory, name), 'rb').read()
              for name in os.listdir(directory)}
    # An l1_weight beyond float32's range makes the generator loss infinite at the next step.
    with pytest.raises(divergence.NonFiniteLossError,
                       match=r'stopped at step 3: generator/total_loss = inf.*ckpt-2 is untouched'):
        loop.train_and_evaluate(make_config(train_steps=6, l1_weight=1e39), workdir)
    after = {name: open(os.path.join(directory, name), 'rb').read()
             for name in os.listdir(directory)}
    assert after == before
    assert checkpoints.checkpoint_path(workdir).endswith('ckpt-2')
