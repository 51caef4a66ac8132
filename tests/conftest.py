"""Shared test helpers: a tiny, fast configuration on the built-in sample."""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

import pytest  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / 'datasets' / 'sample'


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
    from pix2pix_tf import train_lib

    workdir = tmp_path_factory.mktemp('trained')
    train_lib.train_and_evaluate(tiny_config(train_steps=3, eval_every=1000), str(workdir))
    return workdir


@pytest.fixture(scope='session')
def exported_model(trained_workdir, tmp_path_factory):
    """That model exported as export.py does (paper inference mode) as <dir>/1/."""
    from pix2pix_tf import exports

    export_dir = tmp_path_factory.mktemp('models')
    exports.export_workdir(str(trained_workdir), str(export_dir), inference_mode='paper')
    return export_dir
