"""tf.data pipelines: sketch/photo pairs -> batches of {'sketch', 'photo'} in [-1, 1].

Training: shuffle the (cheap) file list, decode in parallel, paired jitter (resize to
`load_size`, random crop to `image_size`, random horizontal flip, identical for sketch and
photo), batch, prefetch. The jitter is drawn with stateless ops seeded by (seed, element index),
so the stream of examples is a pure function of the seed, and the iterator (which holds the
shuffle order and position) is saved in every checkpoint: a resumed run sees exactly the
examples an uninterrupted one would.

Evaluation: deterministic order, no jitter, resized to `image_size`.

Nothing is cached in memory: the full UT-Zappos50K set decodes to about 19 GB.
"""

import tensorflow as tf

from pix2pix_tf import images
from pix2pix_tf import sources


def decode_ab_pair(encoded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Encoded AB image (JPEG/PNG/BMP) -> (sketch uint8 [H, W/2, 1], photo uint8 [H, W/2, 3]).

    The sketch is the LEFT half, as in pix2pix's edges2shoes (the TF tutorial reads the wrong
    half); it is stored as RGB there and reduced to one gray channel here.
    """
    pair = tf.io.decode_image(encoded, channels=3, expand_animations=False)
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


def _decode_encoded(record: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """{'sketch', 'photo'} encoded images -> (sketch uint8 [H,W,1], photo uint8 [H,W,3])."""
    sketch = tf.io.decode_image(record['sketch'], channels=1, expand_animations=False)
    photo = tf.io.decode_image(record['photo'], channels=3, expand_animations=False)
    return sketch, photo


def _decode_paired(record: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """{'sketch', 'photo'} file paths -> (sketch uint8 [H,W,1], photo uint8 [H,W,3])."""
    return _decode_encoded({key: tf.io.read_file(path) for key, path in record.items()})


def _decode_ab_file(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return decode_ab_pair(tf.io.read_file(path))


def _records(source, split: str, config, shuffle: bool):
    """(dataset of undecoded records, decode(record) -> (sketch, photo) uint8) of a split.

    Records are what is cheap to shuffle and to keep in a checkpointed shuffle buffer: file
    paths, or encoded TFDS images (the TFDS record files are shuffled too).
    """
    if isinstance(source, sources.TfdsDataset):
        import tensorflow_datasets as tfds  # Imported only when a TFDS dataset is used.

        builder = tfds.builder_from_directory(source.directory)
        read_config = tfds.ReadConfig(shuffle_seed=config.seed, try_autocache=False)
        records = builder.as_dataset(
            split=sources.TFDS_SPLITS[split], shuffle_files=shuffle, read_config=read_config,
            decoders={'sketch': tfds.decode.SkipDecoding(), 'photo': tfds.decode.SkipDecoding()})
        records = records.map(lambda example: {'sketch': example['sketch'],
                                               'photo': example['photo']})
        if shuffle and config.shuffle_buffer:
            records = records.shuffle(config.shuffle_buffer, seed=config.seed,
                                      reshuffle_each_iteration=True)
        return records, _decode_encoded
    if isinstance(source, sources.PairedFolders):
        sketch_paths, photo_paths = source.pairs(split)
        records = tf.data.Dataset.from_tensor_slices({'sketch': sketch_paths,
                                                      'photo': photo_paths})
        count, decode = len(sketch_paths), _decode_paired
    else:
        files = source.files(split)
        records = tf.data.Dataset.from_tensor_slices(files)
        count, decode = len(files), _decode_ab_file
    if shuffle:
        # Shuffling paths (not decoded images) keeps the buffer, and the iterator checkpoint,
        # small; the whole list fits.
        records = records.shuffle(count, seed=config.seed, reshuffle_each_iteration=True)
    return records, decode


def train_dataset(config, batch_size: int | None = None) -> tf.data.Dataset:
    """Endless, shuffled, jittered batches {'sketch': [B,S,S,1], 'photo': [B,S,S,3]} float32.

    `batch_size` defaults to `config.batch_size` (the global batch).
    """
    source = sources.resolve(config.dataset, config.data_dir)
    records, decode = _records(source, 'train', config, shuffle=True)
    seed = config.seed
    load_size, image_size, flip = config.resolved_load_size, config.image_size, config.flip

    def load(index, record):
        sketch, photo = decode(record)
        element_seed = tf.stack([tf.cast(seed, tf.int64), index])
        return _to_example(*paired_jitter(sketch, photo, load_size, image_size, flip,
                                          element_seed))

    dataset = records.repeat().enumerate()
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # A corrupt file in a user's folder is logged and skipped instead of ending a long run.
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.batch(batch_size or config.batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def eval_dataset(config, batch_size: int, max_examples: int = 0) -> tf.data.Dataset:
    """The validation split in a fixed order, resized to image_size, no jitter; one pass.

    Args:
      config: a `Config`.
      batch_size: examples per batch (the last batch may be smaller).
      max_examples: keep the first this many pairs (0 = all).
    """
    source = sources.resolve(config.dataset, config.data_dir)
    records, decode = _records(source, 'eval', config, shuffle=False)
    if max_examples:
        records = records.take(max_examples)
    size = config.image_size

    def load(record):
        sketch, photo = decode(record)
        return _to_example(_resize(sketch, size), _resize(photo, size))

    dataset = records.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
