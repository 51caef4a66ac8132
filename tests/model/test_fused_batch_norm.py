import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.model import fused_batch_norm
from pix2pix_tf.model import precision


@pytest.mark.parametrize('policy', ['float32', 'mixed_bfloat16'])
def test_fused_batch_norm_matches_keras_batch_norm(policy):
    """Outputs, gradients and moving statistics of FusedBatchNormalization are Keras's."""
    with precision.policy(policy):
        options = dict(momentum=0.9, epsilon=1e-5,
                       gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02, seed=1))
        stock = keras.layers.BatchNormalization(**options)
        fused = fused_batch_norm.FusedBatchNormalization(**options)
        inputs = tf.cast(tf.random.stateless_normal([4, 6, 6, 8], seed=[1, 2]) * 3 + 1,
                         stock.compute_dtype)
        stock.build(inputs.shape)
        fused.build(inputs.shape)
        fused.set_weights(stock.get_weights())
        # A loss with a well-conditioned input gradient (the sum of squares of a normalized
        # tensor hardly depends on the input: its gradient would be rounding noise).
        weights = tf.random.stateless_normal([4, 6, 6, 8], seed=[3, 4])
        results = []
        for layer in (stock, fused):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                outputs = layer(inputs, training=True)
                loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * weights)
            gradients = tape.gradient(loss, [inputs, *layer.trainable_weights])
            results.append((outputs, gradients, layer.get_weights()[2:],
                            layer(inputs, training=False)))
    (outputs, gradients, moving, eval_outputs), fused_results = results
    assert fused_results[0].dtype == outputs.dtype == stock.compute_dtype
    tolerance = 1e-5 if policy == 'float32' else 2e-2
    for expected, got in zip([outputs, *gradients, *moving, eval_outputs],
                             [fused_results[0], *fused_results[1], *fused_results[2],
                              fused_results[3]]):
        expected, got = np.asarray(tf.cast(expected, tf.float32)), np.asarray(
            tf.cast(got, tf.float32))
        np.testing.assert_allclose(got, expected, rtol=tolerance,
                                   atol=tolerance * np.abs(expected).max())
    assert not np.allclose(moving[1], 1.0)  # The statistics moved.
