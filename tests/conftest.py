"""Shared test helpers: a tiny, fast configuration on the built-in sample."""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / 'datasets' / 'sample'
AB_FILES = sorted((SAMPLE / 'val').glob('*.jpg'))  # 10 real validation pairs, 512x256.


def encoded_ab(height=32, width=64):
    """An AB PNG whose left half is black strokes on white and right half is pure red."""
    pair = np.full([height, width, 3], 255, np.uint8)
    pair[:, : width // 2][height // 2] = 0  # A black line in the sketch.
    pair[:, width // 2:] = [255, 0, 0]
    import tensorflow as tf  # Only when a test makes one: conftest stays light.

    return tf.io.encode_png(pair)


def tiny_config(**overrides) -> config_lib.Config:
    """64x64, narrow nets (8 filters), float32: a real pix2pix step in well under a second."""
    values = dict(dataset=str(SAMPLE), image_size=64, batch_size=2, generator_filters=8,
                  discriminator_filters=8, precision='float32', train_steps=4, log_every=2,
                  eval_every=100, sample_every=100, checkpoint_every=100, eval_examples=4,
                  num_samples=2, learning_rate=2e-4)
    values.update(overrides)
    return config_lib.Config(**values)


@pytest.fixture
def make_config():
    return tiny_config


@pytest.fixture(scope='session')
def trained_workdir(tmp_path_factory):
    """A tiny model trained 3 real steps on the sample (shared by the serving-side tests)."""
    from pix2pix_tf.training import loop

    workdir = tmp_path_factory.mktemp('trained')
    loop.train_and_evaluate(tiny_config(train_steps=3, eval_every=1000), str(workdir))
    return workdir


@pytest.fixture(scope='session')
def exported_model(trained_workdir, tmp_path_factory):
    """That model exported as export.py does (paper inference mode) as <dir>/1/."""
    from pix2pix_tf.serving import exports

    export_dir = tmp_path_factory.mktemp('models')
    exports.export_workdir(str(trained_workdir), str(export_dir), inference_mode='paper')
    return export_dir


@pytest.fixture
def predict_inputs(tmp_path):
    """A folder of 3 sketches (PNG, JPEG, an odd size) and of 2 photos, from real pairs."""
    sketches, photos = tmp_path / 'sketches', tmp_path / 'photos'
    sketches.mkdir()
    photos.mkdir()
    for index, path in enumerate(AB_FILES[:3]):
        ab = cv2.imread(str(path))
        sketch = ab[:, :256] if index != 2 else cv2.resize(ab[:, :256], (120, 90))
        cv2.imwrite(str(sketches / f'shoe{index}.{"jpg" if index == 1 else "png"}'), sketch)
    for index, path in enumerate(AB_FILES[3:5]):
        cv2.imwrite(str(photos / f'photo{index}.jpg'), cv2.imread(str(path))[:, 256:])
    (sketches / 'notes.txt').write_text('not an image')
    return sketches, photos


@pytest.fixture(scope='session')
def evaluated_run(tmp_path_factory):
    """A tiny model trained 4 steps with two checkpoints, keeping the best by L1."""
    from pix2pix_tf.training import loop

    workdir = tmp_path_factory.mktemp('evaluated')
    result = loop.train_and_evaluate(
        tiny_config(train_steps=4, checkpoint_every=2, eval_every=2, keep_best='l1'),
        str(workdir))
    return workdir, result
