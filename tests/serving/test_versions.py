"""Numbered version folders: the next number, atomic writes, --overwrite, killed exports (a
SavedModel written this way and read by TF Serving's loader: tests/serving/test_signatures.py)."""

import os
import stat

import pytest

from pix2pix_tf.serving import versions


def write_file(text):
    def write(folder):
        with open(os.path.join(folder, 'model.txt'), 'w') as file:
            file.write(text)
    return write


def test_versions_count_up_and_an_existing_one_needs_overwrite(tmp_path):
    export_dir = str(tmp_path / 'models')
    assert versions.numeric_versions(export_dir) == []
    first = versions.write_version(export_dir, None, False, write_file('a'))
    second = versions.write_version(export_dir, None, False, write_file('b'))
    assert (first, second) == (os.path.join(export_dir, '1'), os.path.join(export_dir, '2'))
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o777 & ~_umask()  # Not mkdtemp's 0700.
    with pytest.raises(versions.ExportError, match='2 already exists; pass --overwrite .* '
                                                   'or omit --version to write version 3'):
        versions.write_version(export_dir, 2, False, write_file('c'))
    versions.write_version(export_dir, 2, True, write_file('c'))
    assert open(os.path.join(second, 'model.txt')).read() == 'c'
    assert sorted(os.listdir(export_dir)) == ['1', '2']  # No temporary folder left.


def test_a_failed_write_leaves_no_version_and_a_dead_exports_folder_is_removed(tmp_path):
    export_dir = tmp_path / 'models'
    stale = export_dir / f'{versions.TEMP_PREFIX}999999999-x'  # A pid no process has.
    stale.mkdir(parents=True)

    def fail(folder):
        write_file('half')(folder)
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        versions.write_version(str(export_dir), None, False, fail)
    assert os.listdir(export_dir) == []  # Neither a version nor the stale folder.


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
