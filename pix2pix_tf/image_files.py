"""Image files and encoded bytes, without TensorFlow: which files count as images, which of a
folder dataset's files can train (checked from their headers), and the one decoding helper.

- `IMAGE_EXTENSIONS`: the files a folder of pairs or inputs is read for (training folders,
  evaluate.py, pix2pix-predict). The TFDS builder goes by content instead (`decode` also
  reads WebP and TIFF photos there).
- `decode(data)`: encoded bytes -> uint8 BGR pixels, 16-bit scaled to 8 bits, gray repeated,
  transparency composited on white (paper, and the product photos' background). Clients, the
  demo and dataset_prep all decode through it; TensorFlow code decodes with `images.py`.
- Folder checks. A file is skipped, with its reason, when it
  - is not an image TensorFlow decodes (a text file named .jpg, a zero-byte file, a TIFF, a PPM
    named .png): "not a readable image" / "<format> is not read by TensorFlow";
  - is an AB pair file whose width is not twice its height ("not an AB pair");
  - is smaller than MIN_SIDE pixels high or wide ("too small").
  Only headers are read (Pillow opens lazily), about 0.1 ms a file. A file whose header is
  sound but whose data is cut short still fails in decoding: training skips it there
  (`ignore_errors`), evaluation too, without a name. Results are cached per folder and
  modification time, so periodic evaluation does not re-read the headers.
- `sniff(data)` reads the size of an encoded image (bytes, not a file) from its header, as the
  served model does, so clients can refuse what it would refuse.

Kept apart from `images.py` (TensorFlow ops) so that the REST client, the demo on TF Serving
and the dataset builder's workers never import TensorFlow.
"""

import functools
import glob
import os

import cv2
import numpy as np
from PIL import Image

# Extensions of the image files a folder of inputs or pairs may hold (lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')

MIN_SIDE = 32  # Pixels; a pair half smaller than this holds no shoe.
# What tf.io.decode_image reads; MPO is Pillow's name for camera JPEGs with extra frames.
READABLE_FORMATS = ('JPEG', 'MPO', 'PNG', 'BMP', 'GIF', 'WEBP')


def problem(path: str, ab_pair: bool) -> str | None:
    """Why `path` cannot be used (one short phrase), or None when it can."""
    try:
        with Image.open(path) as image:
            width, height, format_ = image.width, image.height, image.format
    except Image.UnidentifiedImageError:
        empty = os.path.isfile(path) and not os.path.getsize(path)
        return f'not a readable image ({"empty file" if empty else "unknown format"})'
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return f'not a readable image ({str(error)[:80] or type(error).__name__})'
    if format_ not in READABLE_FORMATS:
        return f'{format_} is not read by TensorFlow (use PNG or JPEG)'
    if ab_pair and width != 2 * height:
        return f'{width}x{height} is not an AB pair (the width must be twice the height)'
    side = min(height, width // 2 if ab_pair else width)
    if side < MIN_SIDE:
        return f'{width}x{height} is too small (under {MIN_SIDE} pixels a side)'
    return None


@functools.lru_cache(maxsize=64)
def _checked(paths: tuple[str, ...], ab_pair: bool, stamp) -> tuple[tuple, tuple]:
    good, skipped = [], []
    for path in paths:
        reason = problem(path, ab_pair)
        if reason:
            skipped.append((path, reason))
        else:
            good.append(path)
    return tuple(good), tuple(skipped)


def _stamp(paths) -> tuple:
    folders = sorted({os.path.dirname(path) for path in paths})
    return tuple((folder, os.stat(folder).st_mtime_ns) for folder in folders)


def usable_files(paths: list[str], ab_pair: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """(usable paths, [(skipped path, reason)]), in the order given."""
    good, skipped = _checked(tuple(paths), ab_pair, _stamp(paths))
    return list(good), list(skipped)


def usable_pairs(sketches: list[str], photos: list[str]):
    """(usable sketches, their photos, [(skipped path, reason)]); a pair goes if either file
    does."""
    good_sketches, skipped_sketches = usable_files(sketches, ab_pair=False)
    good_photos, skipped_photos = usable_files(photos, ab_pair=False)
    usable_sketch, usable_photo = set(good_sketches), set(good_photos)
    kept = [(sketch, photo) for sketch, photo in zip(sketches, photos)
            if sketch in usable_sketch and photo in usable_photo]
    return [pair[0] for pair in kept], [pair[1] for pair in kept], (
        skipped_sketches + skipped_photos)


MODEL_FORMATS = ('JPEG', 'PNG', 'GIF', 'BMP')  # What the serving signature reads by header.


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a JPEG's first start-of-frame marker."""
    index = 2
    while index + 9 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (int.from_bytes(data[index + 5:index + 7], 'big'),
                    int.from_bytes(data[index + 7:index + 9], 'big'))
        index += 2 + int.from_bytes(data[index + 2:index + 4], 'big')
    return None


def sniff(data: bytes) -> tuple[str, int, int] | None:
    """(format, height, width) of an encoded JPEG/PNG/GIF/BMP from its header; None otherwise.

    The Python twin of `pix2pix_tf.images.encoded_size` (which runs inside the serving
    signature): clients refuse what the model would refuse without sending it.
    """
    if len(data) < 26:
        return None
    if data[:3] == b'\xff\xd8\xff':
        size = _jpeg_size(data)
        return ('JPEG', *size) if size else None
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return 'PNG', int.from_bytes(data[20:24], 'big'), int.from_bytes(data[16:20], 'big')
    if data[:4] == b'GIF8':
        return 'GIF', int.from_bytes(data[8:10], 'little'), int.from_bytes(data[6:8], 'little')
    if data[:2] == b'BM':
        height = abs(int.from_bytes(data[22:26], 'little', signed=True))
        return 'BMP', height, int.from_bytes(data[18:22], 'little', signed=True)
    return None


def files_matching(pattern: str, exclude: str | None = None) -> list[str]:
    """The image files of a folder (`list_images`), or the files a glob pattern matches,
    sorted; without those whose names occur anywhere in the folder tree `exclude`."""
    files = (list_images(pattern) if os.path.isdir(pattern)
             else sorted(path for path in glob.glob(pattern) if os.path.isfile(path)))
    if exclude:
        excluded = {name for _, _, names in os.walk(exclude) for name in names}
        files = [path for path in files if os.path.basename(path) not in excluded]
    return files


def list_images(folder: str, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[str]:
    """Sorted paths of the image files (by extension, hidden files left out) in `folder`."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.lower().endswith(extensions) and not name.startswith('.'))


class UnreadableImage(ValueError):
    """Bytes that `decode` cannot turn into pixels; the message is the short reason."""


# Leading bytes of JPEG, PNG, BMP, GIF, WebP (RIFF) and TIFF (both byte orders).
_SIGNATURES = (b'\xff\xd8', b'\x89PNG', b'BM', b'GIF8', b'RIFF', b'II*\x00', b'MM\x00*')


def to_three_channels(image: np.ndarray) -> np.ndarray:
    """uint8 [H,W], [H,W,1], [H,W,3] or [H,W,4] -> [H,W,3]: gray repeated, alpha composited on
    white (the background of product photos and sketches). Channel order is kept."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f'image must be uint8, not {image.dtype}; convert with '
                         f'np.clip(x, 0, 255).astype(np.uint8)')
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:].astype(np.float32) / 255.0
        blended = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.round(blended).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f'image must be [H, W, 3] (or 1 or 4 channels), not shape {image.shape}')


def _jpeg_is_cmyk(data: bytes) -> bool:
    """True when a JPEG's frame header declares 4 components (CMYK / YCCK)."""
    index = 2
    while index + 9 < len(data) and data[index] == 0xFF:
        marker, length = data[index + 1], int.from_bytes(data[index + 2:index + 4], 'big')
        if marker in (0xC0, 0xC1, 0xC2):  # Start of frame: precision, height, width, components.
            return data[index + 9] == 4
        index += 2 + length
    return False


def decode(data: bytes) -> tuple[np.ndarray, str | None]:
    """Encoded image -> (uint8 BGR [H, W, 3], OpenCV's channel order; conversion made or None).

    The conversion is '16-bit' (scaled to 8 bits), 'grayscale' (repeated), 'alpha' (composited
    on white) or 'CMYK' (converted by OpenCV). Raises UnreadableImage: 'not an image file',
    'corrupt or truncated image', 'unsupported pixel type ...'.
    """
    if not data.startswith(_SIGNATURES):
        raise UnreadableImage('not an image file')
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise UnreadableImage('corrupt or truncated image')
    converted = None
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
        converted = '16-bit'
    elif image.dtype != np.uint8:
        raise UnreadableImage(f'unsupported pixel type {image.dtype}')
    if image.ndim == 2 or image.shape[2] == 1:
        converted = 'grayscale'
    elif image.shape[2] == 4:
        converted = 'alpha'
    elif data.startswith(b'\xff\xd8') and _jpeg_is_cmyk(data):
        converted = 'CMYK'  # OpenCV already converted it to BGR.
    return to_three_channels(image), converted


def decode_gray(data: bytes) -> np.ndarray | None:
    """Encoded image -> uint8 [H, W] gray (as `decode`); None when it is not readable."""
    try:
        return cv2.cvtColor(decode(data)[0], cv2.COLOR_BGR2GRAY)
    except UnreadableImage:
        return None
