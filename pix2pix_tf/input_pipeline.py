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
the record readers at the end of this module); the pipelines here take a resolved source.

Nothing is cached in memory: the full UT-Zappos50K set decodes to about 19 GB.
"""

import tensorflow as tf

from pix2pix_tf import images
from pix2pix_tf import sources


def decode_ab_pair(encoded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Encoded AB image (JPEG/PNG/BMP) -> (sketch uint8 [H, W/2, 1], photo uint8 [H, W/2, 3]).

    The sketch is the LEFT half, as in pix2pix's edges2shoes (the TF tutorial reads the wrong
    half); it is stored as RGB there and reduced to one gray channel here. Transparent pixels
    become white (decoding to 3 channels would drop the alpha and leave them black).
    """
    pair = images.on_white(tf.io.decode_image(encoded, channels=0, expand_animations=False))
    half = tf.shape(pair)[1] // 2
    sketch = tf.image.rgb_to_grayscale(pair[:, :half])
    photo = pair[:, half:2 * half]
    return sketch, photo


def _resize(pixels: tf.Tensor, size: int) -> tf.Tensor:
    """uint8 [H, W, C] -> float32 [size, size, C] in [0, 255] (bicubic, as the reference)."""
    resized = tf.image.resize(tf.cast(pixels, tf.float32), [size, size], method='bicubic')
    return tf.clip_by_value(resized, 0.0, 255.0)


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
    # Stacking into one 4-channel tensor makes "same crop, same flip" true by construction.
    pair = tf.concat([_resize(sketch, load_size), _resize(photo, load_size)], axis=-1)
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    pair = tf.image.stateless_random_crop(pair, [image_size, image_size, 4], seed=crop_seed)
    if flip:
        pair = tf.image.stateless_random_flip_left_right(pair, seed=flip_seed)
    return pair[..., :1], pair[..., 1:]


def _to_example(sketch: tf.Tensor, photo: tf.Tensor) -> dict[str, tf.Tensor]:
    return {'sketch': images.to_model_range(sketch), 'photo': images.to_model_range(photo)}


def decode_encoded(record: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """{'sketch', 'photo'} encoded images -> (sketch uint8 [H,W,1], photo uint8 [H,W,3])."""
    sketch = tf.image.rgb_to_grayscale(images.on_white(tf.io.decode_image(
        record['sketch'], channels=0, expand_animations=False)))
    photo = images.on_white(tf.io.decode_image(record['photo'], channels=0,
                                               expand_animations=False))
    return sketch, photo


def decode_paired(record: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """{'sketch', 'photo'} file paths -> (sketch uint8 [H,W,1], photo uint8 [H,W,3])."""
    return decode_encoded({key: tf.io.read_file(path) for key, path in record.items()})


def decode_ab_file(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return decode_ab_pair(tf.io.read_file(path))


def _epoch_order(count: int, seed: int, epoch: tf.Tensor) -> tf.Tensor:
    """A permutation of range(count) that is a pure function of (seed, epoch)."""
    keys = tf.random.stateless_uniform([count], seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
    return tf.argsort(keys)


def _train_records(source, config, start: int) -> tuple[tf.data.Dataset, callable]:
    """(endless dataset of (position, record), decode(record) -> (sketch, photo) uint8).

    Position k of the stream is a pure function of (seed, k): epoch k // n is a fresh seeded
    permutation of the split. The stream starts at global position `start`, so resuming at a
    step only skips records inside one epoch (paths, or encoded TFDS records: never decoded).
    """
    count, epoch_records, decode = source.epochs(config.seed, config.shuffle_buffer)
    first_epoch, offset = divmod(start, count)
    records = tf.data.Dataset.counter(first_epoch).flat_map(epoch_records).skip(offset)
    return tf.data.Dataset.zip(tf.data.Dataset.counter(start), records), decode


def train_dataset(config, start_step: int = 0, num_workers: int = 1, worker_index: int = 0,
                  source=None) -> tf.data.Dataset:
    """Endless jittered batches {'sketch': [b,S,S,1], 'photo': [b,S,S,3]} float32 in [-1, 1].

    Global batch `s` always holds stream positions [s * B, (s + 1) * B) with B =
    config.batch_size, whatever the number of workers and replicas: worker `worker_index` of
    `num_workers` decodes only its slice (b = B / num_workers examples). Starting at
    `start_step` is how a resumed run continues exactly where it stopped (the position is a
    function of the step, so nothing else about the pipeline needs saving). `source`: the
    resolved config.dataset (resolved here when not given).
    """
    source = source or _resolve(config)
    batch_size = config.batch_size
    records, decode = _train_records(source, config, start_step * batch_size)
    per_worker = batch_size // num_workers
    if num_workers > 1:
        low = worker_index * per_worker
        records = records.batch(batch_size, drop_remainder=True).map(
            lambda *batch: tf.nest.map_structure(lambda t: t[low:low + per_worker], batch))
        records = records.unbatch()
    seed = config.seed
    load_size, image_size, flip = config.resolved_load_size, config.image_size, config.flip
    stroke_jitter = config.stroke_jitter

    def load(position, record):
        sketch, photo = decode(record)
        element_seed = tf.stack([tf.cast(seed, tf.int64), position])
        sketch, photo = paired_jitter(sketch, photo, load_size, image_size, flip, element_seed)
        stroke_seed = tf.random.experimental.stateless_fold_in(element_seed, 1)
        return _to_example(images.jitter_strokes(sketch, stroke_seed, stroke_jitter), photo)

    dataset = records.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # A corrupt file in a user's folder is logged and skipped instead of ending a long run.
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.batch(per_worker, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def ab_file_records(files: list[str]) -> tuple[tf.data.Dataset, callable]:
    """Records and decoder for AB pair files (sketch LEFT half)."""
    return tf.data.Dataset.from_tensor_slices(files), decode_ab_file


def paired_file_records(sketch_files: list[str],
                        photo_files: list[str]) -> tuple[tf.data.Dataset, callable]:
    """Records and decoder for matching lists of sketch files and photo files."""
    return tf.data.Dataset.from_tensor_slices({'sketch': sketch_files,
                                               'photo': photo_files}), decode_paired


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


# Record readers, called by the source types in sources.py.

def permuted_epochs(table, count: int, seed: int):
    """epoch -> Dataset of the rows of `table` (a list, or a dict of equal-length lists) in
    an order that is a pure function of (seed, epoch)."""
    table = ({key: tf.constant(column) for key, column in table.items()}
             if isinstance(table, dict) else tf.constant(table))

    def epoch_records(epoch):
        order = _epoch_order(count, seed, epoch)
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda column: tf.gather(column, order), table))

    return epoch_records


def _parse_encoded(serialized):
    features = {key: tf.io.FixedLenFeature([], tf.string) for key in ('sketch', 'photo')}
    return tf.io.parse_single_example(serialized, features)


def tfds_epochs(directory: str, split_name: str, seed: int, shuffle_buffer: int):
    """(count, epoch -> Dataset of encoded {'sketch', 'photo'}, decode) of a prepared TFDS
    split: its record files in a seeded order per epoch, interleaved, then mixed in a
    `shuffle_buffer` (0 = off)."""
    import tensorflow_datasets as tfds  # Imported only when a TFDS dataset is used.

    split = tfds.builder_from_directory(directory).info.splits[split_name]
    files = tf.constant([str(path) for path in split.filepaths])

    def epoch_records(epoch):
        shuffled = tf.gather(files, _epoch_order(len(split.filepaths), seed, epoch))
        records = tf.data.Dataset.from_tensor_slices(shuffled).interleave(
            tf.data.TFRecordDataset, cycle_length=min(16, len(split.filepaths)),
            block_length=1, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if shuffle_buffer:  # Mixes records of the interleaved files.
            records = records.shuffle(shuffle_buffer, seed=seed)
        return records.map(_parse_encoded)

    return split.num_examples, epoch_records, decode_encoded


def tfds_records(directory: str, split_name: str) -> tuple[tf.data.Dataset, callable]:
    """Records (encoded {'sketch', 'photo'}, in order) and decoder of a prepared TFDS split."""
    import tensorflow_datasets as tfds

    records = tfds.builder_from_directory(directory).as_dataset(
        split=split_name, shuffle_files=False,
        decoders={'sketch': tfds.decode.SkipDecoding(), 'photo': tfds.decode.SkipDecoding()})
    return records.map(lambda example: {'sketch': example['sketch'],
                                        'photo': example['photo']}), decode_encoded
