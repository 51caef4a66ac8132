"""The export command: the model card it fills, one-line errors that leave no version (the
library: test_exports.py, test_serving.py, test_tflite_export.py, test_model_card.py)."""

import json
import os
import shutil
import subprocess
import sys

import tensorflow as tf

from pix2pix_tf.serving import versions

from conftest import REPO
from conftest import SAMPLE

VAL_FILES = sorted((SAMPLE / 'val').glob('*.jpg'))


def export(workdir, export_dir, *flags):
    return subprocess.run([sys.executable, 'export.py', f'--workdir={workdir}',
                           f'--export_dir={export_dir}', *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_tflite_refuses_paper_mode_with_one_line(trained_workdir, tmp_path):
    result = export(trained_workdir, tmp_path / 'out', '--format=tflite',
                    '--inference_mode=paper')
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        'export.py: error: --format=tflite exports the eval inference mode only (paper mode '
        'runs each image with its own batch statistics); drop --inference_mode or export a '
        'SavedModel.']
    assert not (tmp_path / 'out').exists()


def test_export_command_fills_the_model_card(trained_workdir, tmp_path):
    result = export(trained_workdir, tmp_path / 'models', '--max_sketch_size=2048')
    assert result.returncode == 0, result.stderr[-2000:]
    with open(tmp_path / 'models' / '1' / 'assets.extra' / 'pix2pix.json') as file:
        card = json.load(file)
    training = card['training']
    assert training['step'] == 3
    assert training['checkpoint'] == str(trained_workdir / 'checkpoints' / 'ckpt-3')
    assert training['precision'] == 'float32' and training['precision_resolved'] == 'float32'
    assert training['weights'] == 'trained generator'  # Trained without --ema_decay.
    assert card['model_name'] == trained_workdir.name  # export.py's default: the workdir's
    assert card['max_sketch_size'] == 2048
    validation = card['validation']  # Training evaluated at its last step, 3.
    assert set(validation) >= {'l1', 'psnr', 'ssim'} and 0 < validation['l1'] < 2
    package_versions = card['versions']
    assert package_versions['export']['tensorflow'] == tf.__version__
    assert package_versions['training']['tensorflow'] == tf.__version__


def test_bad_input_gives_one_line_and_no_version(trained_workdir, tmp_path):
    damaged = tmp_path / 'damaged'
    shutil.copytree(trained_workdir, damaged)
    data_file = damaged / 'checkpoints' / 'ckpt-3.data-00000-of-00001'
    data_file.write_bytes(data_file.read_bytes()[:1000])
    # The only checkpoint is cut short: it is set aside and nothing readable is left.
    cases = {
        'damaged checkpoint': (damaged, [], 'no readable checkpoint in'),
        'missing checkpoint step': (trained_workdir, ['--checkpoint_step=7'],
                                    'no checkpoint for step 7'),
        'unknown format': (trained_workdir, ['--format=onnx'],
                           'flag --format=onnx: value should be one of '
                           '<saved_model|tflite|keras>'),
        'bad size limit': (trained_workdir, ['--max_sketch_size=0'],
                           '--max_sketch_size=0 must be 1 or more'),
    }
    for case, (workdir, flags, message) in cases.items():
        export_dir = tmp_path / case.replace(' ', '_')
        result = export(workdir, export_dir, *flags)
        assert result.returncode != 0, case
        # Errors found after TensorFlow loaded follow its start-up log lines.
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith('export.py: error: ') and message in lines[-1], (case, lines)
        assert 'Traceback' not in result.stderr, case
        assert versions.numeric_versions(str(export_dir)) == [], case
        if export_dir.exists():
            assert os.listdir(export_dir) == [], case  # No temporary folder left either.
    assert (damaged / 'checkpoints' / 'ckpt-3.data-00000-of-00001.damaged').exists()


def test_quantize_flags(trained_workdir, tmp_path):
    result = export(trained_workdir, tmp_path / 'sm', '--quantize=int8')
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        'export.py: error: --quantize=int8 applies to --format=tflite only.']
    assert not (tmp_path / 'sm').exists()

    result = export(trained_workdir, tmp_path / 'int8', '--format=tflite', '--quantize=int8',
                    '--calibration_examples=20')
    assert result.returncode == 0, result.stderr[-2000:]
    with open(tmp_path / 'int8' / '1' / 'generator.json') as file:
        quantization = json.load(file)['model_card']['quantization']
    assert quantization['calibration']['examples'] == 20
    check = quantization['check']
    assert f'Validation L1 on 10 pairs: float32 {check["l1_float32"]:.4f}, int8 ' \
           f'{check["l1_quantized"]:.4f} ({check["l1_change_percent"]:+.2f}%)' in result.stdout

    # The deprecated spelling still works, and says what to use instead.
    result = export(trained_workdir, tmp_path / 'f16', '--format=tflite',
                    '--tflite_weights=float16')
    assert result.returncode == 0, result.stderr[-2000:]
    assert '--tflite_weights is deprecated: use --quantize=float16.' in result.stderr
    with open(tmp_path / 'f16' / '1' / 'generator.json') as file:
        assert json.load(file)['quantization'] == 'float16'
