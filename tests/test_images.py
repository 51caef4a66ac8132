import numpy as np
import tensorflow as tf

from pix2pix_tf import images


def test_uint8_round_trip_is_exact():
    pixels = tf.range(256, dtype=tf.int32)
    pixels = tf.cast(pixels, tf.uint8)
    model_range = images.to_model_range(pixels)
    assert float(tf.reduce_min(model_range)) == -1.0 and float(tf.reduce_max(model_range)) == 1.0
    np.testing.assert_array_equal(images.to_uint8(model_range), pixels)


def test_to_uint8_clips():
    np.testing.assert_array_equal(images.to_uint8(tf.constant([-3.0, 3.0])), [0, 255])


def test_sample_grid_rows_are_sketch_generated_photo():
    sketch = -tf.ones([2, 4, 4, 1])  # Black.
    generated = tf.zeros([2, 4, 4, 3])  # Mid gray.
    photo = tf.ones([2, 4, 4, 3])  # White.
    grid = images.sample_grid(sketch, generated, photo).numpy()
    assert grid.shape == (1, 8, 12, 3) and grid.dtype == np.uint8
    assert (grid[0, :, :4] == 0).all()
    assert (grid[0, :, 4:8] == 128).all()
    assert (grid[0, :, 8:] == 255).all()
