"""The pix2pix-predict command: flags, positional inputs, progress and one-line errors (the
library side is tests/serving/test_predictions.py)."""

import subprocess
import sys

import cv2
import pytest

from conftest import REPO

from pix2pix_tf.serving import client


def test_command_on_a_folder_with_grid(exported_model, predict_inputs, tmp_path):
    out = tmp_path / 'out'
    result = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.predict',
                             str(predict_inputs[0]), f'--model={exported_model}',
                             f'--output_dir={out}', '--grid', '--batch_size=2'], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '3 photos written to' in result.stdout
    assert '2/3 images' in result.stderr and '3/3 images' in result.stderr  # Progress.
    for name, shape in (('shoe0', (256, 256, 3)), ('shoe1', (256, 256, 3)),
                        ('shoe2', (90, 120, 3))):
        photo = cv2.imread(str(out / f'{name}.png'))
        assert photo.shape == shape and photo.std() > 1
    grid = cv2.imread(str(out / 'grid.png'))
    # One 256-pixel-high row per input, sketch | photo; the widest row (the 120x90 input,
    # scaled to 341x256 per tile) sets the width.
    assert grid.shape == (3 * 256, 2 * round(120 * 256 / 90), 3)


def test_clear_errors_for_bad_arguments(tmp_path, exported_model):
    result = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.predict',
                             str(tmp_path / 'missing.png'), f'--model={exported_model}'], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1  # 1: an input or the model is not there; 2: usage.
    assert result.stderr.strip().splitlines() == [
        f'pix2pix-predict: error: {tmp_path / "missing.png"}: no such file or folder, and no '
        f'file matches it.']
    with pytest.raises(client.PredictError, match='no saved_model.pb'):
        client.resolve_model_dir(str(tmp_path))
    assert client.resolve_model_dir(str(exported_model)).endswith('/1')


def test_usage_errors_exit_2(exported_model):
    for flags, message in (([f'--model={exported_model}'], 'name the sketches to translate'),
                           (['x.png'], 'pass exactly one of --model'),
                           (['x.png', '--model=m', '--batch_size=0'], '--batch_size must be at'),
                           (['x.png', '--grid=maybe'], 'flag --grid=maybe')):
        result = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.predict', *flags],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, (flags, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('pix2pix-predict: error: ') and (
            message in lines[0]), lines
