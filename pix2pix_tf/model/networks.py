"""U-Net generator and 70x70 PatchGAN discriminator (Isola et al., CVPR 2017), Keras 3 functional.

The architecture follows the functional reference, junyanz/pytorch-CycleGAN-and-pix2pix
(`UnetGenerator`, `NLayerDiscriminator` with n_layers=3), including three choices where the
TensorFlow pix2pix tutorial differs:

- no norm layer on the innermost (1x1 bottleneck) encoder conv: batch statistics of a 1x1 map
  are meaningless, and a twin with BatchNorm there collapsed in eval mode;
- dropout in the decoder blocks that output 8 * filters channels, except the bottleneck's
  (three blocks at 256x256, at 16x16, 8x8 and 4x4; one fewer per halving of the image size);
- a bias on the discriminator's first conv (it has no norm after it).

Parameter counts at 256x256 with a 1-channel sketch and batch norm (Keras counts the moving mean
and variance too): generator 54,421,763, discriminator 2,768,449. The TF tutorial's twin has
54,423,811 (+2,048: a BatchNorm on the bottleneck) and 2,768,385 (-64: no first-conv bias).

PyTorch defaults the reference relies on are set explicitly: BatchNorm momentum 0.9 / epsilon
1e-5 (Keras: 0.99 / 1e-3), LeakyReLU slope 0.2 (Keras 3: 0.3), weights N(0, 0.02) and BatchNorm
gamma N(1, 0.02). A conv followed by a norm layer has no bias: the norm subtracts the mean, so
such a bias has no effect, and its gradient is zero up to rounding, which Adam would amplify
into noise. (The reference keeps those biases with instance norm; they change no output.)
Under instance or layer norm (no affine parameters, as PyTorch's InstanceNorm2d default) the
convs with no norm after them (outermost and bottleneck encoder convs) do get a bias; under
batch norm, as in the reference, they do not.

Under a mixed precision policy the layers compute in float16/bfloat16, but the generator's tanh
output and the discriminator's logits are float32.

Training builds both nets with `fused_batch_norm=True` (`FusedBatchNormalization`: the same
layer and variables, computed by TensorFlow's fused kernel); everything that exports or
serves a generator builds the stock Keras layer, so a `.keras` file needs no custom objects.
"""

import math

import keras
import tensorflow as tf

from pix2pix_tf.config import UPSAMPLES
from pix2pix_tf.model.fused_batch_norm import FusedBatchNormalization

LEAKY_SLOPE = 0.2
BATCH_NORM_MOMENTUM = 0.9
NORM_EPSILON = 1e-5


def _conv_init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def _norm(norm: str, name: str, synchronized: bool = False,
          fused: bool = False) -> keras.layers.Layer:
    if norm == 'batch':
        # synchronized: statistics over the global batch under a tf.distribute strategy.
        layer = FusedBatchNormalization if fused else keras.layers.BatchNormalization
        return layer(
            momentum=BATCH_NORM_MOMENTUM, epsilon=NORM_EPSILON,
            gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02),
            synchronized=synchronized, name=name)
    if norm in ('instance', 'layer'):
        # Instance norm = group norm with one group per channel (TF Addons is end-of-life); layer
        # norm = one group, so each channel's own mean and scale (AdaIN: its style) survive.
        return keras.layers.GroupNormalization(groups=-1 if norm == 'instance' else 1,
                                               epsilon=NORM_EPSILON, center=False, scale=False,
                                               name=name)
    raise ValueError(f'norm must be batch, instance or layer, not {norm!r}')


def _conv(filters: int, strides: int, use_bias: bool, name: str) -> keras.layers.Layer:
    # 4x4 convs with stride 2 and 'same' padding pad 1 pixel on each side of an even-sized
    # input, exactly as the reference's padding=1.
    return keras.layers.Conv2D(filters, 4, strides=strides, padding='same', use_bias=use_bias,
                               kernel_initializer=_conv_init(), name=name)


def _upsample(x, filters: int, resize: bool, use_bias: bool, name: str):
    """x2 in each spatial dimension: a 4x4 stride-2 transposed conv, or when `resize`
    nearest-neighbour x2 and a 3x3 conv (the conv keeps the name `<name>_conv` either way)."""
    if resize:
        x = keras.layers.UpSampling2D(2, name=f'{name}_resize')(x)
        return keras.layers.Conv2D(filters, 3, padding='same', use_bias=use_bias,
                                   kernel_initializer=_conv_init(), name=f'{name}_conv')(x)
    return keras.layers.Conv2DTranspose(filters, 4, strides=2, padding='same', use_bias=use_bias,
                                        kernel_initializer=_conv_init(), name=f'{name}_conv')(x)


def unet_depth(image_size: int) -> int:
    """Number of down (and up) blocks: 8 at 256x256, one fewer per halving (bottleneck is 1x1)."""
    depth = int(math.log2(image_size))
    if 2 ** depth != image_size or depth < 2:
        raise ValueError(f'image_size must be a power of two >= 4, not {image_size}')
    return depth


def encoder_filters(depth: int, filters: int) -> list[int]:
    """Filters of each encoder block: 64-128-256-512-512-... for filters=64."""
    return [filters * min(2 ** block, 8) for block in range(depth)]


def build_generator(image_size: int = 256, norm: str = 'batch', filters: int = 64,
                    dropout_rate: float = 0.5, sync_batch_norm: bool = False,
                    fused_batch_norm: bool = False, upsample: str = 'transpose') -> keras.Model:
    """U-Net generator: sketch float32 [N, S, S, 1] in [-1, 1] -> photo float32 [N, S, S, 3].

    Skip connections concatenate each encoder block's activated output with the matching
    decoder block's output, as in the reference (whose in-place LeakyReLU makes the skip carry
    the activated tensor). `upsample`: 'transpose' (the paper's 4x4 stride-2 transposed convs),
    'resize_output' (the output block as nearest-neighbour x2 and a 3x3 conv) or 'resize' (every
    decoder block so): resize and conv leaves no checkerboard (Odena et al., Distill 2016).
    """
    if upsample not in UPSAMPLES:
        raise ValueError(f'upsample must be one of {", ".join(UPSAMPLES)}, not {upsample!r}')
    depth = unet_depth(image_size)
    widths = encoder_filters(depth, filters)
    unnormed_bias = norm != 'batch'  # Bias on convs with no norm after them (see above).
    sketch = keras.Input((image_size, image_size, 1), name='sketch')

    skips = []  # Activated encoder outputs, outermost first.
    x = _conv(widths[0], 2, unnormed_bias, 'encoder_1_conv')(sketch)  # Outermost: no norm.
    for block in range(1, depth):
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f'encoder_{block}_act')(x)
        skips.append(x)
        innermost = block == depth - 1
        x = _conv(widths[block], 2, unnormed_bias and innermost, f'encoder_{block + 1}_conv')(x)
        if not innermost:  # Reference: no norm on the 1x1 bottleneck.
            x = _norm(norm, f'encoder_{block + 1}_norm', sync_batch_norm, fused_batch_norm)(x)

    # Decoder: block k (depth .. 2) upsamples to the size of encoder block k-1 and joins its skip.
    for block in range(depth, 1, -1):
        out_filters = widths[block - 2]
        x = keras.layers.ReLU(name=f'decoder_{block}_act')(x)
        x = _upsample(x, out_filters, upsample == 'resize', False, f'decoder_{block}')
        x = _norm(norm, f'decoder_{block}_norm', sync_batch_norm, fused_batch_norm)(x)
        if dropout_rate and out_filters == 8 * filters and block != depth:
            x = keras.layers.Dropout(dropout_rate, name=f'decoder_{block}_dropout')(x)
        x = keras.layers.Concatenate(name=f'decoder_{block}_skip')([skips[block - 2], x])

    x = keras.layers.ReLU(name='decoder_1_act')(x)
    x = _upsample(x, 3, upsample != 'transpose', True, 'decoder_1')
    generated_photo = keras.layers.Activation('tanh', dtype='float32', name='photo')(x)
    return keras.Model(sketch, generated_photo, name='generator')


PATCH_SIZES = {1: 16, 2: 34, 3: 70, 4: 142}  # Strided layers -> the patch each logit sees.


def min_discriminator_input(layers: int = 3) -> int:
    """The smallest input a PatchGAN with `layers` strided convs takes: 2^(layers + 2) pixels
    (2x2 logits)."""
    return 4 << layers


def build_discriminator(image_size: int = 256, norm: str = 'batch', filters: int = 64,
                        sync_batch_norm: bool = False, fused_batch_norm: bool = False,
                        spectral_norm: bool = False, scales: int = 1,
                        layers: int = 3) -> keras.Model:
    """70x70 PatchGAN: (sketch [N,S,S,1], photo [N,S,S,3]) in [-1, 1] -> logits [N,P,P,1].

    P is 30 at S=256 (each logit sees a 70x70 patch). Logits are float32, with no sigmoid: the
    losses use BCE-with-logits. `layers` is the reference's n_layers_D: that many stride-2 4x4
    convs (filters x 1, 2, 4, 8 at most), then one stride-1 4x4 conv and the logits conv; 3 is
    the paper's 70x70 PatchGAN, 2 sees 34x34 patches, 1 16x16, 4 142x142 (PATCH_SIZES).
    `spectral_norm` wraps every convolution in Keras's SpectralNormalization (one power
    iteration per training call; Keras 3 writes the normalised kernel back into the layer's
    kernel each time).

    `scales` > 1 is pix2pixHD's multi-scale discriminator (Wang et al. 2018): that many
    PatchGANs of the same architecture and their own weights, the k-th on the pair average-pooled
    k-1 times (3x3, stride 2, the padding not counted in the mean, as pix2pixHD's AvgPool2d;
    'same' padding puts it at the end, a pixel off PyTorch's padding=1), so each logit of the
    coarser ones sees a patch 2, 4, ... times as wide. The model then returns the list of
    their logits, finest first ([N,30,30,1], [N,14,14,1] at S=256). The first PatchGAN's layers
    keep the single-scale names; the k-th's are prefixed `scale_k_`.
    """
    if layers not in PATCH_SIZES:
        raise ValueError(f'layers must be one of {sorted(PATCH_SIZES)}, not {layers}')
    if scales < 1 or image_size >> (scales - 1) < min_discriminator_input(layers):
        raise ValueError(f'scales={scales} needs image_size / 2^(scales - 1) >= '
                         f'{min_discriminator_input(layers)}, not image_size={image_size}')
    blocks = [(min(2 ** n, 8), 2) for n in range(1, layers)] + [(min(2 ** layers, 8), 1)]

    def conv(layer):
        return (keras.layers.SpectralNormalization(layer, name=f'{layer.name}_sn')
                if spectral_norm else layer)

    def patchgan(x, prefix):
        x = conv(_conv(filters, 2, True, f'{prefix}block_1_conv'))(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f'{prefix}block_1_act')(x)
        for block, (multiplier, strides) in enumerate(blocks, start=2):
            if strides == 1:
                # Reference: 4x4 stride-1 convs with padding 1 shrink the map by one pixel.
                x = keras.layers.ZeroPadding2D(1, name=f'{prefix}block_{block}_pad')(x)
            x = conv(keras.layers.Conv2D(
                filters * multiplier, 4, strides=strides,
                padding='same' if strides == 2 else 'valid', use_bias=False,
                kernel_initializer=_conv_init(), name=f'{prefix}block_{block}_conv'))(x)
            x = _norm(norm, f'{prefix}block_{block}_norm', sync_batch_norm, fused_batch_norm)(x)
            x = keras.layers.LeakyReLU(LEAKY_SLOPE, name=f'{prefix}block_{block}_act')(x)
        x = keras.layers.ZeroPadding2D(1, name=f'{prefix}logits_pad')(x)
        x = conv(keras.layers.Conv2D(1, 4, kernel_initializer=_conv_init(),
                                     name=f'{prefix}logits_conv'))(x)
        return keras.layers.Activation('linear', dtype='float32', name=f'{prefix}logits')(x)

    sketch = keras.Input((image_size, image_size, 1), name='sketch')
    photo = keras.Input((image_size, image_size, 3), name='photo')
    pair = keras.layers.Concatenate(name='pair')([sketch, photo])
    outputs = [patchgan(pair, '')]
    for scale in range(2, scales + 1):
        pair = keras.layers.AveragePooling2D(3, strides=2, padding='same',
                                             name=f'scale_{scale}_pool')(pair)
        outputs.append(patchgan(pair, f'scale_{scale}_'))
    return keras.Model([sketch, photo], outputs if scales > 1 else outputs[0],
                       name='discriminator')


def discriminator_scales(discriminator: keras.Model) -> int:
    """How many PatchGANs `discriminator` (from `build_discriminator`) runs."""
    return len(discriminator.outputs)


def discriminator_features(discriminator: keras.Model) -> keras.Model:
    """The same PatchGAN(s) (shared layers and weights, no new variables) returning
    [block_1..block_<layers + 1> activations of every scale..., logits of every scale...]: for
    the feature-matching loss."""
    prefixes = [''] + [f'scale_{scale}_'
                       for scale in range(2, discriminator_scales(discriminator) + 1)]
    names = {layer.name for layer in discriminator.layers}
    blocks = [block for block in range(1, 7) if f'block_{block}_act' in names]
    outputs = [discriminator.get_layer(f'{prefix}block_{block}_act').output
               for prefix in prefixes for block in blocks]
    return keras.Model(discriminator.inputs, outputs + list(discriminator.outputs),
                       name='discriminator_features')


def generator_for(config, fused_batch_norm: bool = False) -> keras.Model:
    """The generator of a `Config` (under the current Keras dtype policy)."""
    return build_generator(config.image_size, config.norm, config.generator_filters,
                           config.dropout_rate, config.sync_batch_norm, fused_batch_norm,
                           config.upsample)


def build_models(config, fused_batch_norm: bool = True) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) to train for a `Config` (under the current Keras dtype
    policy), with `FusedBatchNormalization` unless `fused_batch_norm=False` (benchmarks)."""
    generator = generator_for(config, fused_batch_norm)
    discriminator = build_discriminator(config.image_size, config.norm,
                                        config.discriminator_filters, config.sync_batch_norm,
                                        fused_batch_norm, config.spectral_norm,
                                        config.discriminator_scales, config.discriminator_layers)
    return generator, discriminator


def generate(generator: keras.Model, sketch, inference_mode: str = 'paper'):
    """Runs the generator for inference without changing any of its variables.

    Args:
      generator: from `build_generator`.
      sketch: float32 [N, S, S, 1] in [-1, 1].
      inference_mode: 'paper' keeps dropout and batch statistics on, as Isola et al. do at test
        time (Sec. 3.1: "we apply dropout at test time, and we apply batch normalization using
        the statistics of the test batch"). Each image is run as its own batch of one, as the
        reference's test script does, so an output never depends on the other images in the
        batch; the dropout mask is the same fixed draw for every call, so the same sketch
        always gives the same photo. 'eval' is the usual Keras inference: dropout off, moving
        statistics.

    Returns:
      float32 [N, S, S, 3] in [-1, 1].
    """
    if inference_mode == 'eval':
        return generator(sketch, training=False)
    if inference_mode != 'paper':
        raise ValueError(f'inference_mode must be paper or eval, not {inference_mode!r}')
    trainable, non_trainable = generator.trainable_variables, generator.non_trainable_variables

    def one_image(image):
        # stateless_call returns the would-be updated moving statistics and dropout seed
        # instead of assigning them: a served or evaluated model never mutates.
        outputs, _ = generator.stateless_call(trainable, non_trainable, image[tf.newaxis],
                                              training=True)
        return outputs[0]

    return tf.map_fn(one_image, tf.convert_to_tensor(sketch, tf.float32),
                     fn_output_signature=tf.float32)
