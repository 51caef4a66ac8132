"""Metrics on constructed images, and evaluate.py end to end on a tiny trained model."""

import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import evaluation
from pix2pix_tf import train_lib

from conftest import REPO
from conftest import SAMPLE
from conftest import tiny_config


def test_identical_images_l1_zero_ssim_one():
    photo = tf.random.uniform([2, 32, 32, 3], -1, 1, seed=1)
    metrics = evaluation.batch_metrics(photo, photo)
    np.testing.assert_allclose(metrics['l1'], [0, 0])
    np.testing.assert_allclose(metrics['ssim'], [1, 1], atol=1e-6)
    assert np.isinf(metrics['psnr']).all()


def test_known_shift_gives_the_psnr_computed_by_hand():
    # Every pixel 10 levels brighter: MSE = 100, PSNR = 10 log10(255^2 / 100).
    pixels = tf.random.uniform([1, 16, 16, 3], 20, 200, dtype=tf.int32, seed=2)
    photo = tf.cast(pixels, tf.float32) / 127.5 - 1
    shifted = tf.cast(pixels + 10, tf.float32) / 127.5 - 1
    metrics = evaluation.batch_metrics(photo, shifted)
    assert float(metrics['psnr'][0]) == pytest.approx(10 * math.log10(255 ** 2 / 100), rel=1e-5)
    assert float(metrics['l1'][0]) == pytest.approx(10 / 127.5, rel=1e-5)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny model trained 4 steps with two checkpoints, keeping the best by L1."""
    workdir = tmp_path_factory.mktemp('evaluated')
    result = train_lib.train_and_evaluate(
        tiny_config(train_steps=4, checkpoint_every=2, eval_every=2, keep_best='l1'),
        str(workdir))
    return workdir, result


def test_keep_best_keeps_the_checkpoint_with_the_best_validation_l1(trained):
    workdir, _ = trained
    with open(workdir / 'best' / 'best.json') as file:
        record = json.load(file)
    assert record['metric'] == 'l1' and record['step'] in (2, 4)
    assert os.path.exists(workdir / 'best' / f'{record["checkpoint"]}.index')
    # The kept value is the best of the evaluations the run logged.
    from events import read_events
    logged = read_events(str(workdir / 'eval'))['metrics/l1']
    assert record['value'] == pytest.approx(min(logged[2], logged[4]), rel=1e-6)


def test_evaluate_command_end_to_end_with_inception_plumbing(trained, tmp_path):
    workdir, _ = trained
    # Random Inception weights: the FID/KID values mean nothing, the plumbing is real.
    inception = keras.applications.InceptionV3(include_top=False, weights=None, pooling='avg',
                                               input_shape=(299, 299, 3))
    weights = tmp_path / 'inception.weights.h5'
    inception.save_weights(str(weights))
    out = tmp_path / 'report'
    result = subprocess.run(
        [sys.executable, 'evaluate.py', f'--workdir={workdir}', '--all_checkpoints',
         f'--pairs={SAMPLE / "val"}', '--num_examples=4', '--batch_size=2',
         f'--inception_weights={weights}', f'--output_dir={out}', '--report_examples=3',
         '--inference_mode=eval'], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '| model | L1 | PSNR (dB) | SSIM | FID | KID | pairs |' in result.stdout
    assert '| step 2 |' in result.stdout and '| step 4 |' in result.stdout
    with open(out / 'metrics.json') as file:
        report = json.load(file)
    assert [row['step'] for row in report['results']] == [2, 4]
    for row in report['results']:
        assert row['metrics']['num_examples'] == 4
        assert {'l1', 'psnr', 'ssim', 'fid', 'kid', 'kid_std'} <= set(row['metrics'])
        assert np.isfinite(row['metrics']['fid'])
    assert report['info']['inference_mode'] == 'eval'
    html = (out / 'index.html').read_text()
    images = sorted(os.listdir(out / 'images'))
    assert images == ['000.png', '001.png', '002.png']
    for name in images:
        assert f'src="images/{name}"' in html
        assert tf.io.decode_png(tf.io.read_file(str(out / 'images' / name))).shape == (
            64, 192, 3)
    # The same scalars reach TensorBoard under <workdir>/eval, at each checkpoint's step.
    from events import read_events
    scalars = read_events(str(workdir / 'eval'))
    assert set(scalars['evaluate/fid']) == {2, 4}


def test_evaluate_command_scores_thickened_strokes_under_their_own_tags(trained, tmp_path):
    workdir, _ = trained
    out = tmp_path / 'thick'
    result = subprocess.run(
        [sys.executable, 'evaluate.py', f'--workdir={workdir}', f'--pairs={SAMPLE / "val"}',
         '--num_examples=4', '--batch_size=4', '--thicken_strokes=5', '--raw_weights',
         f'--output_dir={out}', '--report_examples=1'],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / 'metrics.json') as file:
        info = json.load(file)['info']
    assert info['data'].endswith('strokes thickened 5x5') and info['weights'] == 'trained'
    from events import read_events
    assert set(read_events(str(workdir / 'eval'))['evaluate_raw_weights_strokes5/l1']) == {4}


def test_evaluate_command_errors_are_one_line(tmp_path, trained):
    workdir, _ = trained
    for flags, message in ((['--workdir=' + str(workdir), '--saved_model=x'],
                            'pass exactly one of --workdir and --saved_model'),
                           (['--workdir=' + str(workdir), f'--pairs={tmp_path}/*.jpg'],
                            'no image files there'),
                           ([f'--saved_model={tmp_path}', '--raw_weights'],
                            '--raw_weights needs --workdir'),
                           (['--workdir=' + str(workdir), '--thicken_strokes=-1'],
                            '--thicken_strokes must be 0 (off) or a size'),
                           (['--workdir=' + str(workdir), f'--inception_weights={tmp_path}/x.h5'],
                            'no such file. FID and KID need InceptionV3 weights on disk')):
        result = subprocess.run([sys.executable, 'evaluate.py', *flags], cwd=REPO,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode != 0
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith('evaluate.py: error:') and message in last, last
