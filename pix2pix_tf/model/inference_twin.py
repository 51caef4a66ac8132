"""A faster graph of the same generator for inference: the decoder's transposed convolutions as
four small convolutions each (sub-pixel phases), with the very same function and weights.

Why: on x86 CPUs TensorFlow runs `Conv2DTranspose` as `Conv2DBackpropInput`, which oneDNN
computes far less efficiently than a forward `Conv2D`. Profiled on a 2-core AVX2 CPU with the
paper's generator at 256x256, batch 1: 214 ms of op time in the eight transposed convs against
33 ms in the eight encoder convs, which do about half their arithmetic. The twin runs the same
generator in 98 ms instead of 248 at batch 1, 771 instead of 1,796 at batch 8; cpu.flags's
16-filter one in 13.2 instead of 24.7 and 87 instead of 145 (medians, tf.function of the
model alone; whole paths in benchmarks/inference.py).

How: a 4x4, stride-2, 'same' transposed convolution (every one in `networks.build_generator`
but the resized blocks of `--upsample=resize*`, plain convs the twin leaves as they are) writes
output pixel (2m + r, 2n + c) from a 2x2 neighbourhood of input pixels only, a different 2x2
slice of its kernel for each of the four phases (r, c). Output row 2m takes input rows m-1 and
m with kernel rows 3 and 1; row 2m+1 takes rows m and m+1 with kernel rows 2 and 0
(likewise for columns). So it is four forward 2x2 convolutions of the input, each padded by one
pixel on its own sides, interleaved by `depth_to_space`: the same multiply-adds in another
order (outputs agree to float rounding, about 1e-6; tests/model/test_inference_twin.py).
A layer with under MERGE_BELOW_FILTERS outputs (the 3-channel photo) runs its four phases as
one 3x3 convolution instead: four 3-channel convs leave most of each vector register idle
(merging it took cpu.flags's generator from 18 to 13 ms; merging 16- or 32-channel layers too
was slower).

`twin(model)` clones a generator with every such layer replaced by `PhaseConv2DTranspose`
holding the four kernel slices as its own variables (cut once, not on every call), and every
other layer and variable (moving statistics, dropout seeds) copied: a snapshot of the weights.
Exported SavedModels, `translate` on a model it loads from a path, and the float TFLite
exports run the twin; training, checkpoints and `.keras` files keep the stock layer and are
unchanged. What changes is inside an exported SavedModel: its variables are the phase slices,
not the transposed convolutions' kernels (TF Serving and `saved_model_cli` read it as before).
"""

import keras
import numpy as np
import tensorflow as tf

# Phase -> (kernel tap for the first of its two input pixels, for the second), and the padding
# (before, after) that puts those pixels under a 2x2 'valid' window.
_TAPS = {0: (3, 1), 1: (2, 0)}
_PADDING = {0: (1, 0), 1: (0, 1)}
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))  # depth_to_space's channel order: (row, col) phase.
# Under this many output channels the four phases run as one 3x3 conv (see `call`); measured in
# the module docstring.
MERGE_BELOW_FILTERS = 8


class PhaseConv2DTranspose(keras.layers.Layer):
    """Conv2DTranspose(filters, 4, strides=2, padding='same'), computed as four 2x2 convs.

    Variables: `phase_kernel_<r><c>` [2, 2, in, filters] for each phase and, with `use_bias`,
    `bias` [filters]. Made by `from_transposed`; `twin` uses it.
    """

    def __init__(self, filters: int, use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.use_bias = use_bias

    def build(self, input_shape):
        channels = input_shape[-1]
        self.phase_kernels = [
            self.add_weight(shape=(2, 2, channels, self.filters), initializer='zeros',
                            name=f'phase_kernel_{row}{col}') for row, col in PHASES]
        self.bias = (self.add_weight(shape=(self.filters,), initializer='zeros', name='bias')
                     if self.use_bias else None)

    def call(self, inputs):
        if self.filters < MERGE_BELOW_FILTERS:
            # One 3x3 conv with the phases side by side (each 2x2 kernel in its corner of a 3x3
            # one): 2.25x the multiply-adds, but 4x the output channels, which a narrow layer
            # (the 3-channel photo) needs to use the CPU's vector width.
            kernel = tf.concat([
                tf.pad(kernel, [[row, 1 - row], [col, 1 - col], [0, 0], [0, 0]])
                for (row, col), kernel in zip(PHASES, self.phase_kernels)], axis=-1)
            outputs = tf.nn.conv2d(inputs, kernel, 1, padding='SAME')
        else:
            outputs = tf.concat([
                tf.nn.conv2d(inputs, kernel, 1, padding=[[0, 0], list(_PADDING[row]),
                                                         list(_PADDING[col]), [0, 0]])
                for (row, col), kernel in zip(PHASES, self.phase_kernels)], axis=-1)
        outputs = tf.nn.depth_to_space(outputs, 2)
        return outputs + self.bias if self.use_bias else outputs

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, None if height is None else 2 * height,
                None if width is None else 2 * width, self.filters)

    def get_config(self):
        return {**super().get_config(), 'filters': self.filters, 'use_bias': self.use_bias}

    def set_from(self, layer: keras.layers.Conv2DTranspose) -> None:
        """Cuts `layer`'s kernel [4, 4, filters, in] into the four phase kernels."""
        kernel = np.transpose(keras.ops.convert_to_numpy(layer.kernel), [0, 1, 3, 2])
        for (row, col), variable in zip(PHASES, self.phase_kernels):
            rows, cols = _TAPS[row], _TAPS[col]
            variable.assign(kernel[np.ix_(rows, cols)])
        if self.use_bias:
            self.bias.assign(layer.bias)


def has_phases(layer) -> bool:
    """True for the transposed convolutions `PhaseConv2DTranspose` computes exactly."""
    return (type(layer) is keras.layers.Conv2DTranspose
            and tuple(layer.kernel_size) == (4, 4) and tuple(layer.strides) == (2, 2)
            and layer.padding == 'same' and tuple(layer.dilation_rate) == (1, 1)
            and layer.output_padding is None and layer.data_format == 'channels_last'
            and layer.activation is keras.activations.linear)


def from_transposed(layer: keras.layers.Conv2DTranspose) -> PhaseConv2DTranspose:
    """An unbuilt PhaseConv2DTranspose with `layer`'s name, filters, bias and dtype policy."""
    return PhaseConv2DTranspose(layer.filters, layer.use_bias, name=layer.name,
                                dtype=layer.dtype_policy)


def twin(model: keras.Model) -> keras.Model:
    """`model` with each transposed conv that `has_phases` as a PhaseConv2DTranspose, and every
    variable copied: the same function, a faster graph on CPU. A model with none comes back as
    it is (no copy)."""
    if not any(has_phases(layer) for layer in model.layers):
        return model

    def clone(layer):
        if has_phases(layer):
            return from_transposed(layer)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        new = copy.get_layer(layer.name)
        if isinstance(new, PhaseConv2DTranspose):
            new.set_from(layer)
            continue
        if len(new.variables) != len(layer.variables):
            raise ValueError(f'cannot copy layer {layer.name}: {len(layer.variables)} variables, '
                             f'its clone has {len(new.variables)}')
        for old_variable, new_variable in zip(layer.variables, new.variables):
            new_variable.assign(old_variable)
    return copy
