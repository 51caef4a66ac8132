"""The inference twin: the same function as the generator, with no transposed convolution."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.model import inference_twin, networks


# Filters under MERGE_BELOW_FILTERS (8) take the one-conv path, the others four convs.
@pytest.mark.parametrize('height,width,channels,filters,use_bias', [
    (8, 8, 5, 3, False), (5, 7, 2, 7, True), (1, 1, 6, 2, True), (6, 6, 4, 8, True),
    (5, 7, 3, 16, False), (1, 1, 8, 12, True)])
def test_phase_conv_equals_the_transposed_conv(height, width, channels, filters, use_bias):
    keras.utils.set_random_seed(3)
    layer = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding='same',
                                         use_bias=use_bias, bias_initializer='random_normal')
    inputs = tf.random.normal([2, height, width, channels])
    expected = layer(inputs).numpy()
    phases = inference_twin.from_transposed(layer)
    phases.build(inputs.shape)
    phases.set_from(layer)
    got = phases(inputs).numpy()
    assert got.shape == expected.shape == (2, 2 * height, 2 * width, filters)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Each output phase depends on its own kernel slice: a zeroed slice zeroes its pixels only.
    phases.phase_kernels[1].assign(tf.zeros_like(phases.phase_kernels[1]))
    bias = layer.bias.numpy() if use_bias else 0.0
    zeroed = phases(inputs).numpy()
    hidden = zeroed[:, 0::2, 1::2]  # Even rows, odd columns: phase (0, 1).
    np.testing.assert_allclose(hidden, np.broadcast_to(bias, hidden.shape), atol=1e-6)
    np.testing.assert_allclose(zeroed[:, 1::2], expected[:, 1::2], atol=1e-5)


@pytest.mark.parametrize('norm,dropout_rate,upsample', [
    ('batch', 0.5, 'transpose'), ('instance', 0.0, 'transpose'), ('layer', 0.0, 'resize_output')])
def test_twin_generator_gives_the_same_photos(norm, dropout_rate, upsample):
    keras.utils.set_random_seed(0)
    generator = networks.build_generator(64, norm=norm, filters=8, dropout_rate=dropout_rate,
                                         upsample=upsample)
    # Moving statistics away from their initial values, so copying them is checked too.
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(tf.random.normal(layer.moving_mean.shape, stddev=0.1))
            layer.moving_variance.assign(tf.random.uniform(layer.moving_variance.shape, 0.5, 2))
    twin = inference_twin.twin(generator)
    assert twin is not generator
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in twin.layers)
    assert sum(isinstance(layer, inference_twin.PhaseConv2DTranspose)
               for layer in twin.layers) == networks.unet_depth(64) - (upsample != 'transpose')
    assert twin.count_params() == generator.count_params()
    sketch = tf.random.uniform([3, 64, 64, 1], -1, 1)
    for mode in ('eval', 'paper'):
        expected = networks.generate(generator, sketch, mode).numpy()
        got = networks.generate(twin, sketch, mode).numpy()
        np.testing.assert_allclose(got, expected, atol=2e-5, err_msg=mode)
    # Paper mode keeps dropout on: a twin whose dropout seeds were not copied would differ.
    if dropout_rate:
        eval_photos = networks.generate(generator, sketch, 'eval').numpy()
        assert np.abs(eval_photos - expected).max() > 1e-3


def test_twin_keeps_other_layers_and_the_dtype_policy():
    stride_one = keras.layers.Conv2DTranspose(2, 3, strides=1, padding='same', name='plain')
    assert not inference_twin.has_phases(stride_one)
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, stride_one(inputs))
    assert inference_twin.twin(model) is model  # Nothing to replace: no copy.
    keras.config.set_dtype_policy('mixed_bfloat16')
    try:
        generator = networks.build_generator(16, filters=4)
    finally:
        keras.config.set_dtype_policy('float32')
    twin = inference_twin.twin(generator)
    phases = twin.get_layer('decoder_2_conv')
    assert isinstance(phases, inference_twin.PhaseConv2DTranspose)
    assert phases.dtype_policy.name == 'mixed_bfloat16'
    assert twin(tf.zeros([1, 16, 16, 1])).dtype == tf.float32
