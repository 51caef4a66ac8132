"""Pixel conventions and image grids: the one place that converts uint8 <-> [-1, 1].

Models see float32 in [-1, 1] (sketch: 1 channel, photo: 3 channels); files, summaries and
served images are uint8 in [0, 255]. Training, evaluation and serving all convert here.
"""

import tensorflow as tf


def to_model_range(pixels: tf.Tensor) -> tf.Tensor:
    """uint8 (or float) pixels in [0, 255] -> float32 in [-1, 1], any shape."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """Float images in [-1, 1] -> uint8 in [0, 255] (rounded, clipped), any shape."""
    pixels = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(pixels, 0.0, 255.0), tf.uint8)


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
