"""Each kind of bad or unusual file the dataset build meets, on real photos from the sample."""

import glob
import io
import zipfile

import cv2
import numpy as np
import pytest
from PIL import Image

from pix2pix_tf.data import dataset_prep

from conftest import SAMPLE

AB_FILE = sorted(glob.glob(str(SAMPLE / 'train' / '*.jpg')))[0]


def real_photo() -> Image.Image:
    return Image.open(AB_FILE).convert('RGB').crop((256, 0, 512, 256))


def encoded(image: Image.Image, format_: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def test_photo_example_is_a_256_square_with_its_sketch():
    example, converted = dataset_prep.photo_example(encoded(real_photo(), 'JPEG'))
    assert converted is None
    sketch, photo = decode(example['sketch']), decode(example['photo'])
    assert sketch.shape == (256, 256) and sketch.dtype == np.uint8
    assert photo.shape == (256, 256, 3)
    assert set(np.unique(sketch)) == {0, 255} and (sketch == 0).mean() > 0.005


def test_wide_photos_are_padded_on_white_not_stretched():
    photo = np.zeros([50, 100, 3], np.uint8)  # A black 2:1 rectangle.
    square = dataset_prep.square_photo(photo, 64)
    assert square.shape == (64, 64, 3)
    assert (square[:14] == 255).all() and (square[-14:] == 255).all()  # White bands.
    assert (square[20:44] < 5).all()  # The photo, centred, not stretched.


@pytest.mark.parametrize('mode, format_, conversion', [
    ('L', 'JPEG', 'grayscale'), ('CMYK', 'JPEG', 'CMYK'), ('RGBA', 'PNG', 'alpha'),
    ('P', 'PNG', None), ('RGB', 'BMP', None)])
def test_grayscale_cmyk_alpha_and_palette_photos_are_converted(mode, format_, conversion):
    example, converted = dataset_prep.photo_example(encoded(real_photo().convert(mode),
                                                            format_))
    assert converted == conversion
    photo = decode(example['photo'])
    assert photo.shape == (256, 256, 3)
    # Colours survive CMYK (OpenCV converts it); a gray photo stays gray.
    reference = np.asarray(real_photo().convert(mode).convert('RGB'), np.float32)[..., ::-1]
    assert np.abs(photo.astype(np.float32) - reference).mean() < 6


def test_transparent_pixels_become_white():
    rgba = np.zeros([64, 64, 4], np.uint8)
    rgba[16:48, 16:48] = (20, 40, 60, 255)
    example, converted = dataset_prep.photo_example(encoded(Image.fromarray(rgba), 'PNG'))
    photo = decode(example['photo'])
    assert converted == 'alpha'
    assert (photo[:40] > 250).all() and photo[128, 128, 2] < 40  # BGR: red is low.


@pytest.mark.parametrize('data, reason', [
    (b'this is a text file, not a photo', 'not an image file'),
    (encoded(real_photo(), 'JPEG')[:3000], 'corrupt or truncated image'),
    (b'\xff\xd8\xff\xe0' + bytes(2000), 'corrupt or truncated image'),
    (encoded(real_photo().resize((20, 20)), 'PNG'), 'too small (under 32 px)'),
])
def test_bad_files_are_skipped_with_a_reason(data, reason):
    with pytest.raises(dataset_prep.SkippedFile, match=reason.replace('(', r'\(').replace(
            ')', r'\)')):
        dataset_prep.photo_example(data)


def test_ab_example_keeps_the_left_half_as_the_sketch():
    data = open(AB_FILE, 'rb').read()
    example, _ = dataset_prep.ab_example(data)
    sketch, photo = decode(example['sketch']), decode(example['photo'])
    ab = cv2.imread(AB_FILE)
    assert sketch.shape == (256, 256)
    np.testing.assert_allclose(sketch, cv2.cvtColor(ab[:, :256], cv2.COLOR_BGR2GRAY), atol=2)
    assert np.abs(photo.astype(int) - ab[:, 256:].astype(int)).mean() < 3
    with pytest.raises(dataset_prep.SkippedFile, match='not an AB pair'):
        dataset_prep.ab_example(encoded(real_photo(), 'JPEG'))


PINNED_IDS = ('7965300.0', '7965311.11', '7965337.37')


def test_split_of_is_stable_and_about_90_5_5():
    assert dataset_prep.split_of('7965307.5291') == dataset_prep.split_of('7965307.5291')
    splits = [dataset_prep.split_of(f'{index}.{index % 97}') for index in range(20000)]
    shares = {name: splits.count(name) / len(splits) for name in ('train', 'validation', 'test')}
    assert abs(shares['train'] - 0.90) < 0.01
    assert abs(shares['validation'] - 0.05) < 0.01 and abs(shares['test'] - 0.05) < 0.01
    # Pinned (MD5 of the id): the split of an image must never change between versions,
    # machines or Python runs, or test images would leak into training.
    assert [dataset_prep.split_of(example_id) for example_id in PINNED_IDS] == [
        'train', 'validation', 'test']


def test_process_files_keeps_order_counts_and_survives_bad_files(tmp_path):
    good = encoded(real_photo(), 'JPEG')
    archive = tmp_path / 'photos.zip'
    with zipfile.ZipFile(archive, 'w') as zip_file:
        for index in range(5):
            zip_file.writestr(f'Shoes/Oxfords/Brand/{index}.jpg', good)
        zip_file.writestr('Shoes/Oxfords/Brand/broken.jpg', good[:1000])
        zip_file.writestr('Shoes/Oxfords/Brand/readme.jpg', b'not an image')
        zip_file.writestr('Shoes/Oxfords/Brand/gray.jpg', encoded(real_photo().convert('L'),
                                                                  'JPEG'))
    report = dataset_prep.SkipReport()
    results = list(dataset_prep.process_files(dataset_prep.iter_zip(archive),
                                              dataset_prep.photo_example, report, workers=2,
                                              chunk=3))
    names = [name.split('/')[-1] for name, _ in results]
    assert names == ['0.jpg', '1.jpg', '2.jpg', '3.jpg', '4.jpg', 'gray.jpg']
    assert report.written == 6
    summary = report.summary('test')
    assert 'test: 6 examples written, 2 files skipped.' in summary
    assert 'skipped 1 corrupt or truncated image: Shoes/Oxfords/Brand/broken.jpg' in summary
    assert 'skipped 1 not an image file: Shoes/Oxfords/Brand/readme.jpg' in summary
    assert 'converted 1 grayscale to RGB' in summary
