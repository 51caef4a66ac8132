"""Input pipeline throughput at 256x256 next to the training step it feeds, measured side by side.

    python benchmarks/input_pipeline.py [--seconds 10]

Builds the sketch2photo `edges2shoes` TFDS dataset from the real pairs in
../shared/data/realshoes (or the shipped datasets/sample when ../shared is absent), then times
the training pipeline (`input_pipeline.train_dataset`: read records, decode, paired jitter
286 -> 256 crop and flip, batch 4) from those records and from the AB folder itself, and the
training step on this machine at the `auto` precision. The pipeline must never be the
bottleneck: the target is at least 10x the training step's images/s.

It also times the real training loop (`train_lib.train_and_evaluate` on the AB folder: input
pipeline, progress line, TensorBoard summaries every 10 steps) in its steady state: two fresh
runs of --loop_steps and 4 x --loop_steps steps share every fixed cost (building, tracing, the
final evaluation and checkpoint), so (3 x --loop_steps x batch) / (difference of their wall
times) is the loop's images/s. The target: at least 95% of the training step's.
"""

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'datasets'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow_datasets as tfds  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402
from pix2pix_tf import input_pipeline  # noqa: E402
from pix2pix_tf import precision  # noqa: E402
from pix2pix_tf import train_lib  # noqa: E402
from sketch2photo import sketch2photo_dataset_builder  # noqa: E402
import train_step  # noqa: E402

SHARED = os.path.join(REPO, '..', 'shared', 'data', 'realshoes')
SAMPLE = os.path.join(REPO, 'datasets', 'sample')


def ab_folder(work: str) -> str:
    """A train/ + val/ folder of AB pairs (symlinks), from ../shared or the shipped sample."""
    if not os.path.isdir(SHARED):
        print(f'{SHARED} not found: using the {SAMPLE} pairs instead.')
        return SAMPLE
    root = os.path.join(work, 'ab')
    paths = sorted(os.path.join(directory, name)
                   for directory, _, names in os.walk(SHARED) for name in names
                   if name.endswith('.jpg'))
    for index, path in enumerate(paths):
        split = 'val' if index % 10 == 0 else 'train'
        os.makedirs(os.path.join(root, split), exist_ok=True)
        os.symlink(path, os.path.join(root, split, f'{index}_{os.path.basename(path)}'))
    return root


def examples_per_second(config, seconds: float) -> float:
    iterator = iter(input_pipeline.train_dataset(config))
    for _ in range(5):  # Fill the prefetch and shuffle buffers.
        next(iterator)
    batches, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        next(iterator)
        batches += 1
    return batches * config.batch_size / (time.perf_counter() - started)


def loop_images_per_second(folder: str, work: str, loop_steps: int) -> float:
    """Steady-state images/s of train_and_evaluate (see the module docstring)."""
    wall = {}
    for steps in (loop_steps, 4 * loop_steps):
        config = config_lib.Config(dataset=folder, batch_size=4, train_steps=steps, log_every=10,
                                   eval_every=100000, sample_every=100000,
                                   checkpoint_every=100000, eval_examples=4, num_samples=0)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # The progress line still runs.
            train_lib.train_and_evaluate(config, os.path.join(work, f'loop{steps}'))
        wall[steps] = time.perf_counter() - started
    return 3 * loop_steps * 4 / (wall[4 * loop_steps] - wall[loop_steps])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--loop_steps', type=int, default=10)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='pipeline_bench_')
    try:
        folder = ab_folder(work)
        data_dir = os.path.join(work, 'tfds')
        builder = sketch2photo_dataset_builder.Builder(config='edges2shoes', data_dir=data_dir)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=folder))
        policy = precision.resolve('auto')
        print(f'\n{os.cpu_count()} CPU cores; 256x256, batch 4, jitter 286 -> 256 + flip')
        print('| what | images/s | x training step |\n|---|---|---|')
        step = train_step.time_config(256, 4, policy, False, args.seconds, 3)
        train_rate = step['images_per_second']
        rows = [(f'training step ({policy}, batch 4)', train_rate)]
        for name, dataset in (('pipeline from TFDS records (sketch2photo/edges2shoes)',
                               'sketch2photo/edges2shoes'),
                              ('pipeline from the AB folder', folder)):
            config = config_lib.Config(dataset=dataset, data_dir=data_dir, batch_size=4)
            rows.append((name, examples_per_second(config, args.seconds)))
        rows.append(('real training loop (AB folder, summaries every 10 steps, progress line)',
                     loop_images_per_second(folder, work, args.loop_steps)))
        for name, rate in rows:
            print(f'| {name} | {rate:.2f} | {rate / train_rate:.2f} |', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
