"""Evaluation throughput at 256x256 on this machine: pairs/second, with and without FID/KID.

    python benchmarks/evaluation.py [--pairs N]

Scores real AB pairs (../shared/data/realshoes, or the shipped datasets/sample when ../shared
is absent) with a 256x256 generator through `pixel_metrics.evaluate`, the code behind evaluate.py
and training's periodic evaluation, in both inference modes; then once more with InceptionV3
features for FID/KID (randomly initialised weights: the cost does not depend on the weights).
"""

import argparse
import glob
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import keras  # noqa: E402

from pix2pix_tf.data import input_pipeline  # noqa: E402
from pix2pix_tf.data import record_readers  # noqa: E402
from pix2pix_tf.evaluation import pixel_metrics  # noqa: E402
from pix2pix_tf.model import networks  # noqa: E402

SHARED = os.path.join(REPO, '..', 'shared', 'data', 'realshoes')
SAMPLE = os.path.join(REPO, 'datasets', 'sample')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=200)
    parser.add_argument('--batch_size', type=int, default=8)
    args = parser.parse_args()
    source = SHARED if os.path.isdir(SHARED) else SAMPLE
    if source == SAMPLE:
        print(f'{SHARED} not found: using the {SAMPLE} pairs instead.')
    files = sorted(glob.glob(os.path.join(source, '**', '*.jpg'), recursive=True))[:args.pairs]
    generator = networks.build_generator(256)
    inception = keras.applications.InceptionV3(include_top=False, weights=None, pooling='avg',
                                               input_shape=(299, 299, 3))
    rows = []
    for mode, features in (('eval', None), ('paper', None),
                           ('eval', pixel_metrics.make_feature_fn(inception))):
        step = pixel_metrics.make_eval_step(generator, mode)

        def dataset():
            return input_pipeline.pairs_dataset(*record_readers.ab_file_records(files), 256,
                                                args.batch_size)

        pixel_metrics.evaluate(step, dataset().take(1), features)  # Warm-up (tracing).
        started = time.perf_counter()
        result = pixel_metrics.evaluate(step, dataset(), features)
        rate = result.metrics['num_examples'] / (time.perf_counter() - started)
        rows.append((f'{mode} mode' + (' + InceptionV3 features (FID/KID)' if features else ''),
                     rate))
    print(f'\n{len(files)} real pairs, 256x256, batch {args.batch_size}, {os.cpu_count()} CPU '
          f'cores')
    print('| evaluation | pairs/s |\n|---|---|')
    for name, rate in rows:
        print(f'| {name} | {rate:.1f} |')


if __name__ == '__main__':
    main()
