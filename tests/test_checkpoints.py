"""The workdir layout: config.json with its run entry, checkpoint lookup, and restoring the
generator alone (under any dtype policy)."""

import json

import keras
import pytest

from pix2pix_tf import checkpoints
from pix2pix_tf import precision
from pix2pix_tf.config import ConfigError

from conftest import tiny_config


def test_config_json_carries_the_run_and_refuses_another_model(tmp_path):
    config = tiny_config()
    checkpoints.write_config(config, str(tmp_path), {'precision': 'float32'})
    assert checkpoints.read_run_info(str(tmp_path)) == {'precision': 'float32'}
    written = json.loads((tmp_path / 'config.json').read_text())
    assert written['image_size'] == 64 and written['run'] == {'precision': 'float32'}
    with pytest.raises(ConfigError, match='image_size'):
        checkpoints.write_config(tiny_config(image_size=128), str(tmp_path))
    assert checkpoints.read_run_info(str(tmp_path / 'none')) == {}


def test_checkpoint_lookup_by_step(trained_workdir, tmp_path):
    assert checkpoints.available_steps(str(trained_workdir)) == [3]
    path = checkpoints.checkpoint_path(str(trained_workdir))
    assert checkpoints.step_of(path) == 3 and path == checkpoints.checkpoint_path(
        str(trained_workdir), 3)
    with pytest.raises(ConfigError, match='no checkpoint for step 9 .* available steps: 3'):
        checkpoints.checkpoint_path(str(trained_workdir), 9)
    with pytest.raises(ConfigError, match='no checkpoint in .*: train first'):
        checkpoints.checkpoint_path(str(tmp_path))


def test_restore_generator_is_float32_whatever_the_policy_and_restores_the_policy(
        trained_workdir):
    with precision.policy('mixed_bfloat16'):
        config, generator, path = checkpoints.restore_generator(str(trained_workdir))
        assert keras.mixed_precision.global_policy().name == 'mixed_bfloat16'
    assert keras.mixed_precision.global_policy().name == 'float32'
    assert generator.dtype_policy.name == 'float32' and config.image_size == 64
    assert checkpoints.step_of(path) == 3
    with pytest.raises(ConfigError, match='holds no generator moving average'):
        checkpoints.restore_generator(str(trained_workdir), use_ema=True)
