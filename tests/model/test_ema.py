"""The generator's moving average: the update rule, its warm-up, and what is averaged (the
average inside real training and checkpoints: tests/training/test_train_step.py)."""

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.model import ema
from pix2pix_tf.model import networks


def test_update_is_the_exponential_moving_average_rule():
    average = tf.Variable([1.0, 2.0, 4.0])
    weight = tf.Variable([3.0, 2.0, 0.0])
    ema.update_average(average, weight, tf.constant(0.75))
    np.testing.assert_allclose(average.numpy(), 0.75 * np.array([1, 2, 4]) + 0.25 * np.array(
        [3, 2, 0]), rtol=1e-6)
    np.testing.assert_array_equal(weight.numpy(), [3.0, 2.0, 0.0])  # The weight is untouched.


def test_decay_warms_up_then_holds():
    assert float(ema.decay_at(0, 0.999)) == pytest.approx(0.1)
    assert float(ema.decay_at(10, 0.999)) == pytest.approx(11 / 20)
    assert float(ema.decay_at(100_000, 0.999)) == pytest.approx(0.999)


def test_every_weight_is_averaged_batch_norm_statistics_included():
    generator = networks.build_generator(64, 'batch', 8, 0.5)
    average = networks.build_generator(64, 'batch', 8, 0.5)
    ema.copy_weights(generator, average)
    pairs = ema.averaged_weights(generator, average)
    assert len(pairs) == len(generator.weights) > len(generator.trainable_weights)
    assert any('moving_variance' in weight.path for _, weight in pairs)
    for average_weight, weight in pairs:
        np.testing.assert_array_equal(average_weight.numpy(), weight.numpy())
    with pytest.raises(ValueError, match='does not match'):
        ema.averaged_weights(generator, networks.build_generator(64, 'batch', 16, 0.5))
