"""train.py's flags: one per Config field, flagfiles, overrides, and one-line start-up errors."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from absl import flags

from conftest import REPO

from pix2pix_tf import config as config_lib
from pix2pix_tf.commands import train


@pytest.fixture
def train_flags():
    """The train command's flags on their own FlagValues (not absl's global FLAGS)."""
    flag_values = flags.FlagValues()
    train.define_flags(flag_values)
    return flag_values


@pytest.fixture
def parse(train_flags):
    def parse_args(*args):
        train_flags.unparse_flags()
        train_flags(['train.py', *args])
        return train.config_from_flags(train_flags)

    cwd = os.getcwd()
    os.chdir(REPO)  # Flagfiles name repository-relative paths.
    yield parse_args
    os.chdir(cwd)


def test_every_config_field_has_a_flag_and_the_reverse(train_flags):
    field_names = {field.name for field in dataclasses.fields(config_lib.Config)}
    assert set(train_flags) - {'workdir'} == field_names
    for field in dataclasses.fields(config_lib.Config):
        assert train_flags[field.name].default == field.default, field.name
        assert field.metadata['help'] in train_flags[field.name].help


def test_flagfiles_parse_into_valid_configs(parse):
    zappos = parse('--flagfile=zappos.flags')
    assert (zappos.image_size, zappos.learning_rate, zappos.beta_1, zappos.beta_2,
            zappos.l1_weight) == (256, 5e-5, 0.5, 0.999, 100)
    sample = parse('--flagfile=sample.flags')
    assert sample.image_size == 128 and sample.dataset == str(REPO / 'datasets' / 'sample')
    cpu = parse('--flagfile=cpu.flags', f'--dataset={REPO / "datasets" / "sample"}')
    assert (cpu.image_size, cpu.update_order) == (128, 'simultaneous')
    assert cpu.ema_decay > 0 and cpu.stroke_jitter > 0
    # docs/quality.md's "both modes" rows hold because nothing differs between paper and eval.
    for recipe in (cpu, sample):
        assert (recipe.norm, recipe.dropout_rate) == ('instance', 0.0)


def test_a_later_flag_overrides_the_flagfile(parse):
    config = parse('--flagfile=zappos.flags', '--batch_size=7', '--precision=float32')
    assert (config.batch_size, config.precision) == (7, 'float32')


@pytest.mark.parametrize('flag, message', [
    ('--precision=fp8', '--precision=fp8 is not one of'),
    ('--image_size=100', '--image_size=100 must be a power of two'),
    ('--learning_rate=-0.1', '--learning_rate=-0.1 must be a finite number >= 0'),
    ('--dataset=no/such/folder', '--dataset=no/such/folder: no such folder'),
])
def test_bad_flags_fail_at_start_up_with_one_line(flag, message, tmp_path):
    result = subprocess.run(
        [sys.executable, 'train.py', flag, f'--workdir={tmp_path}'], cwd=REPO,
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    # One line, and no TensorFlow start-up noise: it failed before TensorFlow was imported.
    assert result.stderr.strip().splitlines() == [f'train.py: error: {message}'] or (
        len(result.stderr.strip().splitlines()) == 1 and message in result.stderr)
    assert not os.listdir(tmp_path)  # Nothing written.


def test_only_the_chief_process_takes_the_workdir_lock(monkeypatch):
    def chief(tf_config):
        monkeypatch.setenv('TF_CONFIG', json.dumps(tf_config))
        return train._is_chief_process()

    workers = {'worker': ['a:1', 'b:1']}
    assert chief({'cluster': workers, 'task': {'type': 'worker', 'index': 0}})
    assert not chief({'cluster': workers, 'task': {'type': 'worker', 'index': 1}})
    with_chief = {'chief': ['c:1'], **workers}
    assert chief({'cluster': with_chief, 'task': {'type': 'chief', 'index': 0}})
    assert not chief({'cluster': with_chief, 'task': {'type': 'worker', 'index': 0}})
    monkeypatch.delenv('TF_CONFIG')
    assert train._is_chief_process()
