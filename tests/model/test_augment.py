"""Differentiable augmentation (--diff_augment): one transform for a pair's sketch and photo,
a fresh draw per pair and per seed, gradients that flow, and each policy doing what it says."""

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.model import augment

ALL = ('color', 'softcolor', 'lightness', 'translation', 'cutout')


def pattern_pair(count=4, size=32):
    """A sketch and a photo whose three channels all equal the sketch: a moved pixel shows."""
    values = tf.random.stateless_uniform([count, size, size, 1], [1, 2], -1, 1)
    return values, tf.concat([values] * 3, axis=-1)


@pytest.mark.parametrize('policy', [('translation',), ('cutout',), ('translation', 'cutout')])
def test_geometry_moves_and_hides_the_same_pixels_of_sketch_and_photo(policy):
    sketch, photo = pattern_pair()
    new_sketch, new_photo = augment.augment_pair(sketch, photo, policy, tf.constant([3, 4]))
    assert new_sketch.shape == sketch.shape and new_photo.shape == photo.shape
    assert not np.allclose(new_sketch, sketch)  # Something happened...
    for channel in range(3):  # ...to both alike.
        np.testing.assert_array_equal(new_photo[..., channel], new_sketch[..., 0])


def test_translation_brings_white_paper_in_at_the_border():
    sketch = -tf.ones([8, 32, 32, 1])
    shifted, _ = augment.augment_pair(sketch, -tf.ones([8, 32, 32, 3]), ('translation',),
                                      tf.constant([5, 6]))
    white = (shifted.numpy() == 1).reshape(8, -1).mean(axis=1)
    assert white.max() > 0 and white.max() <= 1 - (1 - 1 / 8) ** 2 + 1e-6  # At most 4 px a side.
    assert set(np.unique(shifted)) <= {-1.0, 1.0}


def test_cutout_hides_a_square_of_half_the_side():
    sketch, photo = tf.ones([4, 32, 32, 1]), tf.ones([4, 32, 32, 3])
    cut, _ = augment.augment_pair(sketch, photo, ('cutout',), tf.constant([7, 8]))
    hidden = (cut.numpy()[..., 0] == 0)
    for image in hidden:  # A square of 15 x 15 pixels (|offset| < 8), clipped at the border.
        rows, cols = np.nonzero(image)
        assert 0 < len(rows) <= 15 * 15
        assert rows.max() - rows.min() < 15 and cols.max() - cols.min() < 15


def test_color_changes_the_photo_only_and_draws_per_pair():
    sketch, photo = pattern_pair(count=6)
    new_sketch, new_photo = augment.augment_pair(sketch, photo, ('color',), tf.constant([1, 1]))
    np.testing.assert_array_equal(new_sketch, sketch)
    shifts = (new_photo - photo).numpy().mean(axis=(1, 2, 3))
    assert np.std(shifts) > 0.05  # Each pair its own brightness.


def test_lightness_changes_colourfulness_by_contrast_only_and_color_by_saturation_too():
    photo = tf.random.stateless_uniform([6, 16, 16, 3], [4, 5], -1, 1)
    sketch = tf.zeros([6, 16, 16, 1])

    def chroma(image):  # Each pixel's colour as a deviation from its own gray.
        image = image.numpy()
        return (image - image.mean(axis=-1, keepdims=True)).reshape(6, -1)

    for policy, keeps in (('lightness', True), ('color', False)):
        new_sketch, new_photo = augment.augment_pair(sketch, photo, (policy,),
                                                     tf.constant([6, 7]))
        np.testing.assert_array_equal(new_sketch, sketch)
        assert not np.allclose(new_photo, photo)
        # lightness scales every pixel's chroma by the pair's contrast factor in [0.5, 1.5]...
        factors = (chroma(new_photo) * chroma(photo)).sum(axis=1) / (chroma(photo) ** 2).sum(
            axis=1)
        scaled = np.allclose(chroma(new_photo), factors[:, None] * chroma(photo), atol=1e-5)
        in_range = ((factors > 0.5 - 1e-5) & (factors < 1.5 + 1e-5)).all()
        assert (scaled and in_range) == keeps  # ...color's saturation draw leaves that range.


def test_softcolor_draws_within_a_quarter_of_colors_ranges():
    count = 200
    photo = tf.random.stateless_uniform([count, 8, 8, 3], [8, 9], -0.5, 0.5)
    sketch = tf.zeros([count, 8, 8, 1])

    def draws(policy):  # Each pair's brightness shift and chroma factor (saturation x contrast).
        new = augment.augment_pair(sketch, photo, (policy,), tf.constant([2, 5]))[1].numpy()
        old = photo.numpy()
        shift = new.mean(axis=(1, 2, 3)) - old.mean(axis=(1, 2, 3))
        chroma_new = (new - new.mean(axis=-1, keepdims=True)).reshape(count, -1)
        chroma_old = (old - old.mean(axis=-1, keepdims=True)).reshape(count, -1)
        factor = (chroma_new * chroma_old).sum(axis=1) / (chroma_old ** 2).sum(axis=1)
        np.testing.assert_allclose(chroma_new, factor[:, None] * chroma_old, atol=1e-5)
        return shift, factor

    shift, factor = draws('softcolor')
    assert np.abs(shift).max() <= 0.25 + 1e-5 and np.abs(shift).max() > 0.2
    assert factor.min() >= 0.75 * 0.875 - 1e-5 and factor.max() <= 1.25 * 1.125 + 1e-5
    shift, factor = draws('color')  # The full ranges go well past those.
    assert np.abs(shift).max() > 0.5 and (factor.min() < 0.5 or factor.max() > 1.5)


def test_draws_are_a_function_of_the_seed_and_gradients_flow():
    sketch, photo = pattern_pair()
    first = augment.augment_pair(sketch, photo, ALL, tf.constant([9, 9]))[1]
    np.testing.assert_array_equal(first, augment.augment_pair(sketch, photo, ALL,
                                                              tf.constant([9, 9]))[1])
    assert not np.allclose(first, augment.augment_pair(sketch, photo, ALL,
                                                       tf.constant([9, 10]))[1])
    photo = tf.Variable(photo)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(augment.augment_pair(sketch, photo, ALL, tf.constant([2, 3]))[1])
    gradient = tape.gradient(loss, photo).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


def test_an_empty_policy_is_the_identity_and_bad_parts_are_one_line():
    sketch, photo = pattern_pair()
    assert augment.augment_pair(sketch, photo, (), tf.constant([1, 2])) == (sketch, photo)
    assert config_lib.diff_augment_policy(' color, cutout ') == ('color', 'cutout')
    with pytest.raises(config_lib.ConfigError, match="'zoom' is unknown or repeated"):
        config_lib.Config(diff_augment='color,zoom')
    with pytest.raises(config_lib.ConfigError, match="'color' is unknown or repeated"):
        config_lib.diff_augment_policy('color,color')


def test_a_probability_transforms_that_share_of_pairs_and_leaves_the_rest():
    sketch = tf.ones([200, 16, 16, 1])
    photo = tf.random.stateless_uniform([200, 16, 16, 3], [5, 6], -1, 1)
    seed = tf.constant([4, 2])
    every = augment.augment_pair(sketch, photo, ('color',), seed)[1].numpy()
    np.testing.assert_array_equal(
        every, augment.augment_pair(sketch, photo, ('color:1',), seed)[1].numpy())
    half = augment.augment_pair(sketch, photo, ('color:0.5',), seed)[1].numpy()
    kept = np.all(half == photo.numpy(), axis=(1, 2, 3))
    changed = np.all(np.isclose(half, every), axis=(1, 2, 3))
    assert np.all(kept | changed)  # Each pair either as it was or as under `color`.
    assert 70 <= changed.sum() <= 130, changed.sum()
    tenth = augment.augment_pair(sketch, photo, ('color:0.1',), seed)[1].numpy()
    assert 5 <= (~np.all(tenth == photo.numpy(), axis=(1, 2, 3))).sum() <= 40
    assert config_lib.diff_augment_policy('color:0.5, cutout') == ('color:0.5', 'cutout')
    assert config_lib.Config(diff_augment='color:0.25,translation').diff_augment


@pytest.mark.parametrize('text,message', [
    ('color:0', 'needs a probability in'), ('color:1.5', 'needs a probability in'),
    ('color:half', 'needs a probability in'), ('color:0.5,color', 'is unknown or repeated'),
    ('zoom:0.5', 'is unknown or repeated'), ('color:', 'needs a probability in'),
    ('color:nan', 'needs a probability in'), ('color:-0.5', 'needs a probability in'),
    ('color:inf', 'needs a probability in')])
def test_bad_probabilities_are_one_line(text, message):
    with pytest.raises(config_lib.ConfigError, match=message) as error:
        config_lib.Config(diff_augment=text)
    assert '\n' not in str(error.value)


def test_spaces_around_the_colon_are_accepted():
    sketch = tf.ones([64, 8, 8, 1])
    photo = tf.random.stateless_uniform([64, 8, 8, 3], [7, 8], -1, 1)
    seed = tf.constant([3, 1])
    assert config_lib.diff_augment_policy('color : 0.5') == ('color : 0.5',)
    np.testing.assert_array_equal(
        augment.augment_pair(sketch, photo, ('color : 0.5',), seed)[1].numpy(),
        augment.augment_pair(sketch, photo, ('color:0.5',), seed)[1].numpy())
