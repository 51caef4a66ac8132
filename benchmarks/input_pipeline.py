"""Input pipeline throughput next to the training step it feeds, measured side by side.

    python benchmarks/input_pipeline.py [--seconds 10] [--loop_steps 80] [--rounds 2]
    python benchmarks/input_pipeline.py --flagfile cpu.flags

Builds the sketch2photo `edges2shoes` TFDS dataset from the real pairs in
../shared/data/realshoes (or the shipped datasets/sample when ../shared is absent), then times
the training pipeline (`input_pipeline.train_dataset`: read records, decode, paired jitter
286 -> 256 crop and flip, batch 4) from those records and from the AB folder itself (with the
default --cache_mb, which holds the decoded pairs in memory when they fit, and from the folder
without it), and the training step on this machine at the `auto` precision (timed in
--rounds rounds, each followed by a run of the loop; the fastest timing counts). The
pipeline must never be the bottleneck: the target is at least 10x the training step's images/s.

It also times the real training loop (`loop.train_and_evaluate` on the AB folder: input
pipeline, progress line, TensorBoard summaries every log_every steps) in its steady state, from
the loop's own output: the summaries it writes every log_every steps carry their wall time, so
each window between two of them gives the loop's images/s with everything it does per step (the
first window, which includes tracing, has no earlier summary and is not counted). The table
shows the median window, comparable with the training step's median step and just as robust
to a shared host's hiccups; the mean is printed too. The target: at least 95% of the training
step's images/s.

By default all of this runs the paper's configuration (256x256, 64-filter nets, batch 4).
--flagfile times a training recipe instead (its image size, nets, batch, jitter, EMA and
log_every), e.g. cpu.flags, whose small nets step about 25x faster and so leave the pipeline
much less room. In the loop, periodic evaluation, sample images and checkpoints are off in
both cases (they are not the pipeline's cost).
"""

import argparse
import contextlib
import dataclasses
import glob
import io
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'datasets'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from tensorflow.core.util import event_pb2  # noqa: E402
from absl import flags  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402
from pix2pix_tf.commands import train as train_command  # noqa: E402
from pix2pix_tf.data import input_pipeline  # noqa: E402
from pix2pix_tf.model import precision  # noqa: E402
from pix2pix_tf.training import loop  # noqa: E402
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


def recipe_config(flagfile: str | None) -> config_lib.Config:
    """The Config train.py would use with --flagfile=`flagfile`; the paper's at batch 4 and
    summaries every 10 steps without one."""
    if not flagfile:
        return config_lib.Config(batch_size=4, log_every=10, eval_examples=4)
    if not os.path.isfile(flagfile):
        raise SystemExit(f'input_pipeline.py: no flag file {flagfile}; pass a training recipe '
                         f'such as cpu.flags.')
    values = flags.FlagValues()
    train_command.define_flags(values)
    try:
        values(['input_pipeline.py', f'--flagfile={flagfile}'])
    except flags.Error as error:
        raise SystemExit(f'input_pipeline.py: {flagfile}: {error}')
    return train_command.config_from_flags(values)


def loop_images_per_second(config, folder: str, workdir: str,
                           loop_steps: int) -> list[float]:
    """images/s of each window between two summaries of one train_and_evaluate run in
    `workdir`."""
    run_config = dataclasses.replace(
        config, dataset=folder, data_dir='', train_steps=loop_steps, eval_every=100000,
        sample_every=100000, checkpoint_every=100000, num_samples=0)
    with contextlib.redirect_stdout(io.StringIO()):  # The progress line still runs.
        loop.train_and_evaluate(run_config, workdir)
    marks = {}  # step -> wall time of the summary written after it.
    for path in glob.glob(os.path.join(workdir, 'train', 'events.out.tfevents.*')):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            if any(value.tag == 'images_per_second' for value in event.summary.value):
                marks[event.step] = event.wall_time
    steps = sorted(marks)
    return [(after - before) * config.batch_size / (marks[after] - marks[before])
            for before, after in zip(steps, steps[1:])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--loop_steps', type=int, default=0,
                        help='steps of each timed training run (0: 8 x log_every)')
    parser.add_argument('--rounds', type=int, default=2,
                        help='rounds of (time the step, run the loop)')
    parser.add_argument('--flagfile', help='a training recipe to time (e.g. cpu.flags) instead '
                        "of the paper's 256x256 configuration")
    args = parser.parse_args()
    config = recipe_config(args.flagfile)
    if args.loop_steps and args.loop_steps < 3 * config.log_every:
        raise SystemExit(f'input_pipeline.py: --loop_steps={args.loop_steps} gives the loop '
                         f'fewer than two timed windows of log_every={config.log_every} steps; '
                         f'pass at least {3 * config.log_every} (or 0).')
    work = tempfile.mkdtemp(prefix='pipeline_bench_')
    try:
        folder = ab_folder(work)
        data_dir = os.path.join(work, 'tfds')
        builder = sketch2photo_dataset_builder.Builder(config='edges2shoes', data_dir=data_dir)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=folder))
        policy = precision.resolve(config.precision)
        size, batch = config.image_size, config.batch_size
        jitter = (f'jitter {config.resolved_load_size} -> {size}'
                  if config.resolved_load_size > size else 'no resize jitter')
        print(f'\n{os.cpu_count()} CPU cores; {args.flagfile or "paper configuration"}: '
              f'{size}x{size}, batch {batch}, {config.generator_filters}/'
              f'{config.discriminator_filters}-filter nets, {config.norm} norm, EMA '
              f'{config.ema_decay:g}, {jitter} + flip, stroke jitter {config.stroke_jitter:g}')
        print('| what | images/s | x training step |\n|---|---|---|')
        rows = []
        for name, dataset, cache_mb in (
                ('pipeline from TFDS records (sketch2photo/edges2shoes)',
                 'sketch2photo/edges2shoes', config.cache_mb),
                ('pipeline from the AB folder', folder, config.cache_mb),
                ('pipeline from the AB folder, --cache_mb=0 (decoded every time)', folder, 0)):
            pipeline_config = dataclasses.replace(config, dataset=dataset, data_dir=data_dir,
                                                  cache_mb=cache_mb)
            rows.append((name, examples_per_second(pipeline_config, args.seconds)))
        # Rounds of (step, loop): the fastest step timing is the reference and the loop's
        # median window is compared with it, so a busy moment of the shared host never
        # flatters the loop.
        step_rates, windows = [], []
        for round_index in range(args.rounds):
            step_rates.append(train_step.time_step(config, policy, args.seconds, 3)[
                'images_per_second'])
            windows += loop_images_per_second(config, folder,
                                              os.path.join(work, f'loop{round_index}'),
                                              args.loop_steps or 8 * config.log_every)
        train_rate = max(step_rates)
        rows.insert(0, (f'training step ({policy}, batch {batch}; the fastest of '
                        f'{", ".join(f"{rate:.1f}" for rate in step_rates)})', train_rate))
        rows.append((f'real training loop (AB folder, summaries every {config.log_every} steps, '
                     f'progress line; median of {len(windows)} windows)',
                     statistics.median(windows)))
        for name, rate in rows:
            print(f'| {name} | {rate:.2f} | {rate / train_rate:.2f} |', flush=True)
        print(f'loop windows, images/s: {", ".join(f"{rate:.1f}" for rate in windows)} (mean '
              f'{statistics.mean(windows):.2f}, {statistics.mean(windows) / train_rate:.2f}x the '
              f'step)')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
