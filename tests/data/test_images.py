import numpy as np
import tensorflow as tf

from pix2pix_tf.data import images


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


def _line_sketch(size=32):
    """White paper, one black vertical line of one pixel at x = 10; float [S, S, 1] 0-255."""
    sketch = np.full([size, size, 1], 255.0, np.float32)
    sketch[:, 10] = 0.0
    return tf.constant(sketch)


def test_thicken_strokes_widens_dark_lines_by_the_square():
    for size, width in ((1, 1), (3, 3), (5, 5)):
        thick = images.thicken_strokes(_line_sketch(), size).numpy()
        dark_columns = np.flatnonzero(thick[16, :, 0] == 0.0)
        assert len(dark_columns) == width and 10 in dark_columns
    batched = images.thicken_strokes(_line_sketch()[tf.newaxis], 5)
    assert batched.shape == (1, 32, 32, 1)


def test_thin_strokes_takes_a_pixel_off_a_line():
    thick = images.thicken_strokes(_line_sketch(), 3)
    thin = images.thin_strokes(thick).numpy()
    assert len(np.flatnonzero(thin[16, :, 0] == 0.0)) == 2


def test_stroke_jitter_is_seeded_and_off_at_zero():
    sketch = images.thicken_strokes(_line_sketch(), 3)
    assert images.jitter_strokes(sketch, tf.constant([1, 2], tf.int64), 0.0) is sketch
    outputs = [images.jitter_strokes(sketch, tf.constant([0, seed], tf.int64), 1.0).numpy()
               for seed in range(12)]
    # Same seed, same sketch; at probability 1 every sketch changes, and in several ways.
    np.testing.assert_array_equal(
        outputs[3], images.jitter_strokes(sketch, tf.constant([0, 3], tf.int64), 1.0).numpy())
    dark = {int((output == 0.0).sum()) for output in outputs}
    assert all(not np.array_equal(output, sketch.numpy()) for output in outputs)
    assert len(dark) > 3
    assert all(set(np.unique(output)) <= {0.0, 255.0} for output in outputs)
