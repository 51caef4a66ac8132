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

A second table gives the cost of one request by sketch size, each in a fresh process that loads
the eval-mode export with the session-based loader TF Serving uses: wall time and the growth of
the process's peak memory (ru_maxrss) over a warmed-up 256x256 request, up to the default limit
of 4096x4096 pixels and past it (refused from the image header, before decoding).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf.serving import signatures  # noqa: E402
from timing import generator_and_sketch  # noqa: E402
from timing import percentile_ms  # noqa: E402
from timing import timed  # noqa: E402


# One request in a fresh process, loaded as TF Serving loads a model (session-based loader).
REQUEST_COST_SCRIPT = textwrap.dedent('''
    import json, resource, sys, time
    import numpy as np
    import tensorflow as tf
    version, warm_up, request = sys.argv[1:4]
    session = tf.compat.v1.Session(graph=tf.Graph())
    with session.graph.as_default():
        signature = tf.compat.v1.saved_model.loader.load(
            session, ['serve'], version).signature_def['serving_default']
    def serve(path):
        data = np.array([open(path, 'rb').read()], object)
        return session.run(signature.outputs['images_bytes'].name,
                           {signature.inputs['images'].name: data})
    serve(warm_up)
    serve(warm_up)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        serve(request)
        outcome = 'served'
    except tf.errors.InvalidArgumentError as error:
        outcome = 'InvalidArgument: ' + error.message.split('[')[1].split(' (set at')[0]
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'seconds': seconds, 'peak_growth_mb': (peak - before) / 1024,
                      'outcome': outcome}))
''')


def sketch_like(size: int) -> np.ndarray:
    """uint8 [size, size] white paper with dark strokes (random lines), compressible as drawings."""
    rng = np.random.default_rng(size)
    image = np.full([size, size], 255, np.uint8)
    for _ in range(40):
        row, col = rng.integers(0, size, 2)
        image[row:row + max(2, size // 400), :] = 0
        image[:, col:col + max(2, size // 400)] = 0
    return image


def request_costs(generator, size: int, folder: str) -> list[tuple]:
    """Rows of (sketch, encoded KB, seconds, peak growth MB, outcome), one process each."""
    version = signatures.export(generator, size, 'eval', os.path.join(folder, 'limit'))
    paths = {}
    for side, format_ in ((size, 'png'), (1024, 'png'), (4096, 'png'), (4096, 'jpg'),
                          (6000, 'png')):
        path = os.path.join(folder, f'{side}.{format_}')
        with open(path, 'wb') as file:
            encoder = tf.io.encode_png if format_ == 'png' else tf.io.encode_jpeg
            file.write(encoder(sketch_like(side)[..., None]).numpy())
        paths[f'{side}x{side} {format_.upper()}'] = path
    rows = []
    for name, path in paths.items():
        result = subprocess.run([sys.executable, '-c', REQUEST_COST_SCRIPT, version,
                                 paths[f'{size}x{size} PNG'], path],
                                capture_output=True, text=True, timeout=600)
        if result.returncode:
            raise SystemExit(result.stderr[-2000:])
        cost = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append((name, os.path.getsize(path) / 1024, cost['seconds'],
                     cost['peak_growth_mb'], cost['outcome']))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workdir', help='training workdir (default: untrained 256x256 model)')
    parser.add_argument('--requests', type=int, default=30)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--skip_latency', action='store_true',
                        help='only the request-cost-by-size table')
    args = parser.parse_args()
    size, generator, sketch = generator_and_sketch(args.workdir, lambda s: [s, s])
    png = tf.io.encode_png(sketch[..., None])
    pixels = tf.constant(sketch[None, :, :, None])
    direct_input = tf.constant(sketch[None, :, :, None] / 127.5 - 1, tf.float32)
    batch_png = tf.stack([png] * args.batch)
    batch_direct = tf.repeat(direct_input, args.batch, axis=0)

    with tempfile.TemporaryDirectory() as folder:
        costs = request_costs(generator, size, folder)
    print(f'\nCost of one serving_default request by sketch size ({size}x{size} eval-mode export, '
          f'session loader as in TF Serving, default limit '
          f'{signatures.DEFAULT_MAX_SKETCH_SIZE}x{signatures.DEFAULT_MAX_SKETCH_SIZE})')
    print('| sketch | file KB | seconds | peak memory growth MB | outcome |\n|---|---|---|---|---|')
    for name, kilobytes, seconds, growth, outcome in costs:
        print(f'| {name} | {kilobytes:.0f} | {seconds:.2f} | {growth:.0f} | {outcome} |')
    if args.skip_latency:
        return

    rows = []
    direct = timed(lambda: generator(direct_input, training=False).numpy(), args.requests)
    direct_batch = timed(lambda: generator(batch_direct, training=False).numpy(), 3)
    rows.append(('Keras generator(x, training=False), eager', direct, direct_batch))
    with tempfile.TemporaryDirectory() as export_dir:
        for mode in ('eval', 'paper'):
            path = signatures.export(generator, size, mode, os.path.join(export_dir, mode))
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
