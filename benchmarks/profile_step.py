"""Where a training step's time goes: the TensorFlow profiler's op time, by kind and by layer.

    python benchmarks/profile_step.py [--image_size 256] [--batch_sizes 1,4]
        [--precisions float32,mixed_bfloat16] [--steps 3] [--layers 8] [--logdir /tmp/profile]

For each configuration: the real step of benchmarks/train_step.py (simultaneous update order,
jit off), warmed up, then `--steps` steps under `tf.profiler.experimental`; the trace
(`<logdir>/plugins/profile/*/*.xplane.pb`, also viewable in TensorBoard's profile plugin when
installed) is read back here and every TensorFlow op executed is put in one kind:

  conv              Conv2D of the encoder and discriminator, forward and both gradients
  transposed conv   the decoder's Conv2DTranspose, forward and both gradients
  batch norm        FusedBatchNorm* and its gradient
  casts             Cast (float32 <-> bfloat16/float16 under mixed precision)
  concat / slice    ConcatV2 (U-Net skips, the discriminator's pair), Slice, Pad
  layout            Transpose and oneDNN layout reorders
  element-wise      activations, their gradients, dropout, losses, Add/Mul/...
  optimizer         the Adam updates (ops under the optimizers' name scopes)
  other             everything else (reductions for the metrics, variable reads, ...)

Op time is summed over the inter-op threads, so it can exceed the wall time; "busy" is op time
over (wall time x threads). "overhead" is wall time minus the longest thread's op time: Python,
tf.function dispatch and waiting. The --layers slowest layers (forward + backward) are listed
with their output shapes.
"""

import argparse
import collections
import glob
import os
import re
import shutil
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402
from pix2pix_tf.model import precision  # noqa: E402
from pix2pix_tf.training import train_step  # noqa: E402

KINDS = ('conv', 'transposed conv', 'batch norm', 'casts', 'concat / slice', 'layout',
         'element-wise', 'optimizer', 'other')
CONV_TYPES = ('Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', '_MklNativeConv2D',
              '_MklNativeConv2DBackpropInput', '_MklNativeConv2DBackpropFilter',
              '_FusedConv2D', '_MklNativeFusedConv2D', '_MklFusedConv2D')
ELEMENTWISE = ('Relu', 'ReluGrad', 'LeakyRelu', 'LeakyReluGrad', 'Tanh', 'TanhGrad', 'Sigmoid',
               'Add', 'AddV2', 'AddN', 'Sub', 'Mul', 'RealDiv', 'Neg', 'Abs', 'Sign', 'Exp',
               'Log1p', 'Maximum', 'Minimum', 'Select', 'SelectV2', 'GreaterEqual', 'Greater',
               'Less', 'Square', 'Sqrt', 'Rsqrt', 'BiasAdd', 'BiasAddGrad', 'ZerosLike',
               'OnesLike', 'Softplus', 'SoftplusGrad', 'StatelessRandomUniformV2',
               'StatelessRandomGetKeyCounter', 'Fill', 'BroadcastTo', '_MklLeakyRelu',
               '_MklLeakyReluGrad', '_MklNativeMul', '_MklAdd', '_MklAddV2', 'Cos', 'Floor',
               'LogicalAnd', 'IsFinite', 'Equal')


def kind_of(name: str, op_type: str) -> str:
    lowered = name.lower()
    if 'adam' in lowered or 'optimizer' in lowered or op_type.startswith('ResourceApply'):
        return 'optimizer'
    if op_type in CONV_TYPES or 'conv' in op_type.lower():
        return 'transposed conv' if 'decoder_' in name and '_conv' in name else 'conv'
    if 'batchnorm' in op_type.lower() or '_norm' in name:
        return 'batch norm'
    if op_type == 'Cast':
        return 'casts'
    if op_type in ('ConcatV2', 'Slice', 'StridedSlice', 'Pad', 'PadV2', 'Split', 'SplitV',
                   'StridedSliceGrad', 'Pack', 'Unpack', 'ConcatOffset'):
        return 'concat / slice'
    if op_type in ('Transpose', '_MklToTf') or 'reorder' in lowered or 'Layout' in op_type:
        return 'layout'
    if op_type in ELEMENTWISE:
        return 'element-wise'
    return 'other'


def layer_of(name: str) -> str | None:
    """'generator/encoder_3_conv' from an op name, for the layers that do the heavy work."""
    # Scopes carry a suffix per call ('discriminator_1/block_2_conv_1'): dropped.
    parts = [re.sub(r'_\d+$', '', part) for part in name.split(':')[0].split('/')]
    for index, part in enumerate(parts):
        if part in ('generator', 'discriminator') and index + 1 < len(parts):
            layer = parts[index + 1]
            if layer.endswith(('_conv', '_norm')):
                return f'{part}/{layer}'
    return None


def op_events(logdir: str):
    """(op name, op type, thread, seconds) of every TensorFlow op the newest trace under
    `logdir` executed on the host (containers such as PartitionedCall left out)."""
    path = sorted(glob.glob(os.path.join(logdir, '**', '*.xplane.pb'), recursive=True))[-1]
    space = xplane_pb2.XSpace()
    with open(path, 'rb') as file:
        space.ParseFromString(file.read())
    for plane in space.planes:
        if plane.name != '/host:CPU':
            continue
        for line in plane.lines:
            if not line.name.startswith(('tf_Compute', 'tf_numa', 'tf_inter', 'python')):
                continue
            for event in line.events:
                metadata = plane.event_metadata[event.metadata_id]
                if ':' not in metadata.name or not metadata.display_name:
                    continue  # Not a TensorFlow op (executor, thread-pool, Python events).
                if metadata.display_name in ('PartitionedCall', 'StatefulPartitionedCall',
                                             'While', 'If'):
                    continue  # Containers: their ops are counted themselves.
                yield metadata.name, metadata.display_name, line.name, event.duration_ps / 1e12


def read_trace(logdir: str) -> tuple[dict, dict, dict]:
    """(op time by kind, op time by layer, op time per thread), in seconds, from the trace."""
    by_kind, by_layer, by_thread = (collections.Counter(), collections.Counter(),
                                    collections.Counter())
    for name, op_type, thread, seconds in op_events(logdir):
        by_kind[kind_of(name, op_type)] += seconds
        by_thread[thread] += seconds
        layer = layer_of(name)
        if layer and kind_of(name, op_type) != 'optimizer':
            by_layer[layer] += seconds
    return by_kind, by_layer, by_thread


def layer_shapes(image_size: int) -> dict:
    from pix2pix_tf.model import networks

    shapes = {}
    for model in (networks.build_generator(image_size), networks.build_discriminator(image_size)):
        for layer in model.layers:
            shapes[f'{model.name}/{layer.name}'] = 'x'.join(map(str, layer.output.shape[1:]))
    return shapes


def profile(image_size: int, batch_size: int, policy: str, steps: int, logdir: str) -> dict:
    keras.backend.clear_session()
    with precision.policy(policy):
        config = config_lib.Config(image_size=image_size, batch_size=batch_size,
                                   precision=policy)
        state = train_step.create_state(config, policy)
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        batch = {'sketch': tf.random.uniform([batch_size, image_size, image_size, 1], -1, 1),
                 'photo': tf.random.uniform([batch_size, image_size, image_size, 3], -1, 1)}
        iterator, no_stop = iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0)
        for _ in range(2):
            float(step(iterator, no_stop)[0]['generator/total_loss'])
        shutil.rmtree(logdir, ignore_errors=True)
        tf.profiler.experimental.start(logdir)
        started = time.perf_counter()
        for _ in range(steps):
            float(step(iterator, no_stop)[0]['generator/total_loss'])
        wall = (time.perf_counter() - started) / steps
        tf.profiler.experimental.stop()
    by_kind, by_layer, by_thread = read_trace(logdir)
    return {'wall': wall, 'kinds': {k: v / steps for k, v in by_kind.items()},
            'layers': {k: v / steps for k, v in by_layer.items()},
            'threads': {k: v / steps for k, v in by_thread.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image_size', type=int, default=256)
    parser.add_argument('--batch_sizes', default='1,4')
    parser.add_argument('--precisions', default='float32,mixed_bfloat16')
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--layers', type=int, default=8)
    parser.add_argument('--logdir', default='/tmp/pix2pix_profile')
    args = parser.parse_args()
    shapes = layer_shapes(args.image_size)
    results = {}
    for policy in args.precisions.split(','):
        for batch_size in map(int, args.batch_sizes.split(',')):
            results[(policy, batch_size)] = profile(args.image_size, batch_size, policy,
                                                    args.steps, args.logdir)
    columns = list(results)
    print(f'\nTraining step at {args.image_size}x{args.image_size} (simultaneous order, jit '
          f'off), {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}: op time per step in '
          f'ms (share of all op time)\n')
    print('| kind | ' + ' | '.join(f'{p} b{b}' for p, b in columns) + ' |')
    print('|---|' + '---|' * len(columns))
    for kind in KINDS:
        cells = []
        for key in columns:
            total = sum(results[key]['kinds'].values())
            value = results[key]['kinds'].get(kind, 0.0)
            cells.append(f'{1000 * value:.0f} ({100 * value / total:.0f}%)')
        print(f'| {kind} | ' + ' | '.join(cells) + ' |')
    rows = {
        'all ops': lambda r: f'{1000 * sum(r["kinds"].values()):.0f}',
        'wall time': lambda r: f'{1000 * r["wall"]:.0f}',
        'busy (op time / wall x cores)': lambda r: (
            f'{100 * sum(r["kinds"].values()) / (r["wall"] * os.cpu_count()):.0f}%'),
        'overhead (wall - busiest thread)': lambda r: (
            f'{1000 * (r["wall"] - max(r["threads"].values())):.0f}'),
    }
    for title, cell in rows.items():
        print(f'| {title} | ' + ' | '.join(cell(results[key]) for key in columns) + ' |')
    for key in columns:
        layers = sorted(results[key]['layers'].items(), key=lambda item: -item[1])
        total = sum(results[key]['kinds'].values())
        print(f'\nSlowest layers, {key[0]} batch {key[1]} (forward + backward, ms per step):')
        for layer, seconds in layers[:args.layers]:
            print(f'  {layer:32s} {shapes.get(layer, "?"):>12s}  {1000 * seconds:6.0f} '
                  f'({100 * seconds / total:.0f}%)')


if __name__ == '__main__':
    main()
