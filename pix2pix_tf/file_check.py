"""Which image files of a folder dataset can train: checked from their headers, before any run.

A file is skipped, with its reason, when it
- is not an image TensorFlow decodes (a text file named .jpg, a zero-byte file, a TIFF, a PPM
  named .png): "not a readable image" / "<format> is not read by TensorFlow";
- is an AB pair file whose width is not twice its height ("not an AB pair");
- is smaller than MIN_SIDE pixels high or wide ("too small").

Only headers are read (Pillow opens lazily), about 0.1 ms a file. A file whose header is
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
