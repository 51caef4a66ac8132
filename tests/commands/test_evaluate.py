"""The evaluate command end to end on a tiny trained model: reports, TensorBoard tags, the
renamed --model flag and one-line errors."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO
from conftest import SAMPLE


@pytest.fixture
def trained(evaluated_run):
    return evaluated_run


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
    assert ('| model | L1 | PSNR (dB) | SSIM | FID | KID | colour ratio | colour JS | '
            'texture ratio | 2-sample acc. | pairs |') in result.stdout
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
    for flags, message in ((['--workdir=' + str(workdir), '--model=x'],
                            'pass exactly one of --workdir and --model'),
                           ([f'--model={tmp_path}'], f'--model={tmp_path}: no saved_model.pb'),
                           (['--workdir=' + str(workdir), f'--pairs={tmp_path}/*.jpg'],
                            'no image files there'),
                           (['--workdir=' + str(workdir), '--split=test'],  # No test/ folder.
                            'test: no such folder'),
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


def test_evaluate_scores_a_folder_of_versions_and_keeps_the_old_flag_name(exported_model,
                                                                          tmp_path):
    outputs = []
    for flag in ('--model', '--saved_model'):  # The old name: one release, with a note.
        out = tmp_path / flag.strip('-')
        result = subprocess.run(
            [sys.executable, 'evaluate.py', f'{flag}={exported_model}', f'--pairs={SAMPLE / "val"}',
             '--num_examples=2', '--batch_size=2', f'--output_dir={out}', '--report_examples=0'],
            cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        with open(out / 'metrics.json') as file:
            report = json.load(file)
        assert report['info']['model'] == str(exported_model / '1')  # The highest version.
        outputs.append((report['results'][0]['metrics'], result.stderr))
    assert 'deprecated' not in outputs[0][1]
    assert ('evaluate.py: --saved_model is deprecated and will be removed in 0.3; use --model.'
            in outputs[1][1])
    assert outputs[0][0]['num_examples'] == outputs[1][0]['num_examples'] == 2
