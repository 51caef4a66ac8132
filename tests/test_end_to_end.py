"""The real loop end to end: train, stop with SIGTERM, resume, TensorBoard events."""

import signal
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import REPO
from conftest import SAMPLE
from events import read_events

TINY_FLAGS = [f'--dataset={SAMPLE}', '--image_size=64', '--batch_size=2',
              '--generator_filters=8', '--discriminator_filters=8', '--precision=float32',
              '--eval_examples=4', '--num_samples=2', '--log_every=1', '--checkpoint_every=1000']


def run_train(workdir, *flags, timeout=300):
    return subprocess.run([sys.executable, 'train.py', f'--workdir={workdir}', *TINY_FLAGS, *flags],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_sigterm_saves_then_resume_continues_and_events_are_written(tmp_path):
    workdir = tmp_path / 'run'
    process = subprocess.Popen(
        [sys.executable, 'train.py', f'--workdir={workdir}', *TINY_FLAGS, '--train_steps=100000',
         '--eval_every=2', '--sample_every=2'],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:
            if line.startswith('step 3/'):
                process.send_signal(signal.SIGTERM)
                break
        output = process.stdout.read()
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()
    assert 'SIGTERM received at step' in output
    stopped_at = int(output.split('SIGTERM received at step ')[1].split(':')[0])
    assert stopped_at >= 3
    reader = tf.train.load_checkpoint(str(workdir / 'checkpoints'))
    assert reader.get_tensor('step/.ATTRIBUTES/VARIABLE_VALUE') == stopped_at

    result = run_train(workdir, f'--train_steps={stopped_at + 2}', '--eval_every=2',
                       '--sample_every=2')
    assert result.returncode == 0, result.stderr[-2000:]
    assert f'Resuming from {workdir}/checkpoints/ckpt-{stopped_at} at step {stopped_at}' in (
        result.stdout)
    assert f'Done at step {stopped_at + 2}' in result.stdout
    reader = tf.train.load_checkpoint(str(workdir / 'checkpoints'))
    assert reader.get_tensor('step/.ATTRIBUTES/VARIABLE_VALUE') == stopped_at + 2
    # The optimizer state continued: Adam's iteration count did not restart.
    for name in ('generator_optimizer', 'discriminator_optimizer'):
        assert reader.get_tensor(f'{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE') == (
            stopped_at + 2)

    train_events = read_events(str(workdir / 'train'))
    for tag in ('generator/gan_loss', 'generator/l1_loss', 'generator/total_loss',
                'discriminator/real_loss', 'discriminator/fake_loss',
                'discriminator/real_accuracy', 'discriminator/fake_accuracy', 'learning_rate',
                'images_per_second'):
        assert tag in train_events, tag
    assert set(train_events['generator/l1_loss']) == set(range(1, stopped_at + 3))
    assert 'config' in train_events
    eval_events = read_events(str(workdir / 'eval'))
    for tag in ('metrics/l1', 'metrics/psnr', 'metrics/ssim'):
        assert 2 in eval_events[tag] and stopped_at + 2 in eval_events[tag]
    # The sample grid: 2 validation pairs as rows of sketch | generated | photo.
    grid = eval_events['samples'][stopped_at + 2]
    width, height = int(grid[0]), int(grid[1])
    assert (width, height) == (3 * 64, 2 * 64)
    image = tf.io.decode_png(grid[2]).numpy()
    assert image.shape == (128, 192, 3)
    assert 0 in eval_events['samples']  # The untrained generator, drawn at step 0.
    assert np.std(image[:, 128:]) > 10  # The photo column is a real photo, not blank.
