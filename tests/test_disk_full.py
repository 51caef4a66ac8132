"""A full disk, on a small tmpfs the test mounts (skipped, with the reason, where it cannot
mount): training stops with one line naming the folder and the bytes needed, whether a
checkpoint save, the TensorBoard writer or config.json meets it first; a failed save removes
its own files and keeps every earlier checkpoint; the same command resumes once space is
freed; an export leaves no version folder."""

import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf

from pix2pix_tf.data import disk_space
from pix2pix_tf.serving import exports
from pix2pix_tf.serving import versions
from pix2pix_tf.training import checkpoint_integrity
from pix2pix_tf.training import checkpoints

from conftest import REPO
from conftest import SAMPLE

DISK_MB = 24  # A tiny run's checkpoint is about 6 MB: three fit.


@pytest.fixture
def disk(tmp_path):
    """A DISK_MB tmpfs at tmp_path/disk, unmounted afterwards."""
    mount_point = tmp_path / 'disk'
    mount_point.mkdir()
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={DISK_MB}m', 'tmpfs',
                             str(mount_point)], capture_output=True, text=True)
    if result.returncode:
        pytest.skip(f'cannot mount a tmpfs here ({result.stderr.strip() or "not root"})')
    yield mount_point
    subprocess.run(['umount', '-l', str(mount_point)], check=False)


def fill(disk, leave_bytes: int):
    """Writes disk/filler until only about `leave_bytes` are free; returns its path."""
    filler = disk / 'filler'
    size = max(0, disk_space.free_bytes(str(disk)) - leave_bytes)
    with open(filler, 'ab') as file:
        file.write(b'\0' * size)
    return filler


TRAIN = [sys.executable, 'train.py', f'--dataset={SAMPLE}', '--image_size=64',
         '--batch_size=2', '--generator_filters=8', '--discriminator_filters=8',
         '--precision=float32', '--eval_examples=4', '--num_samples=2', '--log_every=1',
         '--sample_every=1', '--checkpoint_every=2', '--eval_every=1000', '--train_steps=6']


def test_train_py_on_a_full_disk_stops_in_one_line_and_resumes_once_space_is_freed(disk):
    workdir = disk / 'run'
    command = TRAIN + [f'--workdir={workdir}']

    def train():
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)

    filler = fill(disk, 0)  # Not a byte free: found before TensorFlow starts.
    result = train()
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f'train.py: error: {workdir}: no space left on its disk for the run (needs about '
        f'1.0 MB, 0.0 MB free); free some space and run the same command again.')
    filler.unlink()

    fill(disk, 9_000_000)  # Room for one checkpoint (about 6 MB), not for two.
    result = train()
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    # The TensorBoard writer (step 3's window) meets it first: it would drop events silently.
    assert last.startswith(f'train.py: error: {workdir}: no space left on its disk for '
                           f'TensorBoard events and the next checkpoint (needs about 7.'), last
    assert last.endswith('free); free some space and run the same command to resume from '
                         'checkpoint ckpt-2.')
    assert checkpoints.available_steps(str(workdir)) == [2]
    assert checkpoint_integrity.problem(str(workdir / 'checkpoints' / 'ckpt-2')) is None
    assert not list((workdir / 'checkpoints').glob('*_temp'))

    (disk / 'filler').unlink()  # The user frees space; the same command resumes.
    result = train()
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'Resuming from {workdir / "checkpoints" / "ckpt-2"} at step 2 of 6' in result.stdout
    assert checkpoints.available_steps(str(workdir)) == [2, 4, 6]


def test_a_save_that_meets_a_full_disk_removes_its_files_and_keeps_the_earlier_ones(disk):
    variable = tf.Variable(tf.random.uniform([600_000]))  # 2.4 MB a checkpoint.
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(variable=variable),
                                         str(disk / 'checkpoints'), max_to_keep=5)
    checkpoints.save(manager, 1)
    fill(disk, 1_000_000)  # The disk fills while step 2 is being written.
    with pytest.raises(disk_space.DiskFullError) as raised:
        checkpoints.save(manager, 2, 'free some space and run the same command')
    message = str(raised.value)
    assert message.startswith(f'{disk / "checkpoints"}: no space left on its disk for '
                              f'checkpoint ckpt-2 (needs about 3.4 MB, ')
    assert message.endswith('free); free some space and run the same command.')
    assert '\n' not in message
    assert sorted(os.listdir(disk / 'checkpoints')) == [
        'checkpoint', 'ckpt-1.data-00000-of-00001', 'ckpt-1.index', 'ckpt-1.sha256']
    assert tf.train.latest_checkpoint(str(disk / 'checkpoints')).endswith('ckpt-1')
    assert checkpoint_integrity.problem(str(disk / 'checkpoints' / 'ckpt-1')) is None


def test_an_export_on_a_full_disk_leaves_no_version_folder(disk, trained_workdir):
    fill(disk, 200_000)
    with pytest.raises(disk_space.DiskFullError,
                       match=r'no space left on its disk for version 1 \(needs at least .* '
                             r'free\); free some space and export again \(no version folder '
                             r'was left\)\.$'):
        exports.export_workdir(str(trained_workdir), str(disk / 'models'))
    assert os.listdir(disk / 'models') == []  # Neither a version nor a temporary folder.
    assert versions.numeric_versions(str(disk / 'models')) == []
    shutil.rmtree(disk / 'models')
