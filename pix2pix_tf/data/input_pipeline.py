"""tf.data pipelines: sketch/photo pairs -> batches of {'sketch', 'photo'} in [-1, 1].

Training: each epoch is a seeded permutation of the split's cheap records (file paths, or
encoded TFDS records, shuffled again in a buffer), decoded in parallel, with the paper's
jitter (resize to `load_size`, random crop to `image_size`, random horizontal flip, identical
for sketch and photo), batched and prefetched. Order and jitter are stateless functions of
(seed, position in the stream), and global batch s holds positions [s*B, (s+1)*B): a resumed
run (which starts the stream at its step), and a run on any number of workers or replicas, sees
exactly the examples of an uninterrupted single-device run. (TensorFlow 2.21 cannot checkpoint
a tf.distribute iterator, so the position, not an iterator, is what resumes.)

`--stroke_jitter` also thickens, thins or breaks the sketch's strokes (images.jitter_strokes).

Evaluation: deterministic order, no jitter, resized to `image_size`.

Where the records come from is the source's business (`sources.py`: each source type calls
the record readers in `record_readers.py`); the pipelines here take a resolved source.

With `--cache_mb` (default 1024) the training split is decoded and resized to `load_size`
once, at start-up, and kept in memory when it fits in that many MB (float32, load_size^2 x 16
bytes a pair: 256 KB at 128x128, 1.3 MB at the paper's 286); each step then only crops, flips
and jitters. The cached pairs are the very tensors the uncached pipeline computes each time, so
the stream is the same bit for bit, cached or not. A split that does not fit (the full
UT-Zappos50K decodes to about 19 GB at 286) is decoded again each epoch, as without a cache.
"""

import time

import tensorflow as tf

from pix2pix_tf.data import images
from pix2pix_tf.data import sources


def _resize(pixels: tf.Tensor, size: int) -> tf.Tensor:
    """uint8 [H, W, C] -> float32 [size, size, C] in [0, 255] (bicubic, as the reference)."""
    resized = tf.image.resize(tf.cast(pixels, tf.float32), [size, size], method='bicubic')
    return tf.clip_by_value(resized, 0.0, 255.0)


def resize_pair(sketch: tf.Tensor, photo: tf.Tensor, load_size: int) -> tf.Tensor:
    """Sketch [H, W, 1] and photo [H, W, 3] -> one float32 [load_size, load_size, 4] in
    [0, 255]: the deterministic half of the paper's jitter (and what --cache_mb keeps)."""
    return tf.concat([_resize(sketch, load_size), _resize(photo, load_size)], axis=-1)


def crop_and_flip(pair: tf.Tensor, image_size: int, flip: bool,
                  seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The random half of the jitter on a `resize_pair` result -> (sketch, photo)."""
    # One 4-channel tensor makes "same crop, same flip" true by construction.
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    pair = tf.image.stateless_random_crop(pair, [image_size, image_size, 4], seed=crop_seed)
    if flip:
        pair = tf.image.stateless_random_flip_left_right(pair, seed=flip_seed)
    return pair[..., :1], pair[..., 1:]


def paired_jitter(sketch: tf.Tensor, photo: tf.Tensor, load_size: int, image_size: int,
                  flip: bool, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The paper's random jitter, applied identically to both images.

    Args:
      sketch: [H, W, 1] and photo: [H, W, 3], uint8 or float in [0, 255].
      load_size: both are resized to load_size x load_size first.
      image_size: then randomly cropped to image_size x image_size.
      flip: then flipped left-right with probability 1/2.
      seed: int [2] stateless seed; the same seed gives the same crop and flip.

    Returns:
      (sketch, photo) float32 [image_size, image_size, 1 / 3] in [0, 255].
    """
    return crop_and_flip(resize_pair(sketch, photo, load_size), image_size, flip, seed)


def _to_example(sketch: tf.Tensor, photo: tf.Tensor) -> dict[str, tf.Tensor]:
    return {'sketch': images.to_model_range(sketch), 'photo': images.to_model_range(photo)}


def _train_stream(count: int, epoch_records, start: int) -> tf.data.Dataset:
    """Endless dataset of (position, record) from a source's `epochs` (`count` records,
    `epoch_records(epoch)` one seeded permutation of them).

    Position k of the stream is a pure function of (seed, k): epoch k // n is a fresh seeded
    permutation of the split. The stream starts at global position `start`, so resuming at a
    step only skips records inside one epoch (paths, or encoded TFDS records: never decoded).
    """
    first_epoch, offset = divmod(start, count)
    records = tf.data.Dataset.counter(first_epoch).flat_map(epoch_records).skip(offset)
    return tf.data.Dataset.zip(tf.data.Dataset.counter(start), records)


def cache_bytes(count: int, load_size: int) -> int:
    """Memory that --cache_mb needs for `count` training pairs resized to `load_size`."""
    return count * load_size * load_size * 4 * 4


def _record_key(record) -> tf.Tensor:
    """int64 key of a record (file paths, or encoded TFDS images): a 63-bit hash of its
    strings, so the in-memory cache finds a record's pair without keeping the record."""
    joined = tf.strings.join(tf.nest.flatten(record), separator='\n')
    return tf.strings.to_hash_bucket_fast(joined, 2 ** 63 - 1)


def _decoded_cache(records: tf.data.Dataset, decode, count: int, config, log) -> tuple | None:
    """(hash table record key -> row, float32 [rows, L, L, 4]) of the training split's
    `count` `records` (each once, any order) resized to load_size, or None when they do not
    fit in config.cache_mb."""
    load_size = config.resolved_load_size
    needed = cache_bytes(count, load_size)
    if needed > config.cache_mb * 2 ** 20:
        if config.cache_mb:
            log(f'Not caching the {count} training pairs in memory: they need '
                f'{needed / 2 ** 20:.0f} MB at {load_size}x{load_size}, more than '
                f'--cache_mb={config.cache_mb}; each is decoded again every epoch.')
        return None
    started = time.perf_counter()

    def load(record):
        sketch, photo = decode(record)
        return _record_key(record), resize_pair(sketch, photo, load_size)

    dataset = records.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # Same files as the uncached stream: one that fails to decode is skipped here, and its
    # missing key makes every later use of it fail and be skipped too, as without a cache.
    batches = list(dataset.ignore_errors(log_warning=True).batch(64))
    if not batches:  # Nothing decodes: left to the uncached pipeline, as without a cache.
        return None
    keys = tf.concat([batch_keys for batch_keys, _ in batches], axis=0)
    # A variable, not a tensor: a tensor captured by a tf.data function is copied into the
    # function (twice the memory). On the CPU, where tf.data runs, whatever the step uses.
    with tf.device('/cpu:0'):
        pairs = tf.Variable(tf.concat([batch_pairs for _, batch_pairs in batches], axis=0),
                            trainable=False, name='decoded_training_pairs')
    rows = len(keys)
    del batches
    # A record listed twice (equal keys) keeps its first row.
    unique_keys, index = tf.unique(keys)
    first_rows = tf.math.unsorted_segment_min(tf.range(tf.size(keys), dtype=tf.int64), index,
                                              tf.size(unique_keys))
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(unique_keys, first_rows), default_value=-1)
    log(f'Cached {rows} training pairs in memory '
        f'({needed / 2 ** 20:.0f} MB at {load_size}x{load_size}, '
        f'{time.perf_counter() - started:.1f} s; --cache_mb=0 turns this off).')
    return table, pairs


def train_dataset(config, start_step: int = 0, num_workers: int = 1, worker_index: int = 0,
                  source=None, log=None) -> tf.data.Dataset:
    """Endless jittered batches {'sketch': [b,S,S,1], 'photo': [b,S,S,3]} float32 in [-1, 1].

    Global batch `s` always holds stream positions [s * B, (s + 1) * B) with B =
    config.batch_size, whatever the number of workers and replicas: worker `worker_index` of
    `num_workers` decodes only its slice (b = B / num_workers examples). Starting at
    `start_step` is how a resumed run continues exactly where it stopped (the position is a
    function of the step, so nothing else about the pipeline needs saving). `source`: the
    resolved config.dataset (resolved here when not given). `log`: where the --cache_mb
    decision is reported (default: nowhere).
    """
    source = source or _resolve(config)
    batch_size = config.batch_size
    count, epoch_records, decode = source.epochs(config.seed, config.shuffle_buffer)
    records = _train_stream(count, epoch_records, start_step * batch_size)
    per_worker = batch_size // num_workers
    if num_workers > 1:
        low = worker_index * per_worker
        records = records.batch(batch_size, drop_remainder=True).map(
            lambda *batch: tf.nest.map_structure(lambda t: t[low:low + per_worker], batch))
        records = records.unbatch()
    seed = config.seed
    load_size, image_size, flip = config.resolved_load_size, config.image_size, config.flip
    stroke_jitter = config.stroke_jitter
    # Built from the first epoch: every record once, without listing the split again.
    cache = _decoded_cache(epoch_records(tf.constant(0, tf.int64)), decode, count, config,
                           log or (lambda message: None))

    def resized_pair(record):
        if cache is None:
            return resize_pair(*decode(record), load_size)
        table, pairs = cache
        return tf.gather(pairs, table.lookup(_record_key(record)))

    def load(position, record):
        element_seed = tf.stack([tf.cast(seed, tf.int64), position])
        sketch, photo = crop_and_flip(resized_pair(record), image_size, flip, element_seed)
        stroke_seed = tf.random.experimental.stateless_fold_in(element_seed, 1)
        return _to_example(images.jitter_strokes(sketch, stroke_seed, stroke_jitter), photo)

    dataset = records.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # A corrupt file in a user's folder is logged and skipped instead of ending a long run.
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.batch(per_worker, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def pairs_dataset(records: tf.data.Dataset, decode, image_size: int, batch_size: int,
                  max_examples: int = 0, thicken_strokes: int = 0) -> tf.data.Dataset:
    """Records -> batches {'sketch', 'photo'} resized to image_size, in order, one pass.

    `thicken_strokes` > 1 dilates each resized sketch's strokes by that square (a wide pen).
    """
    if max_examples:
        records = records.take(max_examples)

    def load(record):
        sketch, photo = decode(record)
        sketch = images.thicken_strokes(_resize(sketch, image_size), thicken_strokes)
        return _to_example(sketch, _resize(photo, image_size))

    dataset = records.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # A file whose header passed image_files.usable_files but whose data is cut short:
    # skipped, not fatal.
    dataset = dataset.ignore_errors(log_warning=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def eval_dataset(config, batch_size: int, max_examples: int = 0, split: str = 'eval',
                 source=None) -> tf.data.Dataset:
    """A split of config.dataset (default: validation) in a fixed order, resized to
    config.image_size, no jitter, one pass; the first `max_examples` pairs (0 = all).
    `source`: the resolved config.dataset (resolved here when not given)."""
    records, decode = (source or _resolve(config)).records(split)
    return pairs_dataset(records, decode, config.image_size, batch_size, max_examples)


def _resolve(config):
    return sources.resolve(config.dataset, config.data_dir)
