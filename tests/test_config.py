import json

import pytest

from pix2pix_tf import config as config_lib


@pytest.mark.parametrize('overrides, message', [
    (dict(precision='fp8'), '--precision=fp8 is not one of'),
    (dict(image_size=100), '--image_size=100 must be a power of two'),
    (dict(image_size=32), '--image_size=32 must be a power of two from 64'),
    (dict(learning_rate=-1e-4), '--learning_rate=-0.0001 must be a finite number >= 0'),
    (dict(learning_rate=float('nan')), '--learning_rate=nan must be a finite number'),
    (dict(norm='group'), '--norm=group is not one of batch, instance, layer'),
    (dict(load_size=100, image_size=128), '--load_size=100 is smaller than --image_size=128'),
    (dict(batch_size=0), '--batch_size=0 must be at least 1'),
    (dict(beta_1=1.0), '--beta_1=1.0 must be in [0, 1)'),
    (dict(ema_decay=1.0), '--ema_decay=1.0 must be in [0, 1)'),
    (dict(stroke_jitter=1.5), '--stroke_jitter=1.5 must be a probability in [0, 1]'),
    (dict(feature_matching_weight=-1.0), '--feature_matching_weight=-1.0 must be a finite '
                                         'number >= 0.'),
    (dict(gradient_loss_weight=float('nan')), '--gradient_loss_weight=nan must be a finite '
                                              'number >= 0.'),
    (dict(discriminator_scales=3, image_size=64),
     '--discriminator_scales=3 needs an --image_size of at least 32 * 2^(scales - 1)'),
    (dict(discriminator_scales=0), '--discriminator_scales=0 needs an --image_size'),
    (dict(l1_pool=3), '--l1_pool=3 must be a power of two from 1 (per pixel) to 32 at '
                      '--image_size=256'),
    (dict(l1_pool=32, image_size=128), '--l1_pool=32 must be a power of two from 1'),
    (dict(l1_pool=0), '--l1_pool=0 must be a power of two'),
    (dict(discriminator_lr_scale=0.0), '--discriminator_lr_scale=0 would never train; use a '
                                       'positive value such as 1.'),
    (dict(discriminator_lr_scale=-2.0), '--discriminator_lr_scale=-2.0 must be a finite number'),
    (dict(discriminator_layers=5), '--discriminator_layers=5 must be 1, 2, 3'),
    (dict(discriminator_layers=4, discriminator_scales=2, image_size=64),
     '--discriminator_scales=2 needs an --image_size of at least 64 * 2^(scales - 1)'),
    (dict(update_order='random'), '--update_order=random is not one of simultaneous, '
                                  'alternating'),
    (dict(update_order='alternating', jit_compile=True),
     '--update_order=alternating cannot be combined with --jit_compile'),
])
def test_bad_values_fail_with_one_line(overrides, message):
    with pytest.raises(config_lib.ConfigError) as error:
        config_lib.Config(**overrides)
    assert message in str(error.value)
    assert '\n' not in str(error.value)


def test_defaults_are_the_seed_project():
    config = config_lib.Config()
    assert (config.image_size, config.learning_rate, config.beta_1, config.beta_2) == (
        256, 5e-5, 0.5, 0.999)
    assert config.l1_weight == 100
    assert config.resolved_load_size == 286


def test_load_size_default_scales_with_image_size():
    assert config_lib.Config(image_size=128).resolved_load_size == 143
    assert config_lib.Config(image_size=128, load_size=160).resolved_load_size == 160


def test_json_round_trip_and_unknown_keys_ignored():
    config = config_lib.Config(image_size=128, norm='instance', learning_rate=1e-3)
    assert config_lib.Config.from_json(config.to_json()) == config
    values = json.loads(config.to_json())
    values['field_from_a_newer_version'] = 1
    assert config_lib.Config.from_json(json.dumps(values)) == config


def test_workdir_compatibility(tmp_path):
    saved = config_lib.Config(image_size=128)
    (tmp_path / config_lib.CONFIG_FILE).write_text(saved.to_json())
    # Training longer or with another learning rate resumes fine...
    config_lib.check_workdir(config_lib.Config(image_size=128, train_steps=5, learning_rate=1),
                             str(tmp_path))
    # ...another model shape cannot.
    with pytest.raises(config_lib.ConfigError, match='trained with --image_size=128, not 256'):
        config_lib.check_workdir(config_lib.Config(image_size=256), str(tmp_path))
    with pytest.raises(config_lib.ConfigError,
                       match='trained with --discriminator_scales=1, not 2'):
        config_lib.check_workdir(config_lib.Config(image_size=128, discriminator_scales=2),
                                 str(tmp_path))
    with pytest.raises(config_lib.ConfigError, match='not found'):
        config_lib.read_workdir_config(str(tmp_path / 'missing'))
