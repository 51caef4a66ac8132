"""Size and CPU latency of the TFLite export (float32 and float16 weights) next to the SavedModel.

    python benchmarks/tflite.py [--workdir runs/...] [--requests 30] [--threads 2]

Converts the generator (from --workdir, or freshly initialised weights at 256x256: size and
speed do not depend on the weights) as `export.py --format=tflite` does, runs each .tflite with
LiteRT (`ai_edge_litert`, the on-device interpreter; `pip install ai-edge-litert`, part of the
test extra) on --threads CPU threads, and times the SavedModel's `predict_pixels` (eval mode)
on the same uint8 sketch in the same run. Also reports how far each TFLite output is from the
SavedModel's (max and mean absolute difference in 0-255 levels).
"""

import argparse
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

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
    args = parser.parse_args()
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise SystemExit('needs LiteRT: pip install ai-edge-litert') from None
    size, generator, sketch = generator_and_sketch(args.workdir, lambda s: [1, s, s, 1])

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        version = signatures.export(generator, size, 'eval', os.path.join(folder, 'saved_model'))
        predict_pixels = tf.saved_model.load(version).signatures['predict_pixels']
        expected = predict_pixels(sketches=tf.constant(sketch))['photos'].numpy()
        saved_model_bytes = sum(os.path.getsize(os.path.join(root, name))
                                for root, _, names in os.walk(version) for name in names)
        rows.append(('SavedModel predict_pixels (eval), TF', saved_model_bytes,
                     percentiles_ms(lambda: predict_pixels(sketches=tf.constant(sketch)),
                                    args.requests), 0, 0.0))
        for weights in tflite_export.WEIGHT_TYPES:
            flatbuffer = tflite_export.convert(generator, size, weights)
            runner = Interpreter(model_content=flatbuffer, num_threads=args.threads
                                 ).get_signature_runner('serving_default')
            photo = runner(sketch=sketch)['photo']
            difference = np.abs(photo.astype(int) - expected.astype(int))
            rows.append((f'TFLite, {weights} weights, LiteRT', len(flatbuffer),
                         percentiles_ms(lambda: runner(sketch=sketch), args.requests),
                         int(difference.max()), float(difference.mean())))
    print(f'\n{size}x{size} generator, batch 1, {args.threads} threads on {os.cpu_count()} CPU '
          f'cores, TensorFlow {tf.__version__}, {args.requests} requests')
    print('| model | size MB | p50 ms | p95 ms | max / mean diff vs SavedModel (levels) |\n'
          '|---|---|---|---|---|')
    for name, size_bytes, (p50, p95), max_diff, mean_diff in rows:
        print(f'| {name} | {size_bytes / 2 ** 20:.1f} | {p50:.1f} | {p95:.1f} | '
              f'{max_diff} / {mean_diff:.2f} |')


if __name__ == '__main__':
    main()
