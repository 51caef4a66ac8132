"""The workdir's checkpoints: lookup by step, and restoring the generator alone (under any dtype
policy)."""

import dataclasses

import keras
import pytest

from pix2pix_tf import config as config_lib
from pix2pix_tf.config import ConfigError
from pix2pix_tf.model import precision
from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import loop

from conftest import tiny_config


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


def test_a_layer_norm_resize_run_restores_its_own_architecture_and_refuses_another(tmp_path):
    # Both generators (trained and moving average) are rebuilt from the workdir's config.json;
    # a default-architecture generator would not match the checkpoint's variables.
    workdir = str(tmp_path)
    config = tiny_config(train_steps=2, checkpoint_every=2, norm='layer', upsample='resize',
                         ema_decay=0.5)
    loop.train_and_evaluate(config, workdir)
    for use_ema in (True, False):
        _, generator, _ = checkpoints.restore_generator(workdir, use_ema=use_ema)
        kinds = {type(layer) for layer in generator.layers}
        assert keras.layers.UpSampling2D in kinds and keras.layers.Conv2DTranspose not in kinds
        assert generator.get_layer('encoder_2_norm').groups == 1
    with pytest.raises(ConfigError, match='was trained with --upsample=resize, not transpose'):
        config_lib.check_workdir(dataclasses.replace(config, upsample='transpose'), workdir)
