"""The tf.data pipelines: paired jitter, resumable training streams, the decoded cache,
evaluation order."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import input_pipeline
from pix2pix_tf.data import record_readers

from conftest import SAMPLE
from conftest import encoded_ab


def _marked_pair(size=40):
    """A sketch and photo carrying the same coordinate pattern, to check they move together."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing='ij')
    pattern = ((rows * 7 + cols * 3) % 256).astype(np.float32)
    sketch = pattern[..., None]
    photo = np.stack([pattern, pattern, pattern], axis=-1)
    return tf.constant(sketch), tf.constant(photo)


def _assert_paired(sketch, photo):
    np.testing.assert_allclose(sketch[..., 0], photo[..., 0], atol=1e-3)
    np.testing.assert_allclose(sketch[..., 0], photo[..., 2], atol=1e-3)


def test_paired_jitter_crops_and_flips_together_eagerly():
    sketch, photo = _marked_pair()
    crops, flipped = set(), 0
    for index in range(20):
        out_sketch, out_photo = input_pipeline.paired_jitter(
            sketch, photo, load_size=40, image_size=32, flip=True,
            seed=tf.constant([0, index], tf.int64))
        assert out_sketch.shape == (32, 32, 1) and out_photo.shape == (32, 32, 3)
        _assert_paired(out_sketch, out_photo)
        crops.add(float(out_sketch[0, 0, 0]))
        flipped += float(out_sketch[0, 0, 0]) > float(out_sketch[0, -1, 0])
    assert len(crops) > 3  # Different crops...
    assert 0 < flipped < 20  # ...and some flips (the pattern grows left to right).


def test_paired_jitter_is_a_function_of_the_seed():
    sketch, photo = _marked_pair()
    first = input_pipeline.paired_jitter(sketch, photo, 40, 32, True, tf.constant([3, 9],
                                                                                    tf.int64))
    again = input_pipeline.paired_jitter(sketch, photo, 40, 32, True, tf.constant([3, 9],
                                                                                    tf.int64))
    np.testing.assert_array_equal(first[0], again[0])


def test_paired_jitter_inside_tf_data():
    sketch, photo = _marked_pair()
    dataset = tf.data.Dataset.range(16).map(
        lambda index: input_pipeline.paired_jitter(sketch, photo, 40, 32, True,
                                                   tf.stack([tf.constant(1, tf.int64), index])),
        num_parallel_calls=4)
    for out_sketch, out_photo in dataset:
        _assert_paired(out_sketch, out_photo)


def test_train_dataset_shapes_ranges_and_determinism(make_config):
    config = make_config(batch_size=3)
    batch = next(iter(input_pipeline.train_dataset(config)))
    assert batch['sketch'].shape == (3, 64, 64, 1) and batch['photo'].shape == (3, 64, 64, 3)
    for image in batch.values():
        assert image.dtype == tf.float32
        assert -1.0 <= float(tf.reduce_min(image)) and float(tf.reduce_max(image)) <= 1.0
    again = next(iter(input_pipeline.train_dataset(config)))
    np.testing.assert_array_equal(batch['photo'], again['photo'])
    other_seed = next(iter(input_pipeline.train_dataset(make_config(batch_size=3, seed=1))))
    assert not np.array_equal(batch['photo'], other_seed['photo'])


def test_eval_dataset_is_ordered_and_unjittered(make_config):
    config = make_config()
    first = [batch['photo'].numpy() for batch in input_pipeline.eval_dataset(config, 3, 5)]
    again = [batch['photo'].numpy() for batch in input_pipeline.eval_dataset(config, 3, 5)]
    assert [len(batch) for batch in first] == [3, 2]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_corrupt_training_file_is_skipped(make_config, tmp_path):
    for split in ('train', 'val'):
        (tmp_path / split).mkdir()
        for index in range(2):
            (tmp_path / split / f'{index}.png').write_bytes(encoded_ab(64, 128).numpy())
    (tmp_path / 'train' / 'broken.jpg').write_bytes(b'not a jpeg')
    batch = next(iter(input_pipeline.train_dataset(make_config(dataset=str(tmp_path),
                                                                batch_size=4))))
    assert batch['photo'].shape[0] == 4


def test_missing_or_empty_dataset_folder(tmp_path, make_config):
    with pytest.raises(config_lib.ConfigError, match='no such folder'):
        input_pipeline.train_dataset(make_config(dataset=str(tmp_path / 'nope')))
    (tmp_path / 'train').mkdir()
    (tmp_path / 'val').mkdir()
    with pytest.raises(config_lib.ConfigError, match='holds no'):
        input_pipeline.train_dataset(make_config(dataset=str(tmp_path)))


def test_stroke_jitter_and_thickened_evaluation_darken_only_the_sketch(make_config):
    plain = next(iter(input_pipeline.train_dataset(make_config(batch_size=8))))
    jittered = next(iter(input_pipeline.train_dataset(make_config(batch_size=8,
                                                                  stroke_jitter=1.0))))
    # Same pairs, same crops: the photos are untouched, the sketches changed.
    np.testing.assert_array_equal(plain['photo'], jittered['photo'])
    assert not np.array_equal(plain['sketch'], jittered['sketch'])
    records = record_readers.ab_file_records(sorted(str(p) for p in (SAMPLE / 'val').iterdir()))
    thin = next(iter(input_pipeline.pairs_dataset(*records, 64, 4)))
    thick = next(iter(input_pipeline.pairs_dataset(*records, 64, 4, thicken_strokes=5)))
    np.testing.assert_array_equal(thin['photo'], thick['photo'])
    assert float(tf.reduce_mean(thick['sketch'])) < float(tf.reduce_mean(thin['sketch'])) - 0.1


def assert_cache_keeps_the_stream(config, batches=12, start_step=0):
    """The default --cache_mb and --cache_mb=0 give the same batches, bit for bit; returns
    what the cached pipeline logged."""
    logged = []
    cached = input_pipeline.train_dataset(config, start_step, log=logged.append)
    uncached = input_pipeline.train_dataset(dataclasses.replace(config, cache_mb=0), start_step)
    for first, second in zip(cached.take(batches), uncached.take(batches)):
        for key in ('sketch', 'photo'):
            np.testing.assert_array_equal(first[key], second[key])
    return logged


def test_cached_training_stream_is_the_uncached_one(make_config):
    # The sample's 90 training pairs at batch 8 over 30 batches: epochs change on the way, and
    # every random part is on (resize-and-crop jitter, flips, stroke jitter).
    config = make_config(batch_size=8, stroke_jitter=0.5)
    logged = assert_cache_keeps_the_stream(config, batches=30, start_step=7)
    count = len(list((SAMPLE / 'train').glob('*.jpg')))
    assert logged == [f'Cached {count} training pairs in memory '
                      f'({input_pipeline.cache_bytes(count, 72) / 2 ** 20:.0f} MB at 72x72, '
                      + logged[0].split(' at 72x72, ')[1]]


def test_a_split_over_the_cache_budget_is_decoded_each_time(make_config):
    config = make_config(batch_size=4, cache_mb=1)  # 90 pairs at 72x72 need 7 MB.
    logged = assert_cache_keeps_the_stream(config, batches=3)
    assert len(logged) == 1 and logged[0].startswith('Not caching the 90 training pairs')
    assert '--cache_mb=1' in logged[0]
    assert assert_cache_keeps_the_stream(make_config(cache_mb=0), batches=1) == []


def test_cache_skips_a_file_that_fails_to_decode_as_the_uncached_pipeline(make_config,
                                                                           tmp_path):
    for split in ('train', 'val'):
        (tmp_path / split).mkdir()
        for path in sorted((SAMPLE / split).glob('*.jpg'))[:5]:
            (tmp_path / split / path.name).write_bytes(path.read_bytes())
    # A readable JPEG header whose data is cut short: listed as usable, fails to decode.
    real = next((SAMPLE / 'train').glob('*.jpg')).read_bytes()
    (tmp_path / 'train' / 'truncated.jpg').write_bytes(real[:len(real) // 3])
    config = make_config(dataset=str(tmp_path), batch_size=2)
    logged = assert_cache_keeps_the_stream(config, batches=8)
    assert logged[0].startswith('Cached 5 training pairs')
