"""Image files and bytes without TensorFlow: the one decode helper, extensions, header checks."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from pix2pix_tf.data import image_files


def png(array) -> bytes:
    return cv2.imencode('.png', array)[1].tobytes()


def test_decode_converts_what_the_models_cannot_take():
    color16 = np.full((4, 5, 3), 65535, np.uint16)
    image, converted = image_files.decode(png(color16))
    assert (image.shape, image.dtype, converted) == ((4, 5, 3), np.uint8, '16-bit')
    assert (image == 255).all()
    rgba = np.zeros((4, 4, 4), np.uint8)  # Fully transparent black: white paper.
    image, converted = image_files.decode(png(rgba))
    assert converted == 'alpha' and (image == 255).all()
    assert image_files.decode(png(np.zeros((3, 3), np.uint8)))[1] == 'grayscale'
    buffer = io.BytesIO()
    Image.new('CMYK', (8, 8), (0, 255, 0, 0)).save(buffer, 'JPEG')
    image, converted = image_files.decode(buffer.getvalue())
    assert converted == 'CMYK' and image.shape == (8, 8, 3)
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 200  # Blue in OpenCV's order: kept as it is.
    image, converted = image_files.decode(png(bgr))
    assert converted is None and (image[..., 0] == 200).all() and (image[..., 2] == 0).all()
    assert image_files.decode_gray(png(bgr)).shape == (2, 2)


@pytest.mark.parametrize('data, reason', [(b'', 'not an image file'),
                                          (b'hello, not an image', 'not an image file'),
                                          (b'\x89PNG\r\n\x1a\n' + b'\0' * 40,
                                           'corrupt or truncated image')])
def test_unreadable_bytes_name_the_reason(data, reason):
    with pytest.raises(image_files.UnreadableImage, match=reason):
        image_files.decode(data)
    assert image_files.decode_gray(data) is None


def test_list_images_takes_image_extensions_in_any_case_and_skips_hidden_files(tmp_path):
    for name in ('b.PNG', 'a.jpg', 'c.gif', '.hidden.png', 'notes.txt', 'scan.tif'):
        (tmp_path / name).write_bytes(b'x')
    assert [path.rsplit('/', 1)[1] for path in image_files.list_images(str(tmp_path))] == [
        'a.jpg', 'b.PNG', 'c.gif']
    assert all(extension == extension.lower() for extension in image_files.IMAGE_EXTENSIONS)


def test_usable_files_gives_each_skipped_file_a_reason(tmp_path):
    good = tmp_path / 'good.png'
    good.write_bytes(png(np.full((40, 80, 3), 255, np.uint8)))
    square = tmp_path / 'square.png'
    square.write_bytes(png(np.full((40, 40, 3), 255, np.uint8)))
    tiff = tmp_path / 'scan.png'
    tiff.write_bytes(cv2.imencode('.tiff', np.zeros((40, 80), np.uint8))[1].tobytes())
    files, skipped = image_files.usable_files([str(good), str(square), str(tiff)], ab_pair=True)
    assert files == [str(good)]
    assert dict(skipped) == {str(square): '40x40 is not an AB pair (the width must be twice the '
                                          'height)',
                             str(tiff): 'TIFF is not read by TensorFlow (use PNG or JPEG)'}
