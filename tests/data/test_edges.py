import glob

import cv2
import numpy as np
import pytest

from pix2pix_tf.data import edges

from conftest import SAMPLE


def sample_pairs():
    """(photo RGB, HED reference) of the 100 shipped real pairs."""
    pairs = []
    for path in sorted(glob.glob(str(SAMPLE / '*' / '*.jpg'))):
        ab = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        pairs.append((np.ascontiguousarray(ab[:, 256:]), ab[:, :256, 0].copy()))
    return pairs


def drawn_shoe(height=256, width=256):
    """A dark 'shoe' (ellipse) with a lighter panel on a white background."""
    photo = np.full([height, width, 3], 255, np.uint8)
    center = (width // 2, height // 2)
    cv2.ellipse(photo, center, (width // 3, height // 5), 0, 0, 360, (90, 60, 40), -1)
    cv2.rectangle(photo, (width // 2 - width // 10, height // 2 - height // 12),
                  (width // 2 + width // 10, height // 2 + height // 12), (200, 180, 160), -1)
    return photo


def test_beats_plain_canny_on_the_real_hed_edge_maps():
    counts = np.zeros(4)
    canny_counts = np.zeros(4)
    for photo, reference in sample_pairs():
        counts += edges.edge_match_counts(edges.photo_to_sketch(photo), reference)
        canny = np.where(cv2.Canny(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), 100, 200) > 0, 0,
                         255).astype(np.uint8)
        canny_counts += edges.edge_match_counts(canny, reference)

    def f1(c):
        precision, recall = c[0] / c[1], c[2] / c[3]
        return 2 * precision * recall / (precision + recall)

    assert f1(counts) >= 0.80  # 0.818 on these 100 pairs; 0.819 on all 1,099 (benchmark).
    assert f1(counts) > f1(canny_counts) + 0.05


def test_black_strokes_on_white_same_size_and_deterministic():
    photo = drawn_shoe()
    result = edges.photo_to_sketch(photo)
    assert result.shape == (256, 256) and result.dtype == np.uint8
    assert set(np.unique(result)) == {0, 255}
    assert (result == 255).mean() > 0.9  # Mostly white paper.
    assert result[0, 0] == 255 and result[128, 128] == 255  # Background and flat regions blank.
    np.testing.assert_array_equal(result, edges.photo_to_sketch(photo.copy()))
    # The outline of the ellipse and the panel's edges are drawn.
    assert result[128, 128 - 85:128 - 80].min() == 0  # Left end of the ellipse.
    assert result[105:110, 128].min() == 0  # Top edge of the panel (row 107).
    assert result[128, 100:105].min() == 0  # Left edge of the panel (column 103).


def test_white_photo_gives_blank_sketch_and_noise_gives_no_specks():
    assert (edges.photo_to_sketch(np.full([64, 64, 3], 255, np.uint8)) == 255).all()
    photo = np.full([256, 256, 3], 255, np.uint8)
    rng = np.random.default_rng(0)
    photo[rng.random([256, 256]) < 0.002] = 0  # Dust: isolated dark pixels.
    assert (edges.photo_to_sketch(photo) == 255).all()


@pytest.mark.parametrize('shape', [(256, 256), (256, 256, 1), (256, 256, 4), (300, 177, 3),
                                   (1024, 1024, 3)])
def test_gray_rgba_and_odd_sizes(shape):
    photo = drawn_shoe(shape[0], shape[1])
    if len(shape) == 2 or shape[2] == 1:
        photo = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).reshape(shape)
    elif shape[2] == 4:
        photo = np.concatenate([photo, np.full(shape[:2] + (1,), 255, np.uint8)], axis=-1)
    result = edges.photo_to_sketch(photo)
    assert result.shape == shape[:2]
    assert 0.001 < (result == 0).mean() < 0.1


def test_transparent_background_counts_as_white():
    photo = np.zeros([64, 64, 4], np.uint8)  # Black but fully transparent...
    photo[20:40, 20:40] = (50, 50, 50, 255)  # ...except an opaque square.
    result = edges.photo_to_sketch(photo)
    assert result[0, 0] == 255 and result[20, 30] == 0


def test_object_touching_the_border_keeps_its_outline():
    photo = np.full([128, 128, 3], 255, np.uint8)
    photo[40:, 30:90] = (60, 60, 60)  # A leg cut by the bottom edge.
    result = edges.photo_to_sketch(photo)
    assert result[80, 30] == 0 and result[80, 89] == 0 and result[80, 60] == 255


@pytest.mark.parametrize('photo, message', [
    (np.zeros([8, 8, 3], np.uint8), 'needs at least 16x16'),
    (np.zeros([64, 64, 3], np.float32), 'must be uint8'),
    (np.zeros([64, 64, 2], np.uint8), 'must be'),
])
def test_bad_photos_raise_clear_errors(photo, message):
    with pytest.raises(ValueError, match=message):
        edges.photo_to_sketch(photo)
