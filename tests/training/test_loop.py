import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import keras
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.training import loop
from pix2pix_tf.training import train_step

from events import read_events

METRIC_NAMES = {'generator/gan_loss', 'generator/l1_loss', 'generator/total_loss',
                'discriminator/real_loss', 'discriminator/fake_loss',
                'discriminator/real_accuracy', 'discriminator/fake_accuracy'}


def test_learning_rate_constant_then_linear_to_zero(make_config):
    config = make_config(learning_rate=1.0, train_steps=10, lr_decay_steps=4)
    rates = [float(train_step.learning_rate_at(step, config)) for step in range(10)]
    np.testing.assert_allclose(rates, [1, 1, 1, 1, 1, 1, 1.0, 0.75, 0.5, 0.25])
    constant = make_config(learning_rate=0.5, lr_decay_steps=0)
    assert float(train_step.learning_rate_at(3, constant)) == 0.5
    # A decay longer than the run (zappos.flags with a short --train_steps) spans the run.
    short = make_config(learning_rate=1.0, train_steps=2, lr_decay_steps=85000)
    assert [float(train_step.learning_rate_at(step, short)) for step in (0, 1)] == [1.0, 0.5]


def _one_step(config, policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        state = train_step.create_state(config, policy)
        step = train_step.make_train_step(state, config, tf.distribute.get_strategy())
        batch = {'sketch': tf.random.uniform([2, 64, 64, 1], -1, 1),
                 'photo': tf.random.uniform([2, 64, 64, 3], -1, 1)}
        before = state.generator.get_layer('encoder_2_conv').kernel.numpy().copy()
        metrics, stop = step(iter(tf.data.Dataset.from_tensors(batch).repeat()), tf.constant(0))
        assert int(stop) == 0
        after = state.generator.get_layer('encoder_2_conv').kernel.numpy()
        return state, {name: float(value) for name, value in metrics.items()}, before, after
    finally:
        keras.mixed_precision.set_global_policy('float32')


def test_float32_step_returns_metrics_and_updates_both_nets(make_config):
    state, metrics, before, after = _one_step(make_config(), 'float32')
    assert set(metrics) == METRIC_NAMES
    assert int(state.step.numpy()) == 1
    assert not np.array_equal(before, after)
    assert int(state.discriminator_optimizer.iterations.numpy()) == 1
    np.testing.assert_allclose(
        metrics['generator/total_loss'],
        metrics['generator/gan_loss'] + 100 * metrics['generator/l1_loss'], rtol=1e-5)
    for name in METRIC_NAMES:
        assert np.isfinite(metrics[name])


def test_float16_step_scales_the_loss_and_reports_the_scale(make_config):
    state, metrics, _, _ = _one_step(make_config(precision='mixed_float16'), 'mixed_float16')
    assert {'generator/loss_scale', 'discriminator/loss_scale'} <= set(metrics)
    assert metrics['generator/loss_scale'] > 1
    assert state.generator.get_layer('encoder_2_conv').compute_dtype == 'float16'


def test_resumed_run_matches_uninterrupted_run(make_config, tmp_path):
    def train(workdir, steps):
        config = make_config(train_steps=steps, log_every=1, checkpoint_every=2)
        return loop.train_and_evaluate(config, str(workdir))

    straight = train(tmp_path / 'straight', 4)
    train(tmp_path / 'resumed', 2)
    resumed = train(tmp_path / 'resumed', 4)
    assert straight['step'] == resumed['step'] == 4
    straight_events = read_events(str(tmp_path / 'straight' / 'train'))
    resumed_events = read_events(str(tmp_path / 'resumed' / 'train'))
    for name in METRIC_NAMES:
        for step in (3, 4):
            assert resumed_events[name][step] == pytest.approx(straight_events[name][step],
                                                               rel=1e-4, abs=1e-5), (name, step)
    assert resumed['l1'] == pytest.approx(straight['l1'], rel=1e-4)
    for workdir in ('straight', 'resumed'):
        reader = tf.train.load_checkpoint(str(tmp_path / workdir / 'checkpoints'))
        assert reader.get_tensor('step/.ATTRIBUTES/VARIABLE_VALUE') == 4
        assert reader.get_tensor(
            'generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE') == 4


def test_runs_appear_in_tensorboards_hparams_tab(trained_workdir, tmp_path):
    """TensorBoard itself (a server on 127.0.0.1) lists the run with its config and metrics."""
    shutil.copytree(trained_workdir, tmp_path / 'logs' / 'sample')
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    tensorboard = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
    server = subprocess.Popen([tensorboard, f'--logdir={tmp_path / "logs"}', f'--port={port}',
                               '--host=127.0.0.1'], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    request = json.dumps({
        'experimentName': '', 'startIndex': 0, 'sliceSize': 10,
        'allowedStatuses': ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE',
                            'STATUS_RUNNING'],
        'colParams': [{'metric': {'group': 'eval', 'tag': 'metrics/l1'}}]}).encode()
    try:
        deadline, groups = time.time() + 120, None
        while time.time() < deadline:
            try:
                answer = urllib.request.urlopen(urllib.request.Request(
                    f'http://127.0.0.1:{port}/data/plugin/hparams/session_groups', request,
                    {'Content-Type': 'application/json', 'X-XSRF-Protected': '1'}), timeout=10)
                groups = json.loads(answer.read())['sessionGroups']
                if groups and groups[0]['sessions'][0]['metricValues']:
                    break
            except OSError:
                pass
            time.sleep(1)
    finally:
        server.kill()
        server.wait()
    assert groups, 'TensorBoard listed no run in its HParams tab'
    group = groups[0]
    assert group['name'] == trained_workdir.name  # The trial id: the workdir's name.
    assert group['sessions'][0]['name'] == 'sample'  # Where it lies under --logdir.
    assert group['hparams']['image_size'] == 64 and group['hparams']['norm'] == 'batch'
    assert group['hparams']['precision_resolved'] == 'float32'
    metrics = {value['name']['tag']: value for value in group['sessions'][0]['metricValues']}
    assert set(metrics) == {f'metrics/{name}' for name in ('l1', 'psnr', 'ssim', 'colour_ratio',
                                                          'colour_distance', 'texture_ratio',
                                                          'two_sample_accuracy')}
    assert metrics['metrics/l1']['trainingStep'] == 3
