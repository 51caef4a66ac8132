import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.model import networks

from conftest import tiny_config


def test_parameter_counts_at_256():
    # The reference architecture (junyanz/pytorch-CycleGAN-and-pix2pix), 1-channel sketch.
    # The numbers, 54,423,811 and 2,768,385, are the TF tutorial's twin: it adds a
    # BatchNorm (4 x 512 values) on the 1x1 bottleneck, which collapses in eval mode, and drops
    # the bias (64 values) of the discriminator's first conv. See networks.py.
    generator = networks.build_generator(256)
    discriminator = networks.build_discriminator(256)
    assert generator.count_params() == 54_423_811 - 4 * 512
    assert discriminator.count_params() == 2_768_385 + 64
    assert discriminator.output.shape == (None, 30, 30, 1)
    assert generator.output.shape == (None, 256, 256, 3)


@pytest.mark.parametrize('size, depth, dropout_blocks, patches', [
    (64, 6, 1, 6), (128, 7, 2, 14), (256, 8, 3, 30), (512, 9, 4, 62)])
def test_depth_and_dropout_follow_image_size(size, depth, dropout_blocks, patches):
    generator = networks.build_generator(size)
    assert networks.unet_depth(size) == depth
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)
             and not isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(convs) == depth
    assert [conv.filters for conv in convs][:5] == [64, 128, 256, 512, 512][:min(depth, 5)]
    dropouts = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(dropouts) == dropout_blocks
    assert all(layer.rate == 0.5 for layer in dropouts)
    assert networks.build_discriminator(size).output.shape == (None, patches, patches, 1)


def test_no_norm_on_bottleneck_and_outermost_encoder():
    generator = networks.build_generator(64)
    names = {layer.name for layer in generator.layers}
    assert 'encoder_1_norm' not in names and 'encoder_6_norm' not in names
    assert {'encoder_2_norm', 'encoder_5_norm', 'decoder_6_norm'} <= names


def test_pytorch_defaults_are_set_explicitly():
    generator = networks.build_generator(64)
    norm = generator.get_layer('encoder_2_norm')
    assert (norm.momentum, norm.epsilon) == (0.9, 1e-5)
    assert generator.get_layer('encoder_1_act').negative_slope == pytest.approx(0.2)
    kernel = generator.get_layer('encoder_3_conv').kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.002


def test_biases_only_where_no_norm_follows():
    generator = networks.build_generator(64, norm='instance')
    assert not generator.get_layer('encoder_2_norm').weights  # Instance norm: no affine.
    assert not generator.get_layer('encoder_2_conv').use_bias  # The norm would cancel it.
    assert not generator.get_layer('decoder_3_conv').use_bias
    assert generator.get_layer('encoder_1_conv').use_bias  # No norm after these two.
    assert generator.get_layer('encoder_6_conv').use_bias
    batch = networks.build_generator(64, norm='batch')
    assert not batch.get_layer('encoder_1_conv').use_bias  # As the reference with batch norm.
    assert batch.get_layer('decoder_1_conv').use_bias  # The output conv always has one.
    discriminator = networks.build_discriminator(64, norm='instance')
    assert discriminator.get_layer('block_1_conv').use_bias
    assert not discriminator.get_layer('block_2_conv').use_bias


def test_resize_upsampling_leaves_no_checkerboard():
    # A constant map through the paper's 4x4 stride-2 transposed conv: each of the four output
    # phases sums its own 2x2 part of the kernel, so away from the border the output repeats
    # every 2 pixels (the checkerboard). Nearest-neighbour x2 and a 3x3 conv: constant there.
    keras.utils.set_random_seed(0)
    constant = keras.Input((8, 8, 4))
    for resize, varies in ((False, True), (True, False)):
        model = keras.Model(constant, networks._upsample(constant, 3, resize, False, 'up'))
        inside = model(np.ones((1, 8, 8, 4), 'float32')).numpy()[0, 2:-2, 2:-2]
        assert inside.shape == (12, 12, 3)
        assert (inside.std((0, 1)) > 1e-3).all() == varies
        np.testing.assert_allclose(inside[2:, 2:], inside[:-2, :-2], atol=1e-6)  # Period 2.
    transposes = {'transpose': 6, 'resize_output': 5, 'resize': 0}
    for upsample, count in transposes.items():
        generator = networks.build_generator(64, filters=8, upsample=upsample)
        assert generator.output.shape == (None, 64, 64, 3)
        assert sum(type(layer) is keras.layers.Conv2DTranspose
                   for layer in generator.layers) == count
        assert generator.get_layer('decoder_1_conv').use_bias  # The output conv, either way.
    assert generator.get_layer('decoder_3_conv').kernel.shape == (3, 3, 64, 16)
    with pytest.raises(ValueError, match='transpose, resize_output, resize'):
        networks.build_generator(64, upsample='bilinear')


def test_layer_norm_keeps_the_channel_statistics_instance_norm_removes():
    # Two channels at different levels and scales, in two images: instance norm maps every
    # channel of every image to mean 0 and std 1 (an image's colour is gone); layer norm
    # standardises each image as a whole, so channel 1 stays above channel 0.
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 2)) * [1.0, 3.0] + [0.0, 5.0]
    x[1] = 2 * x[1] + 1
    x = x.astype('float32')
    instance = networks._norm('instance', 'instance')(x).numpy()
    np.testing.assert_allclose(instance.mean((1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(instance.std((1, 2)), 1, atol=1e-3)
    layer = networks._norm('layer', 'layer')(x).numpy()
    mean, variance = x.mean((1, 2, 3), keepdims=True), x.var((1, 2, 3), keepdims=True)
    np.testing.assert_allclose(layer, (x - mean) / np.sqrt(variance + 1e-5), atol=1e-4)
    assert (layer[..., 1].mean((1, 2)) - layer[..., 0].mean((1, 2)) > 1).all()
    generator = networks.build_generator(64, norm='layer', filters=8, dropout_rate=0)
    norm = generator.get_layer('decoder_6_norm')
    assert norm.groups == 1 and not norm.weights  # No affine, as instance norm here.
    assert generator(np.zeros((1, 64, 64, 1), 'float32')).shape == (1, 64, 64, 3)
    with pytest.raises(ValueError, match='batch, instance or layer'):
        networks._norm('group', 'group')


def test_outputs_are_float32_in_range_under_mixed_bfloat16():
    keras.mixed_precision.set_global_policy('mixed_bfloat16')
    try:
        generator = networks.build_generator(64, filters=8)
        discriminator = networks.build_discriminator(64, filters=8)
    finally:
        keras.mixed_precision.set_global_policy('float32')
    assert generator.get_layer('encoder_2_conv').compute_dtype == 'bfloat16'
    sketch = tf.random.uniform([2, 64, 64, 1], -1, 1)
    photo = generator(sketch, training=False)
    assert photo.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(photo))) <= 1.0
    assert discriminator([sketch, photo]).dtype == tf.float32


def test_generate_paper_mode_mutates_nothing_and_ignores_batch_mates():
    generator = networks.build_generator(64, filters=8)
    sketch = tf.random.uniform([3, 64, 64, 1], -1, 1)
    before = [variable.numpy().copy() for variable in generator.variables]
    batch = networks.generate(generator, sketch, 'paper').numpy()
    alone = networks.generate(generator, sketch[:1], 'paper').numpy()
    after = [variable.numpy() for variable in generator.variables]
    assert all(np.array_equal(b, a) for b, a in zip(before, after))
    # Each image is normalised with its own statistics: its output does not depend on others.
    np.testing.assert_allclose(batch[:1], alone, atol=1e-5)
    # Deterministic: the same sketch gives the same photo.
    np.testing.assert_allclose(networks.generate(generator, sketch, 'paper'), batch, atol=1e-6)


def test_generate_modes_differ_and_eval_matches_keras_call():
    generator = networks.build_generator(64, filters=8)
    sketch = tf.random.uniform([2, 64, 64, 1], -1, 1)
    evaluated = networks.generate(generator, sketch, 'eval')
    np.testing.assert_allclose(evaluated, generator(sketch, training=False), atol=1e-6)
    assert not np.allclose(networks.generate(generator, sketch, 'paper'), evaluated, atol=1e-3)
    with pytest.raises(ValueError, match='paper or eval'):
        networks.generate(generator, sketch, 'train')


def test_training_nets_use_fused_batch_norm_with_the_variables_of_the_stock_layer():
    config = tiny_config()
    generator, discriminator = networks.build_models(config)
    stock = networks.build_generator(64, 'batch', 8, 0.5)
    fused_layers = [layer for layer in generator.layers
                    if isinstance(layer, networks.FusedBatchNormalization)]
    assert fused_layers and any(isinstance(layer, networks.FusedBatchNormalization)
                                for layer in discriminator.layers)
    assert not any(isinstance(layer, networks.FusedBatchNormalization) for layer in stock.layers)
    assert [weight.path for weight in generator.weights] == [weight.path
                                                             for weight in stock.weights]


def test_spectral_norm_wraps_every_discriminator_conv_and_bounds_it():
    plain = networks.build_discriminator(64, 'instance', 8)
    normed = networks.build_discriminator(64, 'instance', 8, spectral_norm=True)
    wrapped = [layer for layer in normed.layers
               if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == sum(isinstance(layer, keras.layers.Conv2D) for layer in plain.layers)
    assert normed.output_shape == plain.output_shape == (None, 6, 6, 1)
    sketch = tf.random.uniform([2, 64, 64, 1], -1, 1, seed=3)
    photo = tf.random.uniform([2, 64, 64, 3], -1, 1, seed=4)
    for _ in range(20):  # Power iterations run in training calls.
        normed([sketch, photo], training=True)
    for layer in wrapped:  # The largest singular value of each kernel is brought to about 1.
        kernel = layer.layer.kernel.numpy().reshape(-1, layer.layer.kernel.shape[-1])
        assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1, rel=0.1)


def test_multi_scale_discriminator_runs_independent_patchgans_on_pooled_pairs():
    single = networks.build_discriminator(128, 'instance', 8)
    multi = networks.build_discriminator(128, 'instance', 8, scales=3)
    assert networks.discriminator_scales(single) == 1
    assert networks.discriminator_scales(multi) == 3
    assert [tuple(out.shape) for out in multi.outputs] == [
        (None, 14, 14, 1), (None, 6, 6, 1), (None, 2, 2, 1)]
    assert multi.count_params() == 3 * single.count_params()  # Own weights, none shared.
    # The finest PatchGAN keeps the single-scale layer names, so it is that model exactly.
    sketch = tf.random.uniform([2, 128, 128, 1], -1, 1, seed=5)
    photo = tf.random.uniform([2, 128, 128, 3], -1, 1, seed=6)
    for layer in single.layers:
        if layer.weights:
            multi.get_layer(layer.name).set_weights(layer.get_weights())
    fine, middle, _ = multi([sketch, photo])
    np.testing.assert_allclose(fine, single([sketch, photo]), atol=1e-5)
    # The second sees the pair average-pooled 3x3 / 2 ('same': one padded row and column at
    # the end) with the padding left out of the mean.
    second = keras.Model(multi.get_layer('scale_2_block_1_conv').input,
                         multi.get_layer('scale_2_logits').output)
    pad = [[0, 0], [0, 1], [0, 1], [0, 0]]
    pair = tf.concat([sketch, photo], -1)
    total = tf.nn.avg_pool2d(tf.pad(pair, pad), 3, 2, 'VALID')
    count = tf.nn.avg_pool2d(tf.pad(tf.ones_like(pair), pad), 3, 2, 'VALID')
    assert float(tf.reduce_min(count)) == pytest.approx(4 / 9)  # The corner: 2x2 of 3x3.
    np.testing.assert_allclose(middle, second(total / count), atol=1e-5)
    features = networks.discriminator_features(multi)
    assert len(features.outputs) == 3 * 4 + 3
    assert len(features.weights) == len(multi.weights)


def test_multi_scale_discriminator_needs_a_coarsest_input_of_32():
    networks.build_discriminator(64, scales=2)
    with pytest.raises(ValueError, match='scales=3 needs image_size / 2'):
        networks.build_discriminator(64, scales=3)


@pytest.mark.parametrize('layers', [1, 2, 3])
def test_discriminator_layers_set_the_patch_each_logit_sees(layers):
    """--discriminator_layers (the reference's n_layers_D): a change to one input pixel reaches
    the logits whose patch holds it, and the patch is PATCH_SIZES[layers] pixels wide."""
    size = 128
    model = networks.build_discriminator(size, 'batch', 4, layers=layers)
    strided = 2 ** layers
    cells = size // strided - 2  # Two stride-1 4x4 convs with padding 1: one pixel each.
    assert model.output_shape == (None, cells, cells, 1)
    assert len(networks.discriminator_features(model).outputs) == layers + 2  # Blocks + logits.
    sketch = tf.zeros([1, size, size, 1])
    photo = tf.zeros([1, size, size, 3])
    with tf.GradientTape() as tape:
        tape.watch(photo)
        centre = model([sketch, photo], training=False)[0, cells // 2, cells // 2, 0]
    # The input pixels one logit depends on: its receptive field.
    seen = np.argwhere(np.abs(tape.gradient(centre, photo)[0].numpy()).sum(-1) > 0)
    height, width = seen.max(axis=0) - seen.min(axis=0) + 1
    assert height == width == networks.PATCH_SIZES[layers]
    with pytest.raises(ValueError, match='layers must be one of'):
        networks.build_discriminator(64, layers=5)
    with pytest.raises(ValueError, match='needs image_size / 2'):
        networks.build_discriminator(64, layers=4, scales=2)
