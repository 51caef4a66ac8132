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
import io
import os

import cv2
import numpy as np
from PIL import Image

# Extensions of the image files a folder of inputs or pairs may hold (lower case).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')

MIN_SIDE = 32  # Pixels; a pair half smaller than this holds no shoe.
# The largest image any path decodes (training folders, the dataset builder, the demo's photo
# upload, clients), checked from the declared size in its header before decoding: 16384 a
# side and 64 Mi pixels take the largest camera photos (61 MP, 9504x6336), and bound one
# decoded image to 512 MiB (16-bit RGBA) where OpenCV's own limit (2^30 pixels) allows 8 GiB.
MAX_SIDE = 16384
MAX_PIXELS = 2 ** 26
# What tf.io.decode_image reads; MPO is Pillow's name for camera JPEGs with extra frames.
READABLE_FORMATS = ('JPEG', 'MPO', 'PNG', 'BMP', 'GIF', 'WEBP')


# How much of a file `problem` reads for its header: a JPEG's frame header can follow 64 KB of
# EXIF; a GIF is read whole (every frame's descriptor counts), up to GIF_MAX_FILE_BYTES.
HEADER_BYTES = 256 * 1024
GIF_MAX_FILE_BYTES = 64 * 2 ** 20


def _declared(path: str) -> tuple[str, int, int, int] | None:
    """`header` of the file at `path` (its first HEADER_BYTES; a GIF's whole file)."""
    with open(path, 'rb') as file:
        start = file.read(HEADER_BYTES)
        if start[:4] == b'GIF8':
            start += file.read(GIF_MAX_FILE_BYTES - len(start) + 1)
            if len(start) > GIF_MAX_FILE_BYTES:  # Over GIF_MAX_BLOCKS blocks to walk anyway.
                return 'GIF', 0, 0, _GIF_FLOOD
    return header(start)


def problem(path: str, ab_pair: bool) -> str | None:
    """Why `path` cannot be used (one short phrase), or None when it can.

    The size its header declares is checked first (`header`, `size_problem`), so a huge,
    bomb-like or cut-short huge image is refused by its size, and never opened further.
    """
    try:
        found = _declared(path)
    except OSError as error:
        return f'not readable ({str(error)[:80] or type(error).__name__})'
    if found and size_problem(*found[1:]):
        return size_problem(*found[1:])
    try:
        with Image.open(path) as image:
            width, height, format_ = image.width, image.height, image.format
    except Image.UnidentifiedImageError:
        empty = os.path.isfile(path) and not os.path.getsize(path)
        return f'not a readable image ({"empty file" if empty else "unknown format"})'
    except Image.DecompressionBombError:  # Pillow's own limit, far over MAX_PIXELS.
        return f'over the limit of {MAX_PIXELS} pixels; scale it down'
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        return f'not a readable image ({str(error)[:80] or type(error).__name__})'
    if format_ not in READABLE_FORMATS:
        return f'{format_} is not read by TensorFlow (use PNG or JPEG)'
    # A GIF's frames count too (TensorFlow reads every one); Pillow's size covers the rest.
    pixels = found[3] if found and format_ == 'GIF' else None
    if found and format_ == 'GIF':
        height, width = found[1:3]
    too_large = size_problem(height, width, pixels)
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


# What the serving signature reads by header, as named to users (it reads WebP too).
MODEL_FORMATS = ('JPEG', 'PNG', 'GIF', 'BMP')


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


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a WebP's first chunk: VP8 (lossy), VP8L (lossless) or VP8X (the
    extended format's canvas, which libwebp requires the image inside to match)."""
    chunk = data[12:16]
    if chunk == b'VP8 ' and data[23:26] == b'\x9d\x01\x2a':
        return (int.from_bytes(data[28:30], 'little') & 0x3FFF,
                int.from_bytes(data[26:28], 'little') & 0x3FFF)
    if chunk == b'VP8L' and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], 'little')
        return ((bits >> 14) & 0x3FFF) + 1, (bits & 0x3FFF) + 1
    if chunk == b'VP8X':
        return (int.from_bytes(data[27:30], 'little') + 1,
                int.from_bytes(data[24:27], 'little') + 1)
    return None


# The most blocks (frames, extensions, data sub-blocks) a GIF's header walk reads; a GIF with
# more (over 16 MB of image data, or a flood of tiny frames) counts as too large. It bounds the
# walk's time inside the serving signature (`images.encoded_header`, one loop step a block).
GIF_MAX_BLOCKS = 2 ** 16
_GIF_FLOOD = 2 ** 40  # The pixels such a GIF counts for: over every limit.


def _gif_size(data: bytes) -> tuple[int, int, int]:
    """(height, width, pixels) of a GIF: the extent of its logical screen and of every frame,
    and the sum of the frames' areas (TensorFlow's GIF decoder holds every frame in memory,
    even when it returns only the first). The twin of `images._gif_header`, step for step."""
    height, width = (int.from_bytes(data[8:10], 'little'),
                     int.from_bytes(data[6:8], 'little'))
    frame_pixels = 0
    index = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    in_block = False  # Inside an extension's or a frame's chain of data sub-blocks.
    for _ in range(GIF_MAX_BLOCKS):
        if index >= len(data):
            break
        if in_block:
            in_block = data[index] != 0
            index += 1 + data[index]
        elif data[index] == 0x2C and index + 10 <= len(data):  # A frame's descriptor.
            left, top, frame_width, frame_height = (
                int.from_bytes(data[index + offset:index + offset + 2], 'little')
                for offset in (1, 3, 5, 7))
            height, width = max(height, top + frame_height), max(width, left + frame_width)
            frame_pixels += frame_width * frame_height
            flags = data[index + 9]
            # Descriptor, local colour table, LZW code size byte.
            index += 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            in_block = True
        elif data[index] == 0x21:  # An extension: introducer, label, then sub-blocks.
            index += 2
            in_block = True
        else:
            break  # The trailer, or bytes no decoder reads past.
    else:
        frame_pixels = _GIF_FLOOD
    return height, width, max(height * width, frame_pixels)


def header(data: bytes) -> tuple[str, int, int, int] | None:
    """(format, height, width, pixels) of an encoded JPEG/PNG/GIF/BMP/WebP from its header
    bytes alone; None for other or truncated data.

    `pixels` is what decoding holds at once: height x width, or for a GIF the sum over its
    frames (see `_gif_size`). The Python twin of `pix2pix_tf.images.encoded_header` (which
    runs inside the serving signature): clients refuse what the model would refuse without
    sending it.
    """
    if len(data) < 26:
        return None
    if data[:4] == b'GIF8':
        return 'GIF', *_gif_size(data)
    if data[:3] == b'\xff\xd8\xff':
        format_, size = 'JPEG', _jpeg_size(data)
    elif data[:8] == b'\x89PNG\r\n\x1a\n':
        format_, size = 'PNG', (int.from_bytes(data[20:24], 'big'),
                                int.from_bytes(data[16:20], 'big'))
    elif data[:2] == b'BM':
        format_, size = 'BMP', (abs(int.from_bytes(data[22:26], 'little', signed=True)),
                                int.from_bytes(data[18:22], 'little', signed=True))
    elif data[:4] == b'RIFF' and data[8:12] == b'WEBP' and len(data) >= 30:
        format_, size = 'WEBP', _webp_size(data)
    else:
        return None
    return (format_, *size, abs(size[0] * size[1])) if size else None


def sniff(data: bytes) -> tuple[str, int, int] | None:
    """(format, height, width) of an encoded JPEG/PNG/GIF/BMP/WebP from its header; None
    otherwise (`header` without the pixel count; the twin of `images.encoded_size`)."""
    found = header(data)
    return found[:3] if found else None


def size_problem(height: int, width: int, pixels: int | None = None,
                 max_side: int = MAX_SIDE) -> str | None:
    """Why an image of this declared size is refused (one short line), or None.

    `pixels`: what decoding it holds (`header`; default height x width); `max_side`: a
    tighter side limit than MAX_SIDE (a served model's --max_sketch_size)."""
    max_side = min(max_side, MAX_SIDE)
    pixels = height * width if pixels is None else pixels
    if max(height, width) <= max_side and pixels <= MAX_PIXELS:
        return None
    if pixels >= _GIF_FLOOD:
        return 'a GIF with too many frames or data blocks; send one frame, as PNG'
    if max(height, width) > max_side:
        return (f'{width}x{height} pixels is larger than the limit of {max_side} pixels a '
                f'side; scale it down')
    frames = ' in all its frames' if pixels > height * width else ''
    return (f'{width}x{height} pixels is {pixels} pixels{frames}, over the limit of '
            f'{MAX_PIXELS}; scale it down')


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


def check_declared_size(data: bytes, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(height, width) declared in an image's header, read without decoding: `header` for
    JPEG/PNG/GIF/BMP/WebP, Pillow's lazy open for the rest (TIFF, ...).

    Raises ImageTooLarge over `size_problem`'s limits, UnreadableImage('corrupt or truncated
    image') when no header gives a size (decoding then cannot be bounded).
    """
    found = header(data)
    if found:
        _, height, width, pixels = found
    else:
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
            pixels = width * height
        except Image.DecompressionBombError:
            raise ImageTooLarge(f'over the limit of {MAX_PIXELS} pixels; scale it '
                                f'down') from None
        except Exception:  # noqa: BLE001 -- any header Pillow cannot parse: no size known.
            raise UnreadableImage('corrupt or truncated image') from None
    reason = size_problem(height, width, pixels, max_side)
    if reason:
        raise ImageTooLarge(reason, height, width)
    return height, width


def decode(data: bytes, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str | None]:
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
    if max(image.shape[:2]) > min(max_side, MAX_SIDE) or image.shape[0] * image.shape[1] > (
            MAX_PIXELS):  # A decoder that went by another size than the header's.
        raise ImageTooLarge(size_problem(*image.shape[:2], max_side=max_side),
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
