"""Image sizes read from headers alone (no decoding), checked against what the real encoders
write, and the limits' one-line reasons."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from pix2pix_tf.data import image_headers


def encoded(format_: str, height: int = 37, width: int = 53, frames: int = 1) -> bytes:
    """A real image file of this size, written by OpenCV (JPEG, PNG, BMP, WebP) or Pillow (GIF)."""
    pixels = np.random.default_rng(0).integers(0, 255, [height, width, 3], np.uint8)
    if format_ == 'GIF':
        buffer = io.BytesIO()
        images = [Image.fromarray(np.roll(pixels, index, axis=1)) for index in range(frames)]
        images[0].save(buffer, 'GIF', save_all=frames > 1, append_images=images[1:])
        return buffer.getvalue()
    return cv2.imencode({'JPEG': '.jpg', 'PNG': '.png', 'BMP': '.bmp', 'WEBP': '.webp'}[format_],
                        pixels)[1].tobytes()


@pytest.mark.parametrize('format_', ['JPEG', 'PNG', 'BMP', 'WEBP', 'GIF'])
def test_header_reads_what_the_encoders_wrote(format_):
    data = encoded(format_)
    assert image_headers.header(data) == (format_, 37, 53, 37 * 53)
    assert image_headers.sniff(data) == (format_, 37, 53)
    assert image_headers.header(data[:20]) is None  # Too short to tell.


def test_a_gif_counts_the_pixels_of_every_frame():
    assert image_headers.header(encoded('GIF', 20, 30, frames=4)) == ('GIF', 20, 30, 4 * 600)


def test_other_data_has_no_header():
    assert image_headers.header(b'<html>' + b' ' * 100) is None
    assert image_headers.header(b'II*\x00' + bytes(100)) is None  # TIFF: not a model format.


def test_size_problem_names_the_limit_that_was_passed():
    assert image_headers.size_problem(4096, 4096) is None
    side = image_headers.size_problem(100, image_headers.MAX_SIDE + 1)
    assert f'limit of {image_headers.MAX_SIDE} pixels a side' in side
    assert 'limit of 512 pixels a side' in image_headers.size_problem(600, 10, max_side=512)
    pixels = image_headers.size_problem(10000, 10000)
    assert f'over the limit of {image_headers.MAX_PIXELS}' in pixels
    frames = image_headers.size_problem(4000, 4000, pixels=5 * 4000 * 4000)
    assert 'in all its frames' in frames
    assert 'too many frames' in image_headers.size_problem(10, 10, image_headers.GIF_FLOOD)
