"""Build throughput of the sketch2photo `zappos` config: photos/second on this machine.

    python benchmarks/dataset_build.py [--photos N] [--workers 1,2]

Arranges real product photos (the photo halves of ../shared/data/realshoes, or of the shipped
datasets/sample when ../shared is absent, as 256x256 JPEGs) in the UT-Zappos50K folder layout,
then times:

- the per-photo work alone on one thread (`dataset_prep.photo_example`: JPEG decode, pad,
  resize, sketch, encode) -- the bound a build cannot beat per core;
- a full `download_and_prepare` of the `zappos` config through the TFDS Python API (the same
  code path as `tfds build`) with 1 and 2 worker threads.

A build bounded by decode + sketch, not by Python overhead, runs at about workers x the
one-thread rate.
"""

import argparse
import glob
import os
import shutil
import sys
import tempfile
import time

import cv2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'datasets'))

import tensorflow_datasets as tfds  # noqa: E402

from pix2pix_tf.data import dataset_prep  # noqa: E402
from sketch2photo import sketch2photo_dataset_builder  # noqa: E402

SHARED = os.path.join(REPO, '..', 'shared', 'data', 'realshoes')
SAMPLE = os.path.join(REPO, 'datasets', 'sample')


def make_zappos_folder(root: str, limit: int) -> int:
    source = SHARED if os.path.isdir(SHARED) else SAMPLE
    if source == SAMPLE:
        print(f'{SHARED} not found: using the {SAMPLE} photos instead.')
    paths = sorted(glob.glob(os.path.join(source, '**', '*.jpg'), recursive=True))[:limit]
    categories = ('Shoes', 'Boots', 'Sandals', 'Slippers')
    for index, path in enumerate(paths):
        folder = os.path.join(root, 'ut-zap50k-images-square', categories[index % 4], 'Sub',
                              'Brand')
        os.makedirs(folder, exist_ok=True)
        photo = cv2.imread(path)[:, 256:]
        cv2.imwrite(os.path.join(folder, f'{index}.{index % 97}.jpg'), photo,
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
    return len(paths)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--photos', type=int, default=2000, help='at most this many photos')
    parser.add_argument('--workers', default='1,2')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='sketch2photo_bench_')
    try:
        manual_dir = os.path.join(work, 'manual')
        count = make_zappos_folder(manual_dir, args.photos)
        files = list(dataset_prep.iter_folder(manual_dir))
        data = [read() for _, read in files]
        cv2.setNumThreads(1)
        started = time.perf_counter()
        for item in data:
            dataset_prep.photo_example(item)
        one_thread = count / (time.perf_counter() - started)
        print(f'{count} photos (256x256 JPEG), {os.cpu_count()} CPU cores')
        print('| what | photos/s |\n|---|---|')
        print(f'| per-photo work alone, 1 thread (decode + square + sketch + encode) | '
              f'{one_thread:.0f} |', flush=True)
        # A first build pays one-time costs (TensorFlow start-up, TFDS imports): not timed.
        for workers in ['warm-up'] + args.workers.split(','):
            os.environ['SKETCH2PHOTO_WORKERS'] = '1' if workers == 'warm-up' else workers
            data_dir = os.path.join(work, f'data-{workers}')
            builder = sketch2photo_dataset_builder.Builder(config='zappos', data_dir=data_dir)
            started = time.perf_counter()
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
            rate = count / (time.perf_counter() - started)
            if workers != 'warm-up':
                print(f'| full `zappos` build (TFDS API, as `tfds build`), {workers} worker '
                      f'thread(s) | {rate:.0f} |', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
