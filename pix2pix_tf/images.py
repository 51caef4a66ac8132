"""Pixel conventions and image grids: the one place that converts uint8 <-> [-1, 1].

Models see float32 in [-1, 1] (sketch: 1 channel, photo: 3 channels); files, summaries and
served images are uint8 in [0, 255]. Training, evaluation and serving all convert here.
`encoded_size` reads an encoded image's size from its header, so the serving signature can
refuse an oversized image before decoding it.
"""

import tensorflow as tf


def to_model_range(pixels: tf.Tensor) -> tf.Tensor:
    """uint8 (or float) pixels in [0, 255] -> float32 in [-1, 1], any shape."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """Float images in [-1, 1] -> uint8 in [0, 255] (rounded, clipped), any shape."""
    pixels = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(pixels, 0.0, 255.0), tf.uint8)


def on_white(image: tf.Tensor) -> tf.Tensor:
    """Decoded uint8 [H, W, C], C in 1..4 -> uint8 [H, W, 3]; alpha composited on white paper."""
    channels = tf.shape(image)[-1]
    has_alpha = tf.equal(channels % 2, 0)
    pixels = tf.cast(image, tf.float32)
    alpha = tf.cond(has_alpha, lambda: pixels[..., -1:] / 255.0,
                    lambda: tf.ones_like(pixels[..., :1]))
    rgb = tf.cond(channels >= 3, lambda: pixels[..., :3],
                  lambda: tf.tile(pixels[..., :1], [1, 1, 3]))
    composited = tf.cast(tf.round(rgb * alpha + 255.0 * (1.0 - alpha)), tf.uint8)
    return tf.ensure_shape(composited, [None, None, 3])


def to_rgb(images: tf.Tensor) -> tf.Tensor:
    """[..., H, W, 1] grayscale -> [..., H, W, 3] by repeating the channel; 3 channels pass."""
    if images.shape[-1] == 1:
        return tf.repeat(images, 3, axis=-1)
    return images


def sample_grid(sketch: tf.Tensor, generated_photo: tf.Tensor, photo: tf.Tensor) -> tf.Tensor:
    """One image with a row per example: sketch | generated photo | photo.

    Args:
      sketch: float [N, H, W, 1] in [-1, 1].
      generated_photo: float [N, H, W, 3] in [-1, 1].
      photo: float [N, H, W, 3] in [-1, 1].

    Returns:
      uint8 [1, N * H, 3 * W, 3], ready for `tf.summary.image` or a PNG encoder.
    """
    rows = tf.concat([to_rgb(to_uint8(sketch)), to_uint8(generated_photo), to_uint8(photo)],
                     axis=2)  # [N, H, 3W, 3]
    height_stack = tf.reshape(rows, [-1, rows.shape[2], 3])  # Rows stacked vertically.
    return height_stack[tf.newaxis]


def _header_bytes(encoded: tf.Tensor, offset: int, length: int) -> tf.Tensor:
    """Bytes [offset, offset + length) of a string scalar as int64 [length]."""
    return tf.cast(tf.io.decode_raw(tf.strings.substr(encoded, offset, length), tf.uint8),
                   tf.int64)


def _big_endian(data: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(data * tf.constant([2 ** 24, 2 ** 16, 2 ** 8, 1], tf.int64))


def _little_endian(data: tf.Tensor) -> tf.Tensor:
    weights = tf.constant([1, 2 ** 8, 2 ** 16, 2 ** 24], tf.int64)[:tf.shape(data)[0]]
    value = tf.reduce_sum(data * weights)
    # BMP heights are signed (negative = top-down rows).
    return tf.where(value >= 2 ** 31, 2 ** 32 - value, value)


def encoded_size(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width) int64 [2] of an encoded image, read from its header without decoding it.

    JPEG (`tf.image.extract_jpeg_shape` stops at the frame header), PNG (IHDR), GIF (logical
    screen) and BMP (DIB header). Other or truncated data gives (0, 0): `decode_image` then
    rejects it with its own message, or decodes a format read here by no header (WebP, JPEG XL),
    whose size is then checked after decoding, before any further work.
    """
    length = tf.strings.length(encoded)
    magic = tf.strings.substr(encoded, 0, 8)

    def jpeg():
        return tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], tf.int64)

    def png():
        return tf.stack([_big_endian(_header_bytes(encoded, 20, 4)),
                         _big_endian(_header_bytes(encoded, 16, 4))])

    def gif():
        return tf.stack([_little_endian(_header_bytes(encoded, 8, 2)),
                         _little_endian(_header_bytes(encoded, 6, 2))])

    def bmp():
        return tf.stack([_little_endian(_header_bytes(encoded, 22, 4)),
                         _little_endian(_header_bytes(encoded, 18, 4))])

    def unknown():
        return tf.zeros([2], tf.int64)

    long_enough = length >= 26
    index = tf.case([
        (long_enough & tf.equal(tf.strings.substr(magic, 0, 3), b'\xff\xd8\xff'),
         lambda: tf.constant(0)),
        (long_enough & tf.equal(magic, b'\x89PNG\r\n\x1a\n'), lambda: tf.constant(1)),
        (long_enough & tf.equal(tf.strings.substr(magic, 0, 4), b'GIF8'), lambda: tf.constant(2)),
        (long_enough & tf.equal(tf.strings.substr(magic, 0, 2), b'BM'), lambda: tf.constant(3)),
    ], default=lambda: tf.constant(4))
    return tf.switch_case(index, [jpeg, png, gif, bmp, unknown])
