"""Realism statistics on constructed sets with a known answer: the shipped sample's 90 real
training photos against themselves, two disjoint halves of them, and blurred, noised,
desaturated and colour-shifted copies."""

import cv2
import numpy as np
import pytest

from pix2pix_tf.evaluation import realism

from conftest import SAMPLE


@pytest.fixture(scope='module')
def photos():
    """The 90 real photos of the built-in sample (right halves), 64x64 uint8 RGB."""
    files = sorted((SAMPLE / 'train').glob('*.jpg'))
    assert len(files) == 90
    return np.stack([cv2.resize(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)[:, 256:],
                                (64, 64), interpolation=cv2.INTER_AREA) for path in files])


def blurred(photos):
    return np.stack([cv2.GaussianBlur(photo, (0, 0), 1.5) for photo in photos])


def noised(photos):
    noise = np.random.default_rng(1).normal(0, 12, photos.shape)
    return np.clip(photos + noise, 0, 255).astype(np.uint8)


def desaturated(photos, keep=0.3):
    gray = (photos.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]))[..., None]
    return np.clip(gray + keep * (photos - gray), 0, 255).astype(np.uint8)


def test_a_set_against_itself_is_indistinguishable(photos):
    metrics = realism.realism_metrics(photos, photos.copy())
    assert metrics == {'colour_ratio': pytest.approx(1), 'colour_distance': pytest.approx(0),
                       'texture_ratio': pytest.approx(1), 'two_sample_accuracy': 0.5}


def test_two_halves_of_the_real_photos_are_near_chance(photos):
    """Different real shoes: the classifier is near chance. (The ratios between two sets of 45
    shoes move by up to about 20%: set-level statistics need many images.)"""
    metrics = realism.realism_metrics(photos[0::2], photos[1::2])
    assert abs(metrics['two_sample_accuracy'] - 0.5) < 0.12
    assert metrics['colour_distance'] < 0.1


def test_blur_lowers_the_texture_ratio_and_is_told_apart(photos):
    metrics = realism.realism_metrics(photos, blurred(photos))
    assert metrics['texture_ratio'] < 0.5
    assert metrics['two_sample_accuracy'] > 0.8
    assert metrics['colour_distance'] < 0.05  # Same colours.


def test_noise_raises_the_texture_ratio_and_is_told_apart(photos):
    metrics = realism.realism_metrics(photos, noised(photos))
    assert metrics['texture_ratio'] > 1.2
    assert metrics['two_sample_accuracy'] > 0.8


def test_desaturation_lowers_the_colour_ratio_not_the_texture(photos):
    metrics = realism.realism_metrics(photos, desaturated(photos))
    assert metrics['colour_ratio'] == pytest.approx(0.3, abs=0.05)
    assert metrics['texture_ratio'] == pytest.approx(1, abs=0.05)
    assert metrics['colour_distance'] > 0.1
    assert metrics['two_sample_accuracy'] > 0.65


def test_a_colour_shift_moves_the_colour_distance_not_the_colourfulness(photos):
    shifted = photos[..., [2, 0, 1]]  # Red shoes turn green, brown ones blue.
    metrics = realism.realism_metrics(photos, shifted)
    assert metrics['colour_distance'] > 0.25
    assert metrics['colour_ratio'] == pytest.approx(1, abs=0.15)
    assert metrics['two_sample_accuracy'] > 0.75


def test_the_two_sample_test_is_seeded_and_needs_two_pairs(photos):
    noisy = noised(photos[:20])
    first = realism.two_sample_accuracy(photos[:20], noisy, seed=3)
    assert realism.two_sample_accuracy(photos[:20], noisy, seed=3) == first
    assert 'two_sample_accuracy' not in realism.realism_metrics(photos[:1], noisy[:1])
    with pytest.raises(ValueError, match='at least 2 pairs'):
        realism.two_sample_accuracy(photos[:1], noisy[:1])
    with pytest.raises(ValueError, match='one shape'):
        realism.realism_metrics(photos[:2], photos[:3])


def test_colourfulness_and_js_divergence_by_hand():
    gray = np.full([1, 8, 8, 3], 128, np.uint8)
    assert realism.colourfulness(gray)[0] == 0
    red = np.zeros([1, 8, 8, 3], np.uint8)
    red[..., 0] = 200  # rg = 200, yb = 100, no spread: 0.3 * sqrt(200^2 + 100^2).
    assert realism.colourfulness(red)[0] == pytest.approx(0.3 * np.hypot(200, 100))
    assert realism.js_divergence(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1)
    assert realism.js_divergence(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0


def chroma_blurred(photos, sigma=1.0):
    """The photos with their chroma (Cr, Cb) blurred and their luma kept: nearly invisible."""
    out = []
    for photo in photos:
        ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        ycc[..., 1:] = cv2.GaussianBlur(ycc[..., 1:], (0, 0), sigma)
        out.append(cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB))
    return np.stack(out)


def test_the_jpeg_round_trip_keeps_luma_and_subsamples_chroma():
    rows, cols = np.indices([64, 64])
    checker = (rows + cols) % 2 == 0
    red_green = np.where(checker[..., None], [200, 40, 40], [40, 200, 40]).astype(np.uint8)
    light_dark = np.where(checker[..., None], [220, 220, 220], [30, 30, 30]).astype(np.uint8)
    stack = np.stack([red_green, light_dark])
    decoded = realism.jpeg_round_trip(stack)
    assert decoded.shape == stack.shape and decoded.dtype == np.uint8
    gray = lambda x: x.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])  # noqa: E731
    # 4:2:0 averages chroma over 2x2 pixels: the pixel-scale colour checker is mostly gone ...
    assert realism.colourfulness(decoded[:1])[0] < 0.5 * realism.colourfulness(stack[:1])[0]
    # ... while a pixel-scale luma checker keeps most of its contrast at quality 95.
    assert gray(decoded[1]).std() > 0.7 * gray(stack[1]).std()
    assert np.abs(decoded[1].astype(int) - stack[1]).mean() < 40


def test_the_statistics_compare_photos_not_file_formats(photos):
    """A re-encoded or chroma-blurred copy of the real set looks the same by eye; on raw pixels
    the two-sample test tells it apart by the pixel-scale chroma detail, after the round trip of
    both sets (the default) much less."""
    for copy in (realism.jpeg_round_trip(photos, 75), chroma_blurred(photos)):
        raw = realism.realism_metrics(photos, copy, jpeg_quality=None)['two_sample_accuracy']
        stored = realism.realism_metrics(photos, copy)['two_sample_accuracy']
        assert stored < 0.62 and stored < raw - 0.03
