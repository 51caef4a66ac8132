"""A seeded corpus of hostile image bytes (issue 23), built in memory in a few seconds.

`corpus()` -> list of `Case`, the same on every call and machine (numpy RNG seeded with SEED):

- valid images of every kind the paths read: PNG (gray, RGB, RGBA, palette, 16-bit gray and
  colour, gray + alpha), JPEG (gray, RGB, CMYK, progressive), GIF (still, 3 frames), BMP
  (RGB, palette, top-down rows), WebP (lossy, lossless with alpha, extended VP8X), all 64x128
  (an AB pair: height 64, width 128), and TIFF (read by the dataset builder only);
- each of those truncated at fixed and random lengths, and with random bytes overwritten (in
  the header, or anywhere);
- declared sizes up to 65535x65535 written into otherwise valid headers: PNG IHDR (with a
  correct CRC), JPEG SOF, GIF logical screen and first frame, BMP DIB, WebP VP8 / VP8L / VP8X;
  also 0x0 declared, and a 0-byte file;
- a zip-bomb-like PNG (a 400 KB file whose IDAT inflates to 20000x20000 pixels), one just over
  the pixel limit (8200x8200), a real 4096x2048 one (within every limit: it must work), a GIF
  of 3000 frames (over the pixel limit in all, 32 Ki pixels each), and a GIF flooded with
  tiny data blocks (over GIF_MAX_BLOCKS).

Each case has a unique `name`, its bytes, `expect` ('valid': must decode where its shape is
usable, 'refuse': must be refused, 'any': refused or decoded, never a crash) and `declared`,
the (height, width, pixels) its header declares where the corpus wrote or knows it (None
otherwise), for checking that a path's size limit refuses it before decoding.
"""

import dataclasses
import functools
import io
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

SEED = 23
HEIGHT, WIDTH = 64, 128  # An AB pair's shape: every path can use a valid case.
# Declared (height, width): over every limit (16384 a side, 2^26 pixels, 4096 served).
HUGE_SIZES = ((65535, 65535), (65535, 1), (1, 65535), (16385, 16385), (20000, 10000),
              (30000, 60000), (16385, 32), (32, 16385))
# Declared sizes that do not match the data: whatever a decoder makes of them, never a crash.
ODD_SIZES = ((1, 1), (1, 2), (63, 128), (64, 129), (4097, 64), (2, 4097), (640, 1280))


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    expect: str  # 'valid', 'refuse' or 'any'.
    declared: tuple[int, int, int] | None = None  # (height, width, pixels) of the header.
    extension: str = 'png'  # What a file of this case is named (the real format's).


def _pillow(image: Image.Image, format_: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_, **options)
    return buffer.getvalue()


def _pattern(rng: np.random.Generator) -> np.ndarray:
    """uint8 [64, 128, 3]: a dark shoe-like blob with strokes on white, plus a little noise."""
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    cv2.ellipse(image, (WIDTH // 4, HEIGHT // 2), (24, 12), 0, 0, 360, (0, 0, 0), 2)
    cv2.rectangle(image, (WIDTH // 2 + 8, 12), (WIDTH - 8, HEIGHT - 12), (40, 90, 160), -1)
    noise = rng.integers(0, 24, image.shape, dtype=np.uint8)
    return np.clip(image.astype(np.int16) - noise, 0, 255).astype(np.uint8)


def valid_images(rng: np.random.Generator) -> dict[str, tuple[bytes, str]]:
    """{name: (bytes, extension)} of the valid 64x128 images (see the module docstring)."""
    rgb = _pattern(rng)
    image = Image.fromarray(rgb)
    gray = image.convert('L')
    rgba = image.convert('RGBA')
    rgba.putalpha(Image.fromarray(np.where(rgb[..., 0] > 128, 0, 255).astype(np.uint8)))
    wide16 = (rgb.astype(np.uint16) * 257)[..., ::-1]  # OpenCV writes BGR.
    frames = [gray.point(lambda value, shift=shift: (value + shift) % 256)
              for shift in (0, 60, 120)]
    bmp_top_down = bytearray(_pillow(image, 'BMP'))
    struct.pack_into('<i', bmp_top_down, 22, -HEIGHT)
    # Top-down rows: flip the stored rows so the picture stays upright.
    row_bytes = (WIDTH * 3 + 3) // 4 * 4
    offset = struct.unpack_from('<I', bmp_top_down, 10)[0]
    rows = [bytes(bmp_top_down[offset + i * row_bytes:offset + (i + 1) * row_bytes])
            for i in range(HEIGHT)]
    bmp_top_down[offset:offset + HEIGHT * row_bytes] = b''.join(reversed(rows))
    return {
        'png_gray': (_pillow(gray, 'PNG'), 'png'),
        'png_rgb': (_pillow(image, 'PNG'), 'png'),
        'png_rgba': (_pillow(rgba, 'PNG'), 'png'),
        'png_palette': (_pillow(image.convert('P'), 'PNG'), 'png'),
        'png_gray_alpha': (_pillow(rgba.convert('LA'), 'PNG'), 'png'),
        'png_gray16': (cv2.imencode('.png', wide16[..., 0])[1].tobytes(), 'png'),
        'png_rgb16': (cv2.imencode('.png', wide16)[1].tobytes(), 'png'),
        'jpeg_gray': (_pillow(gray, 'JPEG'), 'jpg'),
        'jpeg_rgb': (_pillow(image, 'JPEG', quality=90), 'jpg'),
        'jpeg_cmyk': (_pillow(image.convert('CMYK'), 'JPEG'), 'jpg'),
        'jpeg_progressive': (_pillow(image, 'JPEG', progressive=True), 'jpg'),
        'gif_still': (_pillow(image.convert('P'), 'GIF'), 'gif'),
        'gif_frames': (_pillow(frames[0], 'GIF', save_all=True, append_images=frames[1:],
                               duration=100, loop=0, optimize=False), 'gif'),
        'bmp_rgb': (_pillow(image, 'BMP'), 'bmp'),
        'bmp_palette': (_pillow(image.convert('P'), 'BMP'), 'bmp'),
        'bmp_top_down': (bytes(bmp_top_down), 'bmp'),
        'webp_lossy': (_pillow(image, 'WEBP', quality=80), 'webp'),
        'webp_lossless_alpha': (_pillow(rgba, 'WEBP', lossless=True), 'webp'),
        'webp_extended': (_pillow(image, 'WEBP', exif=b'Exif\0\0MM\0*\0\0\0\x08\0\0'), 'webp'),
    }


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack('>I', len(payload)) + kind + payload
            + struct.pack('>I', zlib.crc32(kind + payload)))


def png_with_size(data: bytes, height: int, width: int) -> bytes:
    """The PNG with IHDR's width and height replaced, its CRC recomputed (a valid header)."""
    ihdr = bytearray(data[16:29])
    struct.pack_into('>II', ihdr, 0, width, height)
    return data[:8] + _png_chunk(b'IHDR', bytes(ihdr)) + data[33:]


def png_bomb(height: int, width: int) -> bytes:
    """A gray 8-bit PNG whose IDAT inflates to height x width white pixels (all rows
    present): a small file, a huge image."""
    compressor = zlib.compressobj(9)
    row = b'\0' + b'\xff' * width  # Filter byte 0, then the row.
    rows_per_piece = max(1, (1 << 22) // len(row))
    pieces = [compressor.compress(row * min(rows_per_piece, height - start))
              for start in range(0, height, rows_per_piece)]
    idat = b''.join(pieces) + compressor.flush()
    return (b'\x89PNG\r\n\x1a\n'
            + _png_chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
            + _png_chunk(b'IDAT', idat) + _png_chunk(b'IEND', b''))


def _jpeg_sof(data: bytes) -> int | None:
    """Offset of a JPEG's first start-of-frame marker (0xFF 0xC0..0xCF but DHT/JPG/DAC)."""
    index = 2
    while index + 9 <= len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return index
        index += 2 + struct.unpack_from('>H', data, index + 2)[0]
    return None


def jpeg_with_size(data: bytes, height: int, width: int) -> bytes:
    out = bytearray(data)
    struct.pack_into('>HH', out, _jpeg_sof(data) + 5, height, width)
    return bytes(out)


def _gif_first_frame(data: bytes) -> int:
    """Offset of a GIF's first image descriptor (0x2C)."""
    index = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[index] == 0x21:  # Extensions: introducer, label, sub-blocks.
        index += 2
        while data[index]:
            index += 1 + data[index]
        index += 1
    return index


def gif_with_size(data: bytes, height: int, width: int, where: str) -> bytes:
    """The GIF with its logical screen ('screen'), first frame ('frame') or both resized."""
    out = bytearray(data)
    if where in ('screen', 'both'):
        struct.pack_into('<HH', out, 6, width, height)
    if where in ('frame', 'both'):
        struct.pack_into('<HH', out, _gif_first_frame(data) + 5, width, height)
    return bytes(out)


def bmp_with_size(data: bytes, height: int, width: int) -> bytes:
    out = bytearray(data)
    struct.pack_into('<ii', out, 18, width, height)
    return bytes(out)


def webp_with_size(data: bytes, height: int, width: int) -> bytes:
    """The WebP with its first chunk's size replaced (VP8: 14 bits a side, VP8L: 14 bits of
    size - 1, VP8X: 24 bits of size - 1); a size a layout cannot hold is clipped to its
    largest."""
    out = bytearray(data)
    chunk = bytes(out[12:16])
    if chunk == b'VP8 ':
        struct.pack_into('<HH', out, 26, min(width, 16383), min(height, 16383))
    elif chunk == b'VP8L':
        bits = struct.unpack_from('<I', out, 21)[0] & ~((1 << 28) - 1)
        bits |= (min(max(width, 1), 16384) - 1) | ((min(max(height, 1), 16384) - 1) << 14)
        struct.pack_into('<I', out, 21, bits)
    else:  # VP8X
        out[24:27] = (max(width, 1) - 1).to_bytes(3, 'little')
        out[27:30] = (max(height, 1) - 1).to_bytes(3, 'little')
    return bytes(out)


def _webp_declared(data: bytes, height: int, width: int) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b'VP8 ':
        return min(height, 16383), min(width, 16383)
    if chunk == b'VP8L':
        return min(max(height, 1), 16384), min(max(width, 1), 16384)
    return max(height, 1), max(width, 1)


def with_size(name: str, data: bytes, height: int, width: int) -> list[tuple[str, bytes, tuple]]:
    """[(name suffix, bytes, declared (height, width, pixels))] of `data` declaring a size."""
    format_ = name.split('_')[0]
    if format_ == 'png':
        return [('', png_with_size(data, height, width), (height, width, height * width))]
    if format_ == 'jpeg':
        return [('', jpeg_with_size(data, height, width), (height, width, height * width))]
    if format_ == 'bmp':
        return [('', bmp_with_size(data, height, width), (height, width, height * width))]
    if format_ == 'webp':
        declared = _webp_declared(data, height, width)
        return [('', webp_with_size(data, height, width), (*declared, declared[0] * declared[1]))]
    if format_ == 'gif':
        cases = []
        for where in ('screen', 'frame', 'both'):
            # The extent over the screen and the frame (the other keeps 64x128).
            extent = ((height, width) if where == 'both'
                      else (max(height, HEIGHT), max(width, WIDTH)))
            cases.append((f'_{where}', gif_with_size(data, height, width, where),
                          (*extent, extent[0] * extent[1])))
        return cases
    return []


def gif_many_frames(frames: int, height: int = 128, width: int = 256) -> bytes:
    """An animated GIF of `frames` full-size white frames (one frame's data repeated)."""
    single = _pillow(Image.new('L', (width, height), 255), 'GIF')
    start = _gif_first_frame(single)
    return single[:start] + single[start:-1] * frames + b'\x3b'


def gif_block_flood(blocks: int = 70000) -> bytes:
    """A GIF whose comment extension is `blocks` one-byte data sub-blocks, then a frame."""
    single = _pillow(Image.new('L', (WIDTH, HEIGHT), 255), 'GIF')
    start = _gif_first_frame(single)
    return single[:start] + b'\x21\xfe' + b'\x01x' * blocks + b'\x00' + single[start:]


@functools.lru_cache(maxsize=1)
def corpus() -> tuple[Case, ...]:
    """The corpus (see the module docstring); built once per process."""
    rng = np.random.default_rng(SEED)
    cases = [Case('empty_file', b'', 'refuse')]
    for name, (data, extension) in valid_images(rng).items():
        known = (HEIGHT, WIDTH, HEIGHT * WIDTH)
        cases.append(Case(name, data, 'valid', known, extension))
        cut_points = sorted({1, 8, 16, 25, 26, 33, 64, len(data) // 2, len(data) - 1}
                            | set(rng.integers(1, len(data), 12).tolist()))
        for cut in cut_points:
            cases.append(Case(f'{name}_cut{cut}', data[:cut], 'any', None, extension))
        for index in range(14):
            mutated = bytearray(data)
            region = 64 if index < 7 else len(data)  # Header bytes, then anywhere.
            positions = rng.integers(0, min(region, len(data)), rng.integers(1, 9))
            for position in positions.tolist():
                mutated[position] = int(rng.integers(0, 256))
            cases.append(Case(f'{name}_mutated{index}', bytes(mutated), 'any', None, extension))
        for height, width in HUGE_SIZES + ODD_SIZES + ((0, 0), (0, WIDTH), (HEIGHT, 0)):
            for suffix, sized, declared in with_size(name, data, height, width):
                # Nothing to decode; but a GIF keeps a frame or screen of 64x128, and a
                # WebP header stores a side minus one (so it declares at least 1).
                expect = ('refuse' if 0 in (height, width) and suffix in ('', '_both')
                          and not name.startswith('webp') else 'any')
                cases.append(Case(f'{name}_{height}x{width}{suffix}', sized, expect, declared,
                                  extension))
                if (height, width) == HUGE_SIZES[0]:  # Also cut short after the header.
                    cut = max(200, 16 + (_gif_first_frame(sized) if name.startswith('gif')
                                         else _jpeg_sof(sized) if name.startswith('jpeg')
                                         else 0))
                    cases.append(Case(f'{name}_{height}x{width}{suffix}_cut', sized[:cut],
                                      'any', declared, extension))
    tiff = _pillow(Image.fromarray(_pattern(rng)), 'TIFF')
    cases += [Case('tiff_rgb', tiff, 'any', (HEIGHT, WIDTH, HEIGHT * WIDTH), 'tif'),
              Case('tiff_cut', tiff[:100], 'any', None, 'tif')]
    big = Image.new('L', (WIDTH, HEIGHT), 255)
    big_tiff = bytearray(_pillow(big, 'TIFF'))  # 256, 257: ImageWidth, ImageLength (SHORT).
    for offset in range(8, len(big_tiff) - 12, 2):
        tag = struct.unpack_from('<H', big_tiff, offset)[0]
        if tag in (256, 257) and struct.unpack_from('<HI', big_tiff, offset + 2) in (
                (3, 1), (4, 1)):
            struct.pack_into('<HII', big_tiff, offset + 2, 4, 1, 60000)
    cases.append(Case('tiff_60000x60000', bytes(big_tiff), 'any', (60000, 60000, 60000 ** 2),
                      'tif'))
    cases += [
        Case('png_bomb_20000x20000', png_bomb(20000, 20000), 'any', (20000, 20000, 20000 ** 2)),
        Case('png_bomb_8200x8200', png_bomb(8200, 8200), 'any', (8200, 8200, 8200 ** 2)),
        Case('png_bomb_2048x4096', png_bomb(2048, 4096), 'valid', (2048, 4096, 2048 * 4096)),
        Case('gif_3000_frames', gif_many_frames(3000), 'any', (128, 256, 3000 * 128 * 256),
             'gif'),
        Case('gif_block_flood', gif_block_flood(), 'any', (HEIGHT, WIDTH, 2 ** 40), 'gif'),
        Case('random_bytes', rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), 'refuse'),
        Case('text_named_png', b'<html>404 Not Found</html>' * 4, 'refuse'),
    ]
    names = [case.name for case in cases]
    assert len(set(names)) == len(names), 'case names must be unique'
    return tuple(cases)
