"""The TFLite quantizations side by side: file size, dev-set L1, distance from the SavedModel, CPU
latency.

    python benchmarks/tflite.py --workdir runs/quality/cpu [--requests 30] [--threads 2]
    python benchmarks/tflite.py          # untrained 256x256 generator: size and speed only

Converts the generator (from --workdir, or freshly initialised weights at 256x256: size and
speed do not depend on the weights) as `export.py --format=tflite --quantize=...` does, for
every quantization (none, float16, dynamic, int8; int8 calibrated on 200 seeded-shuffled
training sketches of the workdir's dataset, as export.py), runs each .tflite with LiteRT
(`ai_edge_litert`, the on-device interpreter, in the test extra) on --threads CPU threads and
times the SavedModel's `predict_pixels` (eval mode) on the same uint8 sketch in the same run.
With --workdir it also scores every model on the workdir's validation pairs (for the dev
workdirs of benchmarks/quality.py: the 100 dev pairs) in evaluate.py's L1 units (mean |error| in
[-1, 1]) and reports the change against the float32 model, and how far each output is from the
SavedModel's (max and mean absolute difference in 0-255 levels) on those sketches.
"""

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402
from pix2pix_tf.serving import exports  # noqa: E402
from pix2pix_tf.serving import signatures  # noqa: E402
from pix2pix_tf.serving import tflite_export  # noqa: E402
from timing import generator_and_sketch  # noqa: E402
from timing import percentile_ms  # noqa: E402
from timing import timed  # noqa: E402


def percentiles_ms(function, repeats: int) -> tuple[float, float]:
    seconds = timed(function, repeats)
    return percentile_ms(seconds, 50), percentile_ms(seconds, 95)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workdir', help='training workdir (default: untrained 256x256 model)')
    parser.add_argument('--requests', type=int, default=30)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--dev_examples', type=int, default=100,
                        help='validation pairs scored with --workdir')
    args = parser.parse_args()
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise SystemExit('needs LiteRT: pip install ai-edge-litert') from None
    size, generator, sketch = generator_and_sketch(args.workdir, lambda s: [1, s, s, 1])
    if args.workdir:
        config = config_lib.read_workdir_config(args.workdir)
        calibration = [s for s, _ in exports.split_pairs(
            config, 'train', exports.CALIBRATION_EXAMPLES, exports.CALIBRATION_SEED)]
        pairs = exports.split_pairs(config, 'eval', args.dev_examples)
        dev_sketches = np.stack([s for s, _ in pairs])
        real = np.stack([photo for _, photo in pairs])
    else:
        rng = np.random.default_rng(1)
        calibration = [np.where(rng.random([size, size, 1]) < 0.03, 0, 255).astype(np.uint8)
                       for _ in range(8)]
        dev_sketches, real = sketch, None

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        version = signatures.export(generator, size, 'eval', os.path.join(folder, 'saved_model'))
        predict_pixels = tf.saved_model.load(version).signatures['predict_pixels']
        expected = np.concatenate([
            predict_pixels(sketches=tf.constant(dev_sketches[start:start + 8]))['photos'].numpy()
            for start in range(0, len(dev_sketches), 8)])
        saved_model_bytes = sum(os.path.getsize(os.path.join(root, name))
                                for root, _, names in os.walk(version) for name in names)
        rows.append(('SavedModel predict_pixels (eval), TF', saved_model_bytes,
                     percentiles_ms(lambda: predict_pixels(sketches=tf.constant(sketch)),
                                    args.requests),
                     tflite_export.l1(expected, real) if real is not None else None, 0, 0.0))
        for quantize in tflite_export.QUANTIZATIONS:
            flatbuffer = tflite_export.convert(generator, size, quantize, calibration)
            runner = Interpreter(model_content=flatbuffer, num_threads=args.threads
                                 ).get_signature_runner('serving_default')
            photos = np.stack([runner(sketch=one[np.newaxis])['photo'][0]
                               for one in dev_sketches])
            difference = np.abs(photos.astype(int) - expected.astype(int))
            rows.append((f'TFLite --quantize={quantize}, LiteRT', len(flatbuffer),
                         percentiles_ms(lambda: runner(sketch=sketch), args.requests),
                         tflite_export.l1(photos, real) if real is not None else None,
                         int(difference.max()), float(difference.mean())))
    scored = f'{len(dev_sketches)} validation pairs of {args.workdir}' if args.workdir else \
        'one seeded random sketch (untrained weights: no L1)'
    print(f'\n{size}x{size} generator, batch 1, {args.threads} threads on {os.cpu_count()} CPU '
          f'cores, TensorFlow {tf.__version__}, {args.requests} requests; scored on {scored}')
    float32_size, float32_l1 = rows[1][1], rows[1][3]
    print('| model | size MB | x smaller than float32 | dev L1 | L1 change vs float32 | '
          'max / mean diff vs SavedModel (levels) | p50 ms | p95 ms |\n'
          '|---|---|---|---|---|---|---|---|')
    for name, size_bytes, (p50, p95), dev_l1, max_diff, mean_diff in rows:
        l1_cells = (f'{dev_l1:.4f} | {100 * (dev_l1 / float32_l1 - 1):+.2f}%'
                    if dev_l1 is not None else '- | -')
        print(f'| {name} | {size_bytes / 2 ** 20:.1f} | {float32_size / size_bytes:.2f} | '
              f'{l1_cells} | {max_diff} / {mean_diff:.2f} | {p50:.1f} | {p95:.1f} |')


if __name__ == '__main__':
    main()
