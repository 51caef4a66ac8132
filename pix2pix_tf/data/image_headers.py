"""Image sizes read from headers, without decoding and without TensorFlow or Pillow: the
limits every path that decodes a user's image applies before it decodes.

- `header(data)`: (format, height, width, pixels) of encoded JPEG/PNG/GIF/BMP/WebP bytes
  from their header alone; `pixels` is what decoding holds at once (for a GIF, every frame:
  TensorFlow's decoder reads them all). `sniff(data)`: the same without `pixels`.
- `declared(path)`: `header` of a file, reading only its start (a GIF whole, up to a limit).
- `size_problem(height, width, pixels)`: why such a size is refused (over MAX_SIDE a side or
  MAX_PIXELS in all, or a tighter side limit such as a served model's), or None.

The Python twin of `pix2pix_tf.data.images.encoded_header` (which runs inside the serving
signature and the training pipeline): clients refuse what the model would refuse without
sending it, and folder checks skip what training would fail on.
"""

# The largest image any path decodes (training folders, the dataset builder, the demo's photo
# upload, clients), checked from the declared size in its header before decoding: 16384 a
# side and 64 Mi pixels take the largest camera photos (61 MP, 9504x6336), and bound one
# decoded image to 512 MiB (16-bit RGBA) where OpenCV's own limit (2^30 pixels) allows 8 GiB.
MAX_SIDE = 16384
MAX_PIXELS = 2 ** 26

# How much of a file `declared` reads for its header: a JPEG's frame header can follow 64 KB of
# EXIF; a GIF is read whole (every frame's descriptor counts), up to GIF_MAX_FILE_BYTES.
HEADER_BYTES = 256 * 1024
GIF_MAX_FILE_BYTES = 64 * 2 ** 20


def declared(path: str) -> tuple[str, int, int, int] | None:
    """`header` of the file at `path` (its first HEADER_BYTES; a GIF's whole file)."""
    with open(path, 'rb') as file:
        start = file.read(HEADER_BYTES)
        if start[:4] == b'GIF8':
            start += file.read(GIF_MAX_FILE_BYTES - len(start) + 1)
            if len(start) > GIF_MAX_FILE_BYTES:  # Over GIF_MAX_BLOCKS blocks to walk anyway.
                return 'GIF', 0, 0, GIF_FLOOD
    return header(start)


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
GIF_FLOOD = 2 ** 40  # The pixels such a GIF counts for: over every limit.


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
        frame_pixels = GIF_FLOOD
    return height, width, max(height * width, frame_pixels)


def header(data: bytes) -> tuple[str, int, int, int] | None:
    """(format, height, width, pixels) of an encoded JPEG/PNG/GIF/BMP/WebP from its header
    bytes alone; None for other or truncated data.

    `pixels` is what decoding holds at once: height x width, or for a GIF the sum over its
    frames (see `_gif_size`). The Python twin of `pix2pix_tf.data.images.encoded_header` (which
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
    if pixels >= GIF_FLOOD:
        return 'a GIF with too many frames or data blocks; send one frame, as PNG'
    if max(height, width) > max_side:
        return (f'{width}x{height} pixels is larger than the limit of {max_side} pixels a '
                f'side; scale it down')
    frames = ' in all its frames' if pixels > height * width else ''
    return (f'{width}x{height} pixels is {pixels} pixels{frames}, over the limit of '
            f'{MAX_PIXELS}; scale it down')
