"""workdir/config.json: the Config with its run entry, and package versions."""

import json

import pytest

from pix2pix_tf.config import ConfigError
from pix2pix_tf.training import run_info

from conftest import tiny_config


def test_config_json_carries_the_run_and_refuses_another_model(tmp_path):
    config = tiny_config()
    run_info.write_config(config, str(tmp_path), {'precision': 'float32'})
    assert run_info.read_run_info(str(tmp_path)) == {'precision': 'float32'}
    written = json.loads((tmp_path / 'config.json').read_text())
    assert written['image_size'] == 64 and written['run'] == {'precision': 'float32'}
    with pytest.raises(ConfigError, match='image_size'):
        run_info.write_config(tiny_config(image_size=128), str(tmp_path))
    assert run_info.read_run_info(str(tmp_path / 'none')) == {}


def test_package_versions_name_what_a_run_depends_on():
    import tensorflow as tf

    versions = run_info.package_versions()
    assert {'tensorflow', 'keras', 'numpy', 'python', 'pix2pix_tf'} <= set(versions)
    assert versions['tensorflow'] == tf.__version__
