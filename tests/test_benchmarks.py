"""The benchmarks' FLOP accounting against the convolutions a training step really executes, and
realism_probe.py's checkerboard peaks on images with a known pattern.

benchmarks/train_step.py (and through it vs_pytorch.py's GFLOP/s and % of peak) counts each
convolution's passes per step from `PASSES`; here one real step runs under the TensorFlow
profiler and every executed Conv2D-family op is counted per layer and pass.
"""

import collections
import sys

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO

sys.path.insert(0, str(REPO / 'benchmarks'))
import profile_step  # noqa: E402
import realism_probe  # noqa: E402
import train_step as step_benchmark  # noqa: E402

from pix2pix_tf.model import networks  # noqa: E402
from pix2pix_tf.training import train_step  # noqa: E402


def _pass_of(op_type: str, transposed: bool) -> str:
    # A Conv2DTranspose's forward pass is TensorFlow's Conv2DBackpropInput, and its input
    # gradient a Conv2D (oneDNN names: _MklNativeConv2D..., _MklNativePadWithConv2D, ...).
    if 'BackpropFilter' in op_type:
        return 'kernel gradient'
    if 'BackpropInput' in op_type:
        return 'forward' if transposed else 'input gradient'
    return 'input gradient' if transposed else 'forward'


def _executed_passes(config, logdir) -> collections.Counter:
    state = train_step.create_state(config, 'float32')
    step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
    batch = {'sketch': tf.random.uniform([1, 64, 64, 1], -1, 1),
             'photo': tf.random.uniform([1, 64, 64, 3], -1, 1)}
    iterator, no_stop = iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0)
    step(iterator, no_stop)  # Traced and warmed up outside the profile.
    tf.profiler.experimental.start(str(logdir))
    step(iterator, no_stop)
    tf.profiler.experimental.stop()
    transposed = {f'generator/{layer.name}' for layer in state.generator.layers
                  if isinstance(layer, keras.layers.Conv2DTranspose)}
    counts = collections.Counter()
    for name, op_type, _, _ in profile_step.op_events(str(logdir)):
        layer = profile_step.layer_of(name)
        if 'Conv2D' in op_type and layer and layer.endswith('_conv'):
            counts[layer, _pass_of(op_type, layer in transposed)] += 1
    return counts


@pytest.mark.parametrize('order', ['simultaneous', 'alternating'])
def test_flop_accounting_counts_the_convolutions_a_step_executes(make_config, tmp_path, order):
    config = make_config(update_order=order, batch_size=1)
    executed = _executed_passes(config, tmp_path)
    expected = collections.Counter()
    for model in (networks.build_generator(64, filters=8),
                  networks.build_discriminator(64, filters=8)):
        passes = step_benchmark.PASSES[order][model.name]
        for index, (layer, _) in enumerate(step_benchmark.conv_layer_flops(model)):
            counts = dict(zip(('forward', 'kernel gradient', 'input gradient'), passes))
            if index == 0:
                counts['input gradient'] = step_benchmark.FIRST_CONV_INPUT_GRADIENTS[model.name]
            for kind, count in counts.items():
                if count:
                    expected[f'{model.name}/{layer}', kind] = count
    assert executed == expected
    # The simultaneous step saves exactly one forward pass of the discriminator.
    discriminator = step_benchmark.conv_flops(networks.build_discriminator(256))
    assert (step_benchmark.step_flops(256, 'alternating')
            - step_benchmark.step_flops(256, 'simultaneous')) == discriminator


def test_checkerboard_peaks_find_a_pixel_scale_pattern_and_only_there():
    rng = np.random.default_rng(0)
    smooth = np.stack([cv2.GaussianBlur(rng.uniform(0, 255, (64, 64, 3)), (0, 0), 3)
                       for _ in range(8)])
    rows, cols = np.indices((64, 64))
    patterns = {'(N/2, N/2)': (rows + cols) % 2, '(N/2, 0)': rows % 2, '(0, N/2)': cols % 2}
    plain = realism_probe.checkerboard(np.round(smooth).astype(np.uint8))
    assert all(0.2 < value < 5 for value in plain.values())  # Rounding noise: a flat spectrum.
    for name, pattern in patterns.items():
        marked = np.round(smooth + 6 * pattern[..., None]).astype(np.uint8)
        peaks = realism_probe.checkerboard(marked)
        assert peaks[name] > 100, (name, peaks)
        assert all(value < 5 for other, value in peaks.items() if other != name), (name, peaks)
