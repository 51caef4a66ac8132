"""Serving cost of the exported SavedModel next to a direct Keras call, at 256x256 on this CPU.

    python benchmarks/serving.py [--workdir runs/...] [--requests 30]

Exports the generator (from --workdir, or freshly initialised weights: the cost does not depend
on the weights) in both inference modes, loads each SavedModel with TensorFlow's loader (as TF
Serving does) and times, side by side in one run:

- single-image latency, p50 and p95 over --requests calls: `serving_default` (PNG sketch in,
  PNG photo out: decode, resize, generator, resize, encode), `predict_pixels` (uint8 in and
  out), and the direct Keras call `generator(x, training=False)` on a float32 [1,256,256,1];
- batched throughput (images/s) for a batch of --batch images.

The target: serving_default in eval mode costs at most 1.2x the direct Keras call at p50.
"""

import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf import checkpoints  # noqa: E402
from pix2pix_tf import models  # noqa: E402
from pix2pix_tf import serving  # noqa: E402


def timed(function, repeats: int) -> list[float]:
    function()  # Warm-up (tracing, allocator).
    function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def percentile_ms(seconds, q):
    return 1000 * float(np.percentile(seconds, q))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workdir', help='training workdir (default: untrained 256x256 model)')
    parser.add_argument('--requests', type=int, default=30)
    parser.add_argument('--batch', type=int, default=8)
    args = parser.parse_args()
    if args.workdir:
        config, generator, _ = checkpoints.restore_generator(args.workdir)
        size = config.image_size
    else:
        size, generator = 256, models.build_generator(256)
    rng = np.random.default_rng(0)
    sketch = np.where(rng.random([size, size]) < 0.03, 0, 255).astype(np.uint8)
    png = tf.io.encode_png(sketch[..., None])
    pixels = tf.constant(sketch[None, :, :, None])
    direct_input = tf.constant(sketch[None, :, :, None] / 127.5 - 1, tf.float32)
    batch_png = tf.stack([png] * args.batch)
    batch_direct = tf.repeat(direct_input, args.batch, axis=0)

    rows = []
    direct = timed(lambda: generator(direct_input, training=False).numpy(), args.requests)
    direct_batch = timed(lambda: generator(batch_direct, training=False).numpy(), 3)
    rows.append(('Keras generator(x, training=False), eager', direct, direct_batch))
    with tempfile.TemporaryDirectory() as export_dir:
        for mode in ('eval', 'paper'):
            path = serving.export(generator, size, mode, os.path.join(export_dir, mode))
            loaded = tf.saved_model.load(path)
            serve = loaded.signatures['serving_default']
            predict_pixels = loaded.signatures['predict_pixels']
            rows.append((f'SavedModel serving_default ({mode})',
                         timed(lambda: serve(images=png[None])['images_bytes'].numpy(),
                               args.requests),
                         timed(lambda: serve(images=batch_png)['images_bytes'].numpy(), 3)))
            rows.append((f'SavedModel predict_pixels ({mode})',
                         timed(lambda: predict_pixels(sketches=pixels)['photos'].numpy(),
                               args.requests),
                         timed(lambda: predict_pixels(sketches=tf.repeat(
                             pixels, args.batch, axis=0))['photos'].numpy(), 3)))
    reference = percentile_ms(direct, 50)
    print(f'\n{size}x{size}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, '
          f'{args.requests} single-image requests, batch {args.batch} for throughput')
    print('| what | p50 ms | p95 ms | x direct p50 | batch images/s |\n|---|---|---|---|---|')
    for name, single, batch in rows:
        p50 = percentile_ms(single, 50)
        print(f'| {name} | {p50:.1f} | {percentile_ms(single, 95):.1f} | '
              f'{p50 / reference:.2f} | {args.batch / float(np.median(batch)):.1f} |')


if __name__ == '__main__':
    main()
