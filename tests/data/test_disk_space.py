"""A full disk told in one line: recognised from the OS's and TensorFlow's errors, checked before
writing. (Writing to a really full disk is tests/test_disk_full.py, on a small tmpfs.)"""

import errno

import pytest
import tensorflow as tf

from pix2pix_tf.data import disk_space


def test_is_disk_full_reads_the_os_and_tensorflow_errors():
    assert disk_space.is_disk_full(OSError(errno.ENOSPC, 'No space left on device'))
    assert disk_space.is_disk_full(OSError(errno.EDQUOT, 'Disk quota exceeded'))
    assert not disk_space.is_disk_full(OSError(errno.EACCES, 'Permission denied'))
    error = tf.errors.ResourceExhaustedError(
        None, None, '/runs/x/checkpoints/ckpt-3_temp/part-0; No space left on device')
    assert disk_space.is_disk_full(error)
    assert not disk_space.is_disk_full(tf.errors.ResourceExhaustedError(None, None, 'OOM'))


def test_check_refuses_what_does_not_fit_with_one_line_that_says_what_to_do(tmp_path):
    folder = tmp_path / 'not' / 'made' / 'yet'  # The nearest existing parent is measured.
    free = disk_space.free_bytes(str(folder))
    assert free > 0
    disk_space.check(str(folder), 0, 'a checkpoint', 'free some space')
    with pytest.raises(disk_space.DiskFullError) as raised:
        disk_space.check(str(folder), free + 10 ** 9, 'a checkpoint', 'free some space')
    message = str(raised.value)
    assert '\n' not in message and message.startswith(f'{folder}: no space left on its disk')
    assert 'for a checkpoint (needs about' in message and message.endswith('free some space.')


def test_error_message_names_the_file_being_written(tmp_path):
    error = tf.errors.ResourceExhaustedError(
        None, None, f'{tmp_path}/ckpt-3_temp/part-0; No space left on device')
    message = disk_space.error_message(error, '/elsewhere', 5 * 10 ** 6, 'then resume')
    assert message.startswith(f'{tmp_path}/ckpt-3_temp: no space left on its disk for writing '
                              f'part-0 (needs about 5.0 MB')
    os_error = OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'config.json'))
    assert 'for writing config.json' in disk_space.error_message(os_error, '/x', 1, 'resume')
