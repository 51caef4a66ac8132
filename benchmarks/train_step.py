"""Training-step speed on this machine: images/s, ms/step and achieved GFLOP/s.

    python benchmarks/train_step.py                       # 256x256, batch 1 and 4,
                                                          # float32 / mixed_bfloat16, jit off/on
    python benchmarks/train_step.py --precisions=mixed_float16 --batch_sizes=16   # on a GPU
    python benchmarks/train_step.py --image_size=128 --batch_sizes=4 --jit=off \
        --precisions=mixed_bfloat16 --update_orders=simultaneous,alternating --ema_decay=0,0.999

Times the real training step (pix2pix_tf/training/train_step.py: generator + discriminator
forward, both backward passes, both Adam updates) on a fixed in-memory batch, so the input
pipeline is not measured here (see benchmarks/input_pipeline.py). Each configuration is warmed
up (tracing, XLA compilation) before timing. FLOPs count convolutions only, pass by pass as the
step executes them (`PASSES`): a pass of a conv costs 2 * its multiply-adds, whether it is the
forward pass, the kernel gradient or the input gradient. A simultaneous step is 80.1 GFLOP per
image at 256x256, an alternating one (--update_order, the reference's order) 86.4. --ema_decay >
0 adds the generator's moving-average update to each step.
"""

import argparse
import os
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402
from pix2pix_tf.model import networks  # noqa: E402
from pix2pix_tf.model import precision  # noqa: E402
from pix2pix_tf.training import train_step  # noqa: E402


# Passes of each convolution in one training step, as (forward, kernel gradient, input
# gradient), counted from the ops one step executes (tests/test_benchmarks.py checks them
# against the TensorFlow profiler). The generator runs once. The discriminator's kernels get
# gradients from the real and the generated pair, and three input-gradient chains run through
# it: one per pair for its own kernel gradients, and a third on the generated pair (another
# upstream gradient: the generator's loss) that carries the generator's gradient to the photo.
# The simultaneous step's saving over the reference's order is one forward pass of D. Neither
# net's first conv needs an input gradient for its own kernels: the generator's never (its
# input is the sketch), the discriminator's once (for the generator's chain).
PASSES = {
    'simultaneous': {'generator': (1, 1, 1), 'discriminator': (2, 2, 3)},
    'alternating': {'generator': (1, 1, 1), 'discriminator': (3, 2, 3)},
}
FIRST_CONV_INPUT_GRADIENTS = {'generator': 0, 'discriminator': 1}


def conv_layer_flops(model: keras.Model) -> list[tuple[str, int]]:
    """(layer name, forward FLOPs for one example) of each convolution, input side first."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            height, width, channels_in = layer.input.shape[1:]
            out_channels = layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            height, width, out_channels = layer.output.shape[1:]
            channels_in = layer.input.shape[-1]
        else:
            continue
        kernel_height, kernel_width = layer.kernel_size
        layers.append((layer.name, 2 * height * width * kernel_height * kernel_width
                       * channels_in * out_channels))
    return layers


def conv_flops(model: keras.Model) -> int:
    """Forward FLOPs (2 * multiply-adds) of the model's convolutions for one example."""
    return sum(flops for _, flops in conv_layer_flops(model))


def step_flops(image_size: int, update_order: str = 'simultaneous') -> int:
    """Convolution FLOPs one training step executes for one image (see PASSES)."""
    total = 0
    for model in (networks.build_generator(image_size), networks.build_discriminator(image_size)):
        forward, kernel_gradient, input_gradient = PASSES[update_order][model.name]
        layers = conv_layer_flops(model)
        total += (forward + kernel_gradient + input_gradient) * sum(f for _, f in layers)
        total -= (input_gradient - FIRST_CONV_INPUT_GRADIENTS[model.name]) * layers[0][1]
    return total


def time_config(image_size: int, batch_size: int, policy: str, jit: bool,
                seconds: float, min_steps: int, update_order: str = 'simultaneous',
                ema_decay: float = 0.0, adam: str = 'fused', batch_norm: str = 'fused') -> dict:
    """Builds the paper's models under `policy` and times training steps; returns ms/step etc."""
    config = config_lib.Config(image_size=image_size, batch_size=batch_size, precision=policy,
                               jit_compile=jit, update_order=update_order, ema_decay=ema_decay)
    return time_step(config, policy, seconds, min_steps, adam, batch_norm)


def time_step(config: config_lib.Config, policy: str, seconds: float, min_steps: int,
              adam: str = 'fused', batch_norm: str = 'fused') -> dict:
    """Times the training step of `config` (any recipe: sizes, norm, EMA, ...) under `policy`
    on a fixed in-memory batch: median ms/step, images/s and the number of steps timed."""
    keras.backend.clear_session()
    batch_size, image_size = config.batch_size, config.image_size
    with precision.policy(policy):
        state = train_step.create_state(config, policy, fused_adam=adam == 'fused',
                                        fused_batch_norm=batch_norm == 'fused')
        strategy = tf.distribute.get_strategy()
        step = train_step.make_train_step(state, config, strategy)
        batch = {'sketch': tf.random.uniform([batch_size, image_size, image_size, 1], -1, 1),
                 'photo': tf.random.uniform([batch_size, image_size, image_size, 3], -1, 1)}
        iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
        no_stop = tf.constant(0)
        for _ in range(2):  # Trace, compile, warm the allocator.
            float(step(iterator, no_stop)[0]['generator/total_loss'])
        durations = []
        started = time.perf_counter()
        while len(durations) < min_steps or time.perf_counter() - started < seconds:
            begin = time.perf_counter()
            float(step(iterator, no_stop)[0]['generator/total_loss'])
            durations.append(time.perf_counter() - begin)
        durations.sort()
        median = durations[len(durations) // 2]
        return {'ms_per_step': 1000 * median, 'images_per_second': batch_size / median,
                'steps': len(durations)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image_size', type=int, default=256)
    parser.add_argument('--batch_sizes', default='1,4')
    parser.add_argument('--precisions', default='float32,mixed_bfloat16')
    parser.add_argument('--jit', default='off,on', help='off, on or off,on')
    parser.add_argument('--seconds', type=float, default=10.0,
                        help='time at least this long per configuration')
    parser.add_argument('--min_steps', type=int, default=3)
    parser.add_argument('--update_orders', default='simultaneous',
                        help='simultaneous, alternating or both, comma-separated')
    parser.add_argument('--ema_decay', default='0', help='comma-separated; 0 = no EMA')
    parser.add_argument('--adam', default='fused', help='fused (precision.FusedAdam, what '
                        'training uses), keras (keras.optimizers.Adam) or both')
    parser.add_argument('--batch_norm', default='fused', help='fused '
                        '(networks.FusedBatchNormalization, what training uses), keras '
                        '(keras.layers.BatchNormalization) or both')
    args = parser.parse_args()

    devices = ', '.join(device.device_type for device in tf.config.list_physical_devices())
    orders = args.update_orders.split(',')
    flops = {order: step_flops(args.image_size, order) for order in orders}
    print(f'pix2pix train step, {args.image_size}x{args.image_size}, devices: {devices}, '
          f'{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, Keras {keras.__version__}')
    print('convolution FLOPs per image per step: ' + ', '.join(
        f'{flops[order] / 1e9:.1f} GFLOP ({order})' for order in orders))
    header = ('| update order | EMA | Adam | batch norm | precision | jit | batch | ms/step | '
              'images/s | GFLOP/s | steps timed |\n|---|---|---|---|---|---|---|---|---|---|---|')
    print(header, flush=True)
    cells = [(order, ema_decay, adam, norm, policy, jit) for order in orders
             for ema_decay in map(float, args.ema_decay.split(','))
             for adam in args.adam.split(',') for norm in args.batch_norm.split(',')
             for policy in args.precisions.split(',') for jit in args.jit.split(',')]
    for order, ema_decay, adam, norm, policy, jit in cells:
        if jit == 'on' and order == 'alternating':
            print(f'| {order} | {ema_decay:g} | {adam} | {norm} | {policy} | on | - | (not '
                  f'supported: --update_order=alternating runs without XLA) | | | |')
            continue
        for batch_size in map(int, args.batch_sizes.split(',')):
            result = time_config(args.image_size, batch_size, policy, jit == 'on', args.seconds,
                                 args.min_steps, order, ema_decay, adam, norm)
            gflops = flops[order] * result['images_per_second'] / 1e9
            print(f'| {order} | {ema_decay:g} | {adam} | {norm} | {policy} | {jit} | '
                  f'{batch_size} | '
                  f'{result["ms_per_step"]:.0f} | {result["images_per_second"]:.2f} | '
                  f'{gflops:.0f} | {result["steps"]} |', flush=True)

if __name__ == '__main__':
    main()
