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
- Sizes are read from headers first (`image_headers`): a file or upload over its limits is
  refused before it is decoded.

Kept apart from `images.py` (TensorFlow ops) so that the REST client, the demo on TF Serving
and the dataset builder's workers never import TensorFlow.
"""

import functools
import glob
import io
import os

import cv2
import numpy as np
from PIL import Image

from pix2pix_tf.data import image_headers

# Extensions of the image files a folder of inputs or pairs may hold (lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')

MIN_SIDE = 32  # Pixels; a pair half smaller than this holds no shoe.
# What tf.io.decode_image reads; MPO is Pillow's name for camera JPEGs with extra frames.
READABLE_FORMATS = ('JPEG', 'MPO', 'PNG', 'BMP', 'GIF', 'WEBP')


def problem(path: str, ab_pair: bool) -> str | None:
    """Why `path` cannot be used (one short phrase), or None when it can.

    The size its header declares is checked first (`header`, `size_problem`), so a huge,
    bomb-like or cut-short huge image is refused by its size, and never opened further.
    """
    try:
        found = image_headers.declared(path)
    except OSError as error:
        return f'not readable ({str(error)[:80] or type(error).__name__})'
    if found and image_headers.size_problem(*found[1:]):
        return image_headers.size_problem(*found[1:])
    try:
        with Image.open(path) as image:
            width, height, format_ = image.width, image.height, image.format
    except Image.UnidentifiedImageError:
        empty = os.path.isfile(path) and not os.path.getsize(path)
        return f'not a readable image ({"empty file" if empty else "unknown format"})'
    except Image.DecompressionBombError:  # Pillow's own limit, far over MAX_PIXELS.
        return f'over the limit of {image_headers.MAX_PIXELS} pixels; scale it down'
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        return f'not a readable image ({str(error)[:80] or type(error).__name__})'
    if format_ not in READABLE_FORMATS:
        return f'{format_} is not read by TensorFlow (use PNG or JPEG)'
    # A GIF's frames count too (TensorFlow reads every one); Pillow's size covers the rest.
    pixels = found[3] if found and format_ == 'GIF' else None
    if found and format_ == 'GIF':
        height, width = found[1:3]
    too_large = image_headers.size_problem(height, width, pixels)
    if too_large:
        return too_large
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


class ImageTooLarge(UnreadableImage):
    """An image whose declared size is over the limits (`size_problem`), refused before
    decoding; `height` and `width` are the declared size (0 when Pillow only says "too many
    pixels")."""

    def __init__(self, message: str, height: int = 0, width: int = 0):
        super().__init__(message)
        self.height, self.width = height, width


def check_declared_size(data: bytes,
                        max_side: int = image_headers.MAX_SIDE) -> tuple[int, int]:
    """(height, width) declared in an image's header, read without decoding: `header` for
    JPEG/PNG/GIF/BMP/WebP, Pillow's lazy open for the rest (TIFF, ...).

    Raises ImageTooLarge over `size_problem`'s limits, UnreadableImage('corrupt or truncated
    image') when no header gives a size (decoding then cannot be bounded).
    """
    found = image_headers.header(data)
    if found:
        _, height, width, pixels = found
    else:
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
            pixels = width * height
        except Image.DecompressionBombError:
            raise ImageTooLarge(f'over the limit of {image_headers.MAX_PIXELS} pixels; '
                                f'scale it down') from None
        except Exception:  # noqa: BLE001 -- any header Pillow cannot parse: no size known.
            raise UnreadableImage('corrupt or truncated image') from None
    reason = image_headers.size_problem(height, width, pixels, max_side)
    if reason:
        raise ImageTooLarge(reason, height, width)
    return height, width


def decode(data: bytes,
           max_side: int = image_headers.MAX_SIDE) -> tuple[np.ndarray, str | None]:
    """Encoded image -> (uint8 BGR [H, W, 3], OpenCV's channel order; conversion made or None).

    The conversion is '16-bit' (scaled to 8 bits), 'grayscale' (repeated), 'alpha' (composited
    on white) or 'CMYK' (converted by OpenCV). The declared size is checked first
    (`check_declared_size`, at most `max_side` a side and MAX_PIXELS), so a huge or
    bomb-like image is refused before OpenCV allocates it. Raises UnreadableImage: 'not an
    image file', 'corrupt or truncated image', 'unsupported pixel type ...', or its subclass
    ImageTooLarge.
    """
    if not data.startswith(_SIGNATURES):
        raise UnreadableImage('not an image file')
    height, width = check_declared_size(data, max_side)
    if not height or not width:
        raise UnreadableImage('corrupt or truncated image')
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise UnreadableImage('corrupt or truncated image')
    height, width = image.shape[:2]
    if max(height, width) > min(max_side, image_headers.MAX_SIDE) or (
            height * width > image_headers.MAX_PIXELS):  # A decoder that read another size.
        raise ImageTooLarge(image_headers.size_problem(*image.shape[:2], max_side=max_side),
                            *image.shape[:2])
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
