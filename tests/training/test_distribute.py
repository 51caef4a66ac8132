"""tf.distribute: mirrored over two logical CPU devices, and two workers on 127.0.0.1.

Each case runs in a fresh process: logical devices and TF_CONFIG must be set before TensorFlow
starts.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.training import distribute

from conftest import REPO
from conftest import SAMPLE

TINY = dict(dataset=str(SAMPLE), image_size=64, generator_filters=8, discriminator_filters=8,
            precision='float32', log_every=1, eval_every=100, sample_every=100, eval_examples=2,
            num_samples=1, learning_rate=2e-4)

MIRRORED_SCRIPT = textwrap.dedent('''
    import json, sys
    import tensorflow as tf
    cpu, = tf.config.list_physical_devices('CPU')
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from pix2pix_tf import config as config_lib
    from pix2pix_tf.training import loop
    for workdir, overrides in json.loads(sys.argv[1]):
        result = loop.train_and_evaluate(config_lib.Config(**overrides), workdir)
        print('RESULT', result['step'])
''')


def run_mirrored(runs, timeout=600):
    result = subprocess.run([sys.executable, '-c', MIRRORED_SCRIPT, json.dumps(runs)],
                            capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def weights(workdir) -> dict:
    """Every saved variable (weights, Adam slots, step) of a workdir's latest checkpoint."""
    reader = tf.train.load_checkpoint(os.path.join(workdir, 'checkpoints'))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name.endswith('VARIABLE_VALUE') and not name.startswith('save_counter')}


def test_two_replicas_match_one_device_and_resume_across_replica_counts(tmp_path):
    # Instance norm and no dropout: nothing couples the examples of a batch, so splitting the
    # global batch of 2 over two replicas must give the weights of one device with batch 2.
    # The L1 term is off: its gradient, sign(photo - generated), flips on rounding-level
    # differences wherever the two are equal, and Adam turns even a tiny gradient into a full
    # +-lr step, so with L1 on two correct runs drift apart by up to 8e-4 in 3 steps (measured);
    # the GAN losses alone are smooth and the runs agree to 1e-5.
    # The generator's moving average (--ema_decay) must match too: on two replicas it is
    # updated in cross-replica context, every copy alike.
    common = dict(TINY, norm='instance', dropout_rate=0.0, batch_size=2, l1_weight=0.0,
                  ema_decay=0.5)
    one, two, mixed = (str(tmp_path / name) for name in ('one', 'two', 'mixed'))
    output = run_mirrored([
        (one, dict(common, strategy='one_device', train_steps=3)),
        (two, dict(common, strategy='mirrored', train_steps=3)),
        # Resume with another replica count: 2 steps on one device, then 1 on two replicas.
        (mixed, dict(common, strategy='one_device', train_steps=2)),
        (mixed, dict(common, strategy='mirrored', train_steps=3)),
    ])
    assert output.count('RESULT 3') == 3
    assert 'MirroredStrategy, 2 replica(s)' in output
    assert f'Resuming from {mixed}/checkpoints/ckpt-2 at step 2' in output
    reference = weights(one)
    assert len(reference) > 10
    assert any(name.startswith('ema_generator/') for name in reference)
    for other in (two, mixed):
        got = weights(other)
        assert got.keys() == reference.keys()
        for name, value in reference.items():  # Weights, Adam slots and step.
            np.testing.assert_allclose(got[name], value, atol=1e-4, rtol=1e-5, err_msg=name)


def test_mixed_float16_and_batch_norm_under_mirrored(tmp_path):
    # The float16 loss scale per replica, synchronized batch norm and the reference's update
    # order (D's update between G's forward and backward pass) train without error.
    output = run_mirrored([
        (str(tmp_path / 'f16'), dict(TINY, strategy='mirrored', precision='mixed_float16',
                                     batch_size=2, train_steps=2, sync_batch_norm=True,
                                     update_order='alternating')),
    ])
    assert 'RESULT 2' in output and 'precision mixed_float16' in output
    reader = tf.train.load_checkpoint(str(tmp_path / 'f16' / 'checkpoints'))
    assert reader.get_tensor('generator_optimizer/dynamic_scale/.ATTRIBUTES/VARIABLE_VALUE') > 1


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(('127.0.0.1', 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_two_workers_write_one_checkpoint_series_and_one_set_of_events(tmp_path):
    workdir = tmp_path / 'run'
    cluster = {'worker': [f'127.0.0.1:{port}' for port in free_ports(2)]}
    flags = [f'--{name}={value}' for name, value in TINY.items()]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({'cluster': cluster,
                                                     'task': {'type': 'worker', 'index': index}}))
        processes.append(subprocess.Popen(
            [sys.executable, 'train.py', f'--workdir={workdir}', '--strategy=multi_worker',
             '--batch_size=2', '--train_steps=3', '--checkpoint_every=2', *flags],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=420))
    finally:
        for process in processes:
            process.kill()
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-4000:]
    assert 'Done at step 3' in outputs[0][0]
    assert 'MultiWorkerMirroredStrategy, 2 replica(s), worker 0 of 2 (chief)' in outputs[0][0]
    # train.lock and the HParams events at the root: the chief's (workers without the chief
    # role write nothing to the workdir).
    assert sorted(name for name in os.listdir(workdir) if not name.startswith('events.')) == [
        'checkpoints', 'config.json', 'eval', 'train', 'train.lock']
    assert len(glob.glob(str(workdir / 'events.out.tfevents.*'))) == 1
    assert (workdir / 'train.lock').read_text() == ''  # Released at the end.
    assert sorted(os.listdir(workdir / 'checkpoints')) == [
        'checkpoint', 'ckpt-2.data-00000-of-00001', 'ckpt-2.index', 'ckpt-2.sha256',
        'ckpt-3.data-00000-of-00001', 'ckpt-3.index', 'ckpt-3.sha256']
    assert len(glob.glob(str(workdir / 'train' / 'events.out.tfevents.*'))) == 1
    assert len(glob.glob(str(workdir / 'eval' / 'events.out.tfevents.*'))) == 1


def test_global_batch_must_split_over_the_replicas():
    strategy = tf.distribute.get_strategy()
    distribute.check_batch_size(config_lib.Config(batch_size=3), strategy)  # One replica.

    class TwoReplicas:
        num_replicas_in_sync = 2

    with pytest.raises(config_lib.ConfigError, match='--batch_size=3 is the global batch and '
                       'must be divisible by the 2 replicas'):
        distribute.check_batch_size(config_lib.Config(batch_size=3), TwoReplicas())


def test_multi_worker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv('TF_CONFIG', raising=False)
    with pytest.raises(config_lib.ConfigError, match='needs the TF_CONFIG environment variable'):
        distribute.make_strategy(config_lib.Config(strategy='multi_worker'))
