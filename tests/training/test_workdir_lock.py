"""The workdir lock in one process (a second process and kill -9: tests/test_faults.py)."""

import json
import os
import re

import pytest

from pix2pix_tf.config import ConfigError
from pix2pix_tf.training import workdir_lock


def test_a_held_lock_refuses_a_second_holder_and_is_cleared_on_exit(tmp_path):
    with workdir_lock.hold(str(tmp_path), log=None):
        record = json.loads((tmp_path / 'train.lock').read_text())
        assert record['pid'] == os.getpid()
        with pytest.raises(ConfigError, match=re.escape(f'{tmp_path} is being trained by '
                                                        f'another process (pid {os.getpid()} on')):
            with workdir_lock.hold(str(tmp_path), log=None):
                pass
        assert json.loads((tmp_path / 'train.lock').read_text()) == record  # Untouched.
    assert (tmp_path / 'train.lock').read_text() == ''


def test_a_stale_record_is_reported_and_temporaries_removed(tmp_path):
    (tmp_path / 'train.lock').write_text(json.dumps({'pid': 1, 'host': 'h', 'started': 't'}))
    (tmp_path / 'checkpoints' / 'ckpt-2_temp').mkdir(parents=True)
    (tmp_path / 'checkpoints' / 'ckpt-1.index').write_text('')
    logged = []
    with workdir_lock.hold(str(tmp_path), log=logged.append):
        removed = workdir_lock.remove_stale_temporaries(str(tmp_path), log=logged.append)
    assert 'the previous trainer (pid 1 on h, started t) ended without releasing' in logged[0]
    assert removed == [str(tmp_path / 'checkpoints' / 'ckpt-2_temp')]
    assert os.listdir(tmp_path / 'checkpoints') == ['ckpt-1.index']


def test_check_writable_refuses_a_path_under_a_file(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ConfigError, match='cannot create or write there'):
        workdir_lock.check_writable(str(tmp_path / 'file' / 'run'))
    workdir_lock.check_writable(str(tmp_path / 'new' / 'run'))
    assert os.listdir(tmp_path / 'new' / 'run') == []  # The probe file is gone.
