"""Turning raw files into sketch/photo examples, for the `sketch2photo` TFDS builder.

Everything here is plain OpenCV and NumPy (no TensorFlow), runs in worker threads (OpenCV
releases the GIL, so two threads use two cores), and never raises on a bad file: a file that
cannot become an example is reported as skipped, with a reason, and the build goes on.

Conventions: photos are RGB uint8 padded to a square on white and resized to `size` x `size`;
sketches are uint8 one-channel, black strokes on white. Examples carry encoded bytes (sketch:
PNG, lossless; photo: JPEG quality 95), which TFDS stores as they are.
"""

import collections
import concurrent.futures
import hashlib
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np

from pix2pix_tf.data import edges
from pix2pix_tf.data import image_files
from pix2pix_tf.data import image_headers

MIN_SIDE = 32  # Smaller photos are skipped: nothing useful survives upscaling to 256.
JPEG_QUALITY = 95


class SkippedFile(Exception):
    """A file that cannot become an example; the message is the reason shown in the summary."""


def split_of(example_id: str) -> str:
    """'train' (90%), 'validation' (5%) or 'test' (5%), from an MD5 hash of the id.

    Stable across runs, machines and Python versions (unlike `hash()`), and independent of the
    order or number of files.
    """
    bucket = int(hashlib.md5(example_id.encode('utf-8')).hexdigest()[:8], 16) % 100
    return 'train' if bucket < 90 else 'validation' if bucket < 95 else 'test'


def decode_image(data: bytes) -> tuple[np.ndarray, str | None]:
    """Encoded bytes -> (RGB uint8 [H, W, 3], conversion done or None); raises SkippedFile.

    Grayscale, CMYK, 16-bit and palette images are converted; transparent pixels are composited
    on white (the product-photo background). See `image_files.decode`, which refuses an image
    whose header declares more than its limits before decoding it.
    """
    try:
        image, converted = image_files.decode(data)
    except image_files.ImageTooLarge:  # One reason for all sizes: one line in the summary.
        raise SkippedFile(f'too large (over {image_headers.MAX_SIDE} pixels a side or '
                          f'{image_headers.MAX_PIXELS} in all)') from None
    except image_files.UnreadableImage as error:
        raise SkippedFile(str(error)) from None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), converted


def square_photo(photo: np.ndarray, size: int) -> np.ndarray:
    """Pads an RGB photo to a square on white (centred) and resizes it to size x size."""
    height, width = photo.shape[:2]
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    square = cv2.copyMakeBorder(photo, top, side - height - top, left, side - width - left,
                                cv2.BORDER_CONSTANT, value=(255, 255, 255))
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interpolation)


def _encode(sketch: np.ndarray, photo: np.ndarray) -> dict:
    ok_sketch, sketch_png = cv2.imencode('.png', sketch)
    ok_photo, photo_jpeg = cv2.imencode('.jpg', cv2.cvtColor(photo, cv2.COLOR_RGB2BGR),
                                        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok_sketch and ok_photo
    return {'sketch': sketch_png.tobytes(), 'photo': photo_jpeg.tobytes()}


def photo_example(data: bytes, size: int = 256) -> tuple[dict, str | None]:
    """A product photo -> ({'sketch': PNG bytes, 'photo': JPEG bytes}, conversion or None).

    The sketch is made by `pix2pix_tf.data.edges.photo_to_sketch` from the squared photo.
    """
    photo, converted = decode_image(data)
    if min(photo.shape[:2]) < MIN_SIDE:
        raise SkippedFile(f'too small (under {MIN_SIDE} px)')
    photo = square_photo(photo, size)
    return _encode(edges.photo_to_sketch(photo), photo), converted


def ab_example(data: bytes, size: int = 256) -> tuple[dict, str | None]:
    """A pix2pix AB image (sketch LEFT, photo right) -> (example bytes, conversion or None)."""
    pair, converted = decode_image(data)
    height, width = pair.shape[:2]
    if abs(width - 2 * height) > 2:
        raise SkippedFile('not an AB pair (width is not twice the height)')
    if height < MIN_SIDE:
        raise SkippedFile(f'too small (under {MIN_SIDE} px)')
    half = width // 2
    sketch = cv2.cvtColor(np.ascontiguousarray(pair[:, :half]), cv2.COLOR_RGB2GRAY)
    photo = np.ascontiguousarray(pair[:, half:2 * half])
    if (height, half) != (size, size):
        sketch = cv2.resize(sketch, (size, size), interpolation=cv2.INTER_AREA)
        photo = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
    return _encode(sketch, photo), converted


class SkipReport:
    """Counts skipped and converted files by reason, for the summary at the end of a build."""

    def __init__(self):
        self.skipped = collections.defaultdict(list)
        self.converted = collections.Counter()
        self.written = 0

    def add(self, other: 'SkipReport') -> None:
        """Adds another report's counts to this one."""
        for reason, files in other.skipped.items():
            self.skipped[reason].extend(files)
        self.converted.update(other.converted)
        self.written += other.written

    def summary(self, name: str) -> str:
        lines = [f'{name}: {self.written} examples written, '
                 f'{sum(map(len, self.skipped.values()))} files skipped.']
        for reason, files in sorted(self.skipped.items()):
            shown = ', '.join(files[:3]) + (', ...' if len(files) > 3 else '')
            lines.append(f'  skipped {len(files)} {reason}: {shown}')
        for conversion, count in sorted(self.converted.items()):
            lines.append(f'  converted {count} {conversion} to RGB')
        return '\n'.join(lines)


def process_files(files: Iterable[tuple[str, Callable[[], bytes]]],
                  make_example: Callable[[bytes], tuple[dict, str | None]],
                  report: SkipReport, workers: int | None = None,
                  chunk: int = 64) -> Iterator[tuple[str, dict]]:
    """Yields (name, example) for each (name, read_bytes) that makes one, in input order.

    Files are read on the calling thread (zip members cannot be read concurrently) and turned
    into examples by `workers` threads (default: $SKETCH2PHOTO_WORKERS, else one per core).
    """
    workers = workers or int(os.environ.get('SKETCH2PHOTO_WORKERS', 0)) or os.cpu_count() or 1

    def run(item):
        name, data = item
        try:
            return name, *make_example(data), None
        except SkippedFile as reason:
            return name, None, None, str(reason)
        except (cv2.error, ValueError) as error:  # Anything else a strange file can trigger.
            return name, None, None, f'unreadable ({type(error).__name__})'

    with concurrent.futures.ThreadPoolExecutor(workers) as executor:
        batch = []
        for name, read in files:
            try:
                batch.append((name, read()))
            except (OSError, zipfile.BadZipFile) as error:
                report.skipped[f'unreadable ({type(error).__name__})'].append(name)
            if len(batch) == chunk:
                yield from _collect(executor.map(run, batch), report)
                batch = []
        yield from _collect(executor.map(run, batch), report)


def _collect(results, report: SkipReport):
    for name, example, converted, reason in results:
        if reason:
            report.skipped[reason].append(name)
            continue
        if converted:
            report.converted[converted] += 1
        report.written += 1
        yield name, example


def iter_folder(root) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(path relative to root, reader) of every file under root, sorted, hidden files skipped."""
    root = os.fspath(root)
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith('.'))
        for name in sorted(names):
            if name.startswith('.'):
                continue
            path = os.path.join(directory, name)
            yield os.path.relpath(path, root).replace(os.sep, '/'), (
                lambda path=path: open(path, 'rb').read())


def iter_zip(path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(member name, reader) of every file in a zip archive, in archive order."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.is_dir() and not os.path.basename(info.filename).startswith('.'):
                yield info.filename, (lambda info=info: archive.read(info))


def iter_tar(path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(member name, reader) of every file in a (gzipped) tar archive, streamed in order."""
    import tarfile  # Only edges2shoes.tar.gz needs it.

    with tarfile.open(os.fspath(path), 'r|*') as archive:
        for member in archive:
            if member.isfile() and not os.path.basename(member.name).startswith('.'):
                data = archive.extractfile(member).read()  # Streamed: read it now.
                yield member.name, (lambda data=data: data)
