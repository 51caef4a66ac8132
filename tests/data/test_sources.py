"""Data sources: resolving --dataset, and each source type reading its own splits."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from conftest import SAMPLE

from pix2pix_tf.config import ConfigError
from pix2pix_tf.data import sources


def test_the_sample_is_an_ab_folder_that_reads_its_splits_in_order():
    source = sources.resolve(str(SAMPLE))
    assert isinstance(source, sources.AbFolder)
    files, skipped = source.usable('train')
    assert len(files) == 90 and skipped == [] and files == sorted(files)
    records, decode = source.records('eval')
    paths = [path.decode() for path in records.as_numpy_iterator()]
    assert paths == source.files('eval') and len(paths) == 10
    sketch, photo = decode(tf.constant(paths[0]))
    assert (sketch.shape, photo.shape) == ((256, 256, 1), (256, 256, 3))


def test_training_epochs_are_seeded_permutations_of_the_train_split():
    source = sources.resolve(str(SAMPLE))
    count, epoch_records, _ = source.epochs(seed=3, shuffle_buffer=0)
    first = [path for path in epoch_records(tf.constant(0, tf.int64)).as_numpy_iterator()]
    again = [path for path in epoch_records(tf.constant(0, tf.int64)).as_numpy_iterator()]
    second = [path for path in epoch_records(tf.constant(1, tf.int64)).as_numpy_iterator()]
    assert count == 90 and first == again and first != second
    assert sorted(first) == sorted(second) == sorted(p.encode() for p in source.files('train'))


def _paired(root, names, photo_names=None):
    for split in ('train', 'val'):
        for kind, kind_names in (('sketches', names), ('photos', photo_names or names)):
            folder = root / split / kind
            folder.mkdir(parents=True)
            for name in kind_names:
                cv2.imwrite(str(folder / name), np.full((40, 40, 3), 200, np.uint8))


def test_paired_folders_match_by_name_and_read_dicts(tmp_path):
    _paired(tmp_path, ['a.png', 'b.jpg'], ['a.jpg', 'b.png'])  # Extensions may differ.
    source = sources.resolve(str(tmp_path))
    assert isinstance(source, sources.PairedFolders)
    (sketches, photos), skipped = source.usable('eval')
    assert [os.path.basename(p) for p in sketches + photos] == ['a.png', 'b.jpg', 'a.jpg',
                                                                 'b.png'] and not skipped
    records, decode = source.records('eval')
    record = next(iter(records))
    sketch, photo = decode(record)
    assert (sketch.shape, photo.shape) == ((40, 40, 1), (40, 40, 3))
    count, _, _ = source.epochs(seed=0, shuffle_buffer=0)
    assert count == 2


@pytest.mark.parametrize('make, message', [
    (lambda root: None, 'has no train/ subfolder'),
    (lambda root: _paired(root, ['a.png'], ['b.png']), 'have no partner in the other folder'),
    (lambda root: [(root / split).mkdir() for split in ('train', 'val')], 'holds no'),
])
def test_unusable_folders_fail_with_one_line(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(ConfigError, match=message):
        sources.resolve(str(tmp_path))


def test_usable_names_bad_files_and_refuses_an_all_bad_or_missing_split(tmp_path):
    for split in ('train', 'val'):
        (tmp_path / split).mkdir()
        cv2.imwrite(str(tmp_path / split / 'good.png'), np.full((32, 64, 3), 255, np.uint8))
        (tmp_path / split / 'bad.jpg').write_text('not an image')
    source = sources.resolve(str(tmp_path))
    files, skipped = source.usable('train')
    assert files == [str(tmp_path / 'train' / 'good.png')]
    assert skipped == [(str(tmp_path / 'train' / 'bad.jpg'), 'not a readable image (unknown '
                                                             'format)')]
    os.remove(tmp_path / 'val' / 'good.png')
    with pytest.raises(ConfigError, match=r'val: no usable images: 1 file\(s\) skipped'):
        source.usable('eval')
    with pytest.raises(ConfigError, match=r'test: no such folder'):  # evaluate.py --split=test
        source.usable('test')
    (tmp_path / 'test').mkdir()
    with pytest.raises(ConfigError, match=r'test holds no .png/.jpg'):
        source.records('test')
