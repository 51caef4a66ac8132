"""Which image files of a folder dataset can train: checked from their headers, before any run.

A file is skipped, with its reason, when it
- is not an image TensorFlow decodes (a text file named .jpg, a zero-byte file, a TIFF, a PPM
  named .png): "not a readable image" / "<format> is not read by TensorFlow";
- is an AB pair file whose width is not twice its height ("not an AB pair");
- is smaller than MIN_SIDE pixels high or wide ("too small").

`sniff` reads the size of an encoded image (bytes, not a file) from its header, as the served
model does, so clients can refuse what it would refuse. Only headers are read (Pillow opens
lazily), about 0.1 ms a file. A file whose header is
sound but whose data is cut short still fails in decoding: training skips it there
(`ignore_errors`), evaluation too, without a name. Results are cached per folder and
modification time, so periodic evaluation does not re-read the headers.
"""

import functools
import os

from PIL import Image

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
