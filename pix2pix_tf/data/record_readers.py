"""Record readers: what each source type (`sources.py`) hands the pipelines (`input_pipeline.py`).

A source's split is a tf.data.Dataset of cheap records (file paths, or encoded TFDS records)
and a `decode` function, record -> (sketch uint8 [H, W, 1], photo uint8 [H, W, 3]). Decoding
checks each image's declared size first, so a hostile header is a skipped record, never an
allocation of gigabytes. Epoch orders are pure functions of (seed, epoch), so a resumed run
sees the same stream.
"""

import tensorflow as tf

from pix2pix_tf.data import image_headers
from pix2pix_tf.data import images


def decode_checked(encoded: tf.Tensor) -> tf.Tensor:
    """Encoded image (string scalar) -> uint8 [H, W, 3] on white (`images.on_white`).

    Its header is checked first (`images.encoded_header`, image_headers' MAX_SIDE and
    MAX_PIXELS): an image declaring more is an InvalidArgumentError before decoding allocates
    it, which the pipelines skip (`ignore_errors`) as they skip a corrupt file.
    """
    header = images.encoded_header(encoded)
    fits = (tf.reduce_max(header[:2]) <= image_headers.MAX_SIDE) & (
        header[2] <= image_headers.MAX_PIXELS)
    message = (f'Image too large: over {image_headers.MAX_SIDE} pixels a side or '
               f'{image_headers.MAX_PIXELS} pixels in all; scale it down. Height, width, pixels:')
    with tf.control_dependencies([tf.debugging.Assert(fits, [message, header])]):
        return images.on_white(tf.io.decode_image(encoded, channels=0, expand_animations=False))


def decode_ab_pair(encoded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Encoded AB image (JPEG/PNG/BMP) -> (sketch uint8 [H, W/2, 1], photo uint8 [H, W/2, 3]).

    The sketch is the LEFT half, as in pix2pix's edges2shoes (the TF tutorial reads the wrong
    half); it is stored as RGB there and reduced to one gray channel here. Transparent pixels
    become white (decoding to 3 channels would drop the alpha and leave them black).
    """
    pair = decode_checked(encoded)
    half = tf.shape(pair)[1] // 2
    sketch = tf.image.rgb_to_grayscale(pair[:, :half])
    photo = pair[:, half:2 * half]
    return sketch, photo


def decode_encoded(record: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """{'sketch', 'photo'} encoded images -> (sketch uint8 [H,W,1], photo uint8 [H,W,3])."""
    sketch = tf.image.rgb_to_grayscale(decode_checked(record['sketch']))
    photo = decode_checked(record['photo'])
    return sketch, photo


def decode_paired(record: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """{'sketch', 'photo'} file paths -> (sketch uint8 [H,W,1], photo uint8 [H,W,3])."""
    return decode_encoded({key: tf.io.read_file(path) for key, path in record.items()})


def decode_ab_file(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return decode_ab_pair(tf.io.read_file(path))


def epoch_order(count: int, seed: int, epoch: tf.Tensor) -> tf.Tensor:
    """A permutation of range(count) that is a pure function of (seed, epoch)."""
    keys = tf.random.stateless_uniform([count], seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
    return tf.argsort(keys)


def ab_file_records(files: list[str]) -> tuple[tf.data.Dataset, callable]:
    """Records and decoder for AB pair files (sketch LEFT half)."""
    return tf.data.Dataset.from_tensor_slices(files), decode_ab_file


def paired_file_records(sketch_files: list[str],
                        photo_files: list[str]) -> tuple[tf.data.Dataset, callable]:
    """Records and decoder for matching lists of sketch files and photo files."""
    return tf.data.Dataset.from_tensor_slices({'sketch': sketch_files,
                                               'photo': photo_files}), decode_paired


def permuted_epochs(table, count: int, seed: int):
    """epoch -> Dataset of the rows of `table` (a list, or a dict of equal-length lists) in
    an order that is a pure function of (seed, epoch)."""
    table = ({key: tf.constant(column) for key, column in table.items()}
             if isinstance(table, dict) else tf.constant(table))

    def epoch_records(epoch):
        order = epoch_order(count, seed, epoch)
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
        shuffled = tf.gather(files, epoch_order(len(split.filepaths), seed, epoch))
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
