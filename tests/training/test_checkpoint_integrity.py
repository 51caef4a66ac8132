"""Damaged checkpoints (pix2pix_tf.training.checkpoint_integrity): each file of a real checkpoint
truncated, zero-filled or bit-flipped is found, named in one line, set aside (renamed, never
deleted), and the newest readable checkpoint is used by training's resume, by export, by
evaluate and by the Python API; with none readable, one line says what to do."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import pix2pix_tf
from pix2pix_tf.serving import exports
from pix2pix_tf.training import checkpoint_integrity
from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import loop
from pix2pix_tf.training import train_step

from conftest import REPO
from conftest import SAMPLE
from conftest import tiny_config

DATA = 'ckpt-2.data-00000-of-00001'
WAYS = ('truncated', 'zero-filled', 'bit-flipped')


def damage(path, way: str, offset: float = 0.5) -> None:
    """Damages a file as a full disk, a cut copy or a bad sector would."""
    data = bytearray(path.read_bytes())
    if way == 'truncated':
        data = data[:int(len(data) * offset)]
    elif way == 'zero-filled':
        data = bytearray(len(data))
    else:
        data[int(len(data) * offset)] ^= 0x04
    path.write_bytes(bytes(data))


@pytest.fixture(scope='module')
def two_checkpoints(tmp_path_factory):
    """A tiny run with checkpoints at steps 1 and 2 (each with its .sha256)."""
    workdir = tmp_path_factory.mktemp('integrity')
    loop.train_and_evaluate(tiny_config(train_steps=2, checkpoint_every=1, log_every=1,
                                             eval_every=1000, num_samples=0), str(workdir))
    return workdir


@pytest.fixture
def workdir(two_checkpoints, tmp_path):
    copy = tmp_path / 'run'
    shutil.copytree(two_checkpoints, copy)
    return copy


def weights_of(path: str) -> list[np.ndarray]:
    """The generator's weights in checkpoint `path`, restored into a fresh state."""
    state = train_step.create_state(tiny_config(), 'float32')
    checkpoints.make_checkpoint(state).restore(path).assert_existing_objects_matched()
    return [weight.numpy() for weight in state.generator.weights]


def test_every_save_writes_a_checksum_that_sha256sum_accepts(two_checkpoints):
    folder = two_checkpoints / 'checkpoints'
    assert sorted(path.name for path in folder.glob('*.sha256')) == ['ckpt-1.sha256',
                                                                     'ckpt-2.sha256']
    result = subprocess.run(['sha256sum', '-c', 'ckpt-2.sha256'], cwd=folder,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.count(': OK') == 2, result.stdout
    assert checkpoint_integrity.problem(str(folder / 'ckpt-2')) is None


@pytest.mark.parametrize('way', WAYS)
@pytest.mark.parametrize('name', ['ckpt-2.index', DATA])
def test_training_resumes_from_the_newest_readable_checkpoint(workdir, name, way):
    folder = workdir / 'checkpoints'
    damage(folder / name, way)
    state = train_step.create_state(tiny_config(), 'float32')
    lines = []
    path = checkpoints.restore_latest(state, str(workdir), lines.append)
    assert path == str(folder / 'ckpt-1') and int(state.step.numpy()) == 1
    assert len(lines) == 1 and lines[0].startswith(f'checkpoint {folder / "ckpt-2"} is damaged: '
                                                   f'{name} does not match ckpt-2.sha256')
    for restored, expected in zip(state.generator.weights, weights_of(path)):
        np.testing.assert_array_equal(restored.numpy(), expected)  # All of ckpt-1's values.
    # Set aside, never deleted; the state file now names what is there.
    assert (folder / f'{name}.damaged').is_file() and not (folder / name).exists()
    assert (folder / 'ckpt-2.sha256.damaged').is_file()
    assert checkpoints.available_steps(str(workdir)) == [1]
    assert tf.train.latest_checkpoint(str(folder)) == str(folder / 'ckpt-1')


@pytest.mark.parametrize('way', WAYS)
@pytest.mark.parametrize('name', ['ckpt-2.index', DATA])
def test_export_evaluate_and_the_api_use_the_newest_readable_checkpoint(workdir, name, way,
                                                                         capsys):
    damage(workdir / 'checkpoints' / name, way, offset=0.3)
    generator = pix2pix_tf.load_generator(str(workdir))  # restore_generator: export, evaluate.
    assert capsys.readouterr().err.count('is damaged') == 1
    assert generator.output_shape == (None, 64, 64, 3)
    assert checkpoints.checkpoint_path(str(workdir)).endswith('ckpt-1')
    assert capsys.readouterr().err == ''  # Named once: it was set aside.


def test_a_damaged_checksum_file_falls_back_to_tensorflows_own_checks(workdir):
    folder = workdir / 'checkpoints'
    original = (folder / 'ckpt-2.sha256').read_bytes()
    flipped = bytearray(original)
    flipped[5] = ord('0') if flipped[5] != ord('0') else ord('1')
    (folder / 'ckpt-2.sha256').write_bytes(bytes(flipped))  # One digit of a checksum changed:
    assert 'does not match ckpt-2.sha256' in checkpoint_integrity.problem(
        str(folder / 'ckpt-2'))  # the checkpoint is not trusted (set aside, not deleted).
    for way in ('zero-filled', 'truncated'):  # Unparseable: read every tensor instead.
        (folder / 'ckpt-2.sha256').write_bytes(original)
        damage(folder / 'ckpt-2.sha256', way, offset=0.2)
        assert checkpoint_integrity.problem(str(folder / 'ckpt-2')) is None
    (folder / 'ckpt-2.sha256').unlink()  # A checkpoint written before checksums...
    damage(folder / DATA, 'bit-flipped')  # ...is still checked, by the data's CRCs.
    assert 'unreadable' in checkpoint_integrity.problem(str(folder / 'ckpt-2'))


@pytest.mark.parametrize('way', WAYS)
def test_a_damaged_state_file_does_not_restart_training_from_step_0(workdir, way):
    folder = workdir / 'checkpoints'
    damage(folder / 'checkpoint', way, offset=0.2)
    assert tf.train.latest_checkpoint(str(folder)) is None  # What TensorFlow alone would do.
    state = train_step.create_state(tiny_config(), 'float32')
    lines = []
    assert checkpoints.restore_latest(state, str(workdir), lines.append).endswith('ckpt-2')
    assert int(state.step.numpy()) == 2
    assert lines == [f'{folder / "checkpoint"} is damaged: set aside as checkpoint.damaged; '
                     f'rewritten from the checkpoints on disk.']
    assert (folder / 'checkpoint.damaged').is_file()
    assert tf.train.latest_checkpoint(str(folder)) == str(folder / 'ckpt-2')
    # Both still managed: --keep_checkpoints deletes the oldest (and its checksum) as before.
    manager = checkpoints.make_manager(state, str(workdir), keep_checkpoints=2)
    assert manager.checkpoints == [str(folder / 'ckpt-1'), str(folder / 'ckpt-2')]
    checkpoints.save(manager, 3)
    assert sorted(path.name for path in folder.glob('ckpt-*.*') if 'data' not in path.name) == [
        'ckpt-2.index', 'ckpt-2.sha256', 'ckpt-3.index', 'ckpt-3.sha256']


def test_an_explicit_damaged_step_is_refused_in_one_line(workdir):
    damage(workdir / 'checkpoints' / DATA, 'truncated')
    with pytest.raises(checkpoint_integrity.DamagedCheckpoint,
                       match=r'ckpt-2 is damaged .*; set aside as ckpt-2\.\*\.damaged; '
                             r'available steps: 1\.$'):
        exports.export_workdir(str(workdir), str(workdir / 'out'), checkpoint_step=2)
    assert not (workdir / 'out').exists() or not os.listdir(workdir / 'out')


TRAIN = [sys.executable, 'train.py', f'--dataset={SAMPLE}', '--image_size=64',
         '--batch_size=2', '--generator_filters=8', '--discriminator_filters=8',
         '--precision=float32', '--eval_examples=4', '--num_samples=0', '--log_every=1',
         '--checkpoint_every=1', '--eval_every=1000']


def test_train_py_resumes_past_a_truncated_latest_checkpoint_and_stops_when_none_reads(
        workdir):
    folder = workdir / 'checkpoints'
    damage(folder / DATA, 'truncated')  # A disk that filled, a copy that was cut.
    result = subprocess.run(TRAIN + [f'--workdir={workdir}', '--train_steps=3'], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert f'checkpoint {folder / "ckpt-2"} is damaged: {DATA} does not match' in result.stdout
    assert f'Resuming from {folder / "ckpt-1"} at step 1 of 3' in result.stdout
    assert checkpoints.available_steps(str(workdir)) == [1, 2, 3]  # Step 2 trained again.
    assert (folder / f'{DATA}.damaged').is_file()

    for step in (1, 2, 3):
        damage(folder / f'ckpt-{step}.index', 'zero-filled')
    result = subprocess.run(TRAIN + [f'--workdir={workdir}', '--train_steps=4'], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f'train.py: error: no readable checkpoint in {folder} (ckpt-3, ckpt-2, ckpt-1 damaged, '
        f'kept as *.damaged): restore the folder from a backup, or move it away to start '
        f'again from step 0.')
    assert sorted(path.name for path in folder.glob('ckpt-*.index*')) == [
        'ckpt-1.index.damaged', 'ckpt-2.index.damaged', 'ckpt-2.index.damaged-2',
        'ckpt-3.index.damaged']
