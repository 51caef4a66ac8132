"""Pixel conventions and image grids: the one place that converts uint8 <-> [-1, 1].

Models see float32 in [-1, 1] (sketch: 1 channel, photo: 3 channels); files, summaries and
served images are uint8 in [0, 255]. Training, evaluation and serving all convert here.
`encoded_header` / `encoded_size` read an encoded image's size from its header, so the serving
signature and the training pipeline can refuse an oversized image before decoding it.
"""

import tensorflow as tf


def to_model_range(pixels: tf.Tensor) -> tf.Tensor:
    """uint8 (or float) pixels in [0, 255] -> float32 in [-1, 1], any shape."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """Float images in [-1, 1] -> uint8 in [0, 255] (rounded, clipped), any shape."""
    pixels = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(pixels, 0.0, 255.0), tf.uint8)


def on_white(image: tf.Tensor) -> tf.Tensor:
    """Decoded uint8 [H, W, C], C in 1..4 -> uint8 [H, W, 3]; alpha composited on white paper."""
    channels = tf.shape(image)[-1]
    has_alpha = tf.equal(channels % 2, 0)
    pixels = tf.cast(image, tf.float32)
    alpha = tf.cond(has_alpha, lambda: pixels[..., -1:] / 255.0,
                    lambda: tf.ones_like(pixels[..., :1]))
    rgb = tf.cond(channels >= 3, lambda: pixels[..., :3],
                  lambda: tf.tile(pixels[..., :1], [1, 1, 3]))
    composited = tf.cast(tf.round(rgb * alpha + 255.0 * (1.0 - alpha)), tf.uint8)
    return tf.ensure_shape(composited, [None, None, 3])


def to_rgb(images: tf.Tensor) -> tf.Tensor:
    """[..., H, W, 1] grayscale -> [..., H, W, 3] by repeating the channel; 3 channels pass."""
    if images.shape[-1] == 1:
        return tf.repeat(images, 3, axis=-1)
    return images


def thicken_strokes(sketch: tf.Tensor, size: int) -> tf.Tensor:
    """Dark strokes on light paper, dilated by a size x size square (a min filter).

    `sketch`: float [H, W, 1] or [N, H, W, 1], any range in which strokes are darker than the
    paper. size 1 returns it unchanged. A person drawing with a wide pen makes such strokes.
    """
    if size <= 1:
        return sketch
    batched = sketch if sketch.shape.rank == 4 else sketch[tf.newaxis]
    thick = -tf.nn.max_pool2d(-batched, size, 1, 'SAME')
    return thick if sketch.shape.rank == 4 else thick[0]


def thin_strokes(sketch: tf.Tensor) -> tf.Tensor:
    """Dark strokes one pixel thinner (a 2x2 max filter: lines of one pixel may vanish)."""
    batched = sketch if sketch.shape.rank == 4 else sketch[tf.newaxis]
    thin = tf.nn.max_pool2d(batched, 2, 1, 'SAME')
    return thin if sketch.shape.rank == 4 else thin[0]


# Stroke jitter: which width change a jittered sketch gets (cumulative shares).
_THICKEN_3, _THICKEN_5 = 0.4, 0.6  # Else thinned.
_BREAK_CELL, _BREAK_SHARE = 8, 0.1  # Breaks: ~10% of 8x8-pixel cells erased to paper.


def jitter_strokes(sketch: tf.Tensor, seed: tf.Tensor, probability: float) -> tf.Tensor:
    """The training sketch augmentation of `--stroke_jitter` (stateless: same seed, same result).

    With `probability`, the strokes get thicker (3x3 in 40% of those cases, 5x5 in 20%) or
    thinner (40%); independently, with half that probability, about a tenth of the 8x8-pixel
    cells are erased to paper, breaking lines as a quick drawing does.

    Args:
      sketch: float [S, S, 1] in [0, 255], dark strokes on white (S a multiple of 8).
      seed: int [2] stateless seed.
      probability: in [0, 1]; 0 returns the sketch unchanged.
    """
    if not probability:
        return sketch
    width_seed, break_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    draw = tf.random.stateless_uniform([3], seed=width_seed)

    def changed():
        return tf.switch_case(
            tf.cast(tf.searchsorted([_THICKEN_3, _THICKEN_5], draw[1:2], side='right')[0],
                    tf.int32),
            [lambda: thicken_strokes(sketch, 3), lambda: thicken_strokes(sketch, 5),
             lambda: thin_strokes(sketch)])

    # Conditions, not selects: an unchanged sketch costs no dilation (the training pipeline's
    # most expensive step once --cache_mb holds the decoded pairs).
    sketch = tf.cond(draw[0] < probability, changed, lambda: sketch)

    def broken():
        size = tf.shape(sketch)[0]
        cells = tf.random.stateless_uniform([size // _BREAK_CELL, size // _BREAK_CELL, 1],
                                            seed=break_seed) < _BREAK_SHARE
        erase = tf.repeat(tf.repeat(cells, _BREAK_CELL, axis=0), _BREAK_CELL, axis=1)
        return tf.where(erase, tf.constant(255.0, sketch.dtype), sketch)

    return tf.cond(draw[2] < probability / 2, broken, lambda: sketch)


def sample_grid(sketch: tf.Tensor, generated_photo: tf.Tensor, photo: tf.Tensor) -> tf.Tensor:
    """One image with a row per example: sketch | generated photo | photo.

    Args:
      sketch: float [N, H, W, 1] in [-1, 1].
      generated_photo: float [N, H, W, 3] in [-1, 1].
      photo: float [N, H, W, 3] in [-1, 1].

    Returns:
      uint8 [1, N * H, 3 * W, 3], ready for `tf.summary.image` or a PNG encoder.
    """
    rows = tf.concat([to_rgb(to_uint8(sketch)), to_uint8(generated_photo), to_uint8(photo)],
                     axis=2)  # [N, H, 3W, 3]
    height_stack = tf.reshape(rows, [-1, rows.shape[2], 3])  # Rows stacked vertically.
    return height_stack[tf.newaxis]


def _header_bytes(encoded: tf.Tensor, offset: int, length: int) -> tf.Tensor:
    """Bytes [offset, offset + length) of a string scalar as int64 [length]."""
    return tf.cast(tf.io.decode_raw(tf.strings.substr(encoded, offset, length), tf.uint8),
                   tf.int64)


def _big_endian(data: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(data * tf.constant([2 ** 24, 2 ** 16, 2 ** 8, 1], tf.int64))


def _little_endian(data: tf.Tensor) -> tf.Tensor:
    weights = tf.constant([1, 2 ** 8, 2 ** 16, 2 ** 24], tf.int64)[:tf.shape(data)[0]]
    value = tf.reduce_sum(data * weights)
    # BMP heights are signed (negative = top-down rows).
    return tf.where(value >= 2 ** 31, 2 ** 32 - value, value)


def _byte_at(data: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """data[index : index + 10] of a uint8 [L] tensor as int64 [10] (the last byte repeated
    past the end)."""
    positions = tf.minimum(index + tf.range(10, dtype=tf.int64), tf.size(data, tf.int64) - 1)
    return tf.cast(tf.gather(data, positions), tf.int64)


# The most blocks the GIF walk reads (see image_headers.GIF_MAX_BLOCKS, its Python twin's).
GIF_MAX_BLOCKS = 2 ** 16
_GIF_FLOOD = 2 ** 40


def _gif_header(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width, pixels) int64 [3] of a GIF: the extent of its logical screen and of every
    frame, and the sum of the frames' areas (TensorFlow's GIF decoder reads every frame into
    memory, even with expand_animations=False). One loop step per block (frame, extension,
    data sub-block), at most GIF_MAX_BLOCKS: a GIF with more counts 2^40 pixels (refused).
    The twin of `image_headers._gif_size`, step for step."""
    data = tf.io.decode_raw(encoded, tf.uint8)
    length = tf.size(data, tf.int64)
    screen = _byte_at(data, tf.constant(6, tf.int64))
    height, width, flags = screen[2] + 256 * screen[3], screen[0] + 256 * screen[1], screen[4]
    start = 13 + tf.where(flags >= 128, tf.bitwise.left_shift(
        tf.constant(3, tf.int64), flags % 8 + 1), 0)

    def step(count, index, in_block, done, height, width, pixels):
        window = _byte_at(data, index)
        at_end = index >= length
        is_frame = ~at_end & ~in_block & tf.equal(window[0], 0x2C) & (index + 10 <= length)
        is_extension = ~at_end & ~in_block & tf.equal(window[0], 0x21)
        left, top = window[1] + 256 * window[2], window[3] + 256 * window[4]
        frame_width, frame_height = window[5] + 256 * window[6], window[7] + 256 * window[8]
        local_table = tf.where(window[9] >= 128, tf.bitwise.left_shift(
            tf.constant(3, tf.int64), window[9] % 8 + 1), 0)
        next_index = tf.where(in_block, index + 1 + window[0],
                              tf.where(is_frame, index + 11 + local_table, index + 2))
        stop = at_end | (~in_block & ~is_frame & ~is_extension)
        return (count + 1, tf.where(stop, index, next_index),
                tf.where(in_block, tf.not_equal(window[0], 0), is_frame | is_extension), stop,
                tf.where(is_frame, tf.maximum(height, top + frame_height), height),
                tf.where(is_frame, tf.maximum(width, left + frame_width), width),
                pixels + tf.where(is_frame, frame_width * frame_height, 0))

    zero = tf.constant(0, tf.int64)
    _, _, _, done, height, width, pixels = tf.while_loop(
        lambda count, index, in_block, done, *_: ~done & (count < GIF_MAX_BLOCKS), step,
        (zero, start, tf.constant(False), tf.constant(False), height, width, zero))
    # A walk that never stopped (done) read GIF_MAX_BLOCKS blocks: too many.
    pixels = tf.where(done, pixels, _GIF_FLOOD)
    return tf.stack([height, width, tf.maximum(height * width, pixels)])


def _webp_size(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width) int64 [2] from a WebP's first chunk (VP8, VP8L or VP8X canvas); (0, 0)
    for another layout; `encoded`: at least its first 30 bytes (`_encoded_header` passes them
    zero-padded). The twin of `image_headers._webp_size`."""
    chunk = tf.strings.substr(encoded, 12, 4)
    vp8 = tf.equal(chunk, b'VP8 ') & tf.equal(tf.strings.substr(encoded, 23, 3), b'\x9d\x01\x2a')
    vp8l = tf.equal(chunk, b'VP8L') & tf.equal(tf.strings.substr(encoded, 20, 1), b'\x2f')
    vp8x = tf.equal(chunk, b'VP8X')
    lossy = tf.stack([_little_endian(_header_bytes(encoded, 28, 2)) % 16384,
                      _little_endian(_header_bytes(encoded, 26, 2)) % 16384])
    bits = tf.reduce_sum(_header_bytes(encoded, 21, 4)
                         * tf.constant([1, 2 ** 8, 2 ** 16, 2 ** 24], tf.int64))
    lossless = tf.stack([(bits // 16384) % 16384 + 1, bits % 16384 + 1])
    extended = tf.stack([_little_endian(_header_bytes(encoded, 27, 3)) + 1,
                         _little_endian(_header_bytes(encoded, 24, 3)) + 1])
    return tf.where(vp8, lossy, tf.where(vp8l, lossless, tf.where(vp8x, extended,
                                                                   tf.zeros([2], tf.int64))))


def encoded_header(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width, pixels) int64 [3] of an encoded image, read from its header without
    decoding it; `pixels` is what decoding holds at once (height x width; for a GIF the sum
    over its frames, see `_gif_header`).

    JPEG (`tf.image.extract_jpeg_shape` stops at the frame header), PNG (IHDR), GIF (logical
    screen and frames), BMP (DIB header) and WebP (VP8/VP8L/VP8X). Other or truncated data
    gives (0, 0, 0): `decode_image` then rejects it with its own message. The twin of
    `pix2pix_tf.data.image_headers.header`, which clients use to refuse what the model would refuse.
    """
    if tf.executing_eagerly():  # One traced graph, not one eager op per loop step.
        return _encoded_header_graph(encoded)
    return _encoded_header(encoded)


def encoded_size(encoded: tf.Tensor) -> tf.Tensor:
    """(height, width) int64 [2] of an encoded image, from its header (`encoded_header`)."""
    return encoded_header(encoded)[:2]


def _encoded_header(encoded: tf.Tensor) -> tf.Tensor:
    length = tf.strings.length(encoded)
    magic = tf.strings.substr(encoded, 0, 8)
    # The header bytes, zero-padded: Substr fails past a string's end (and its error message
    # holds the raw bytes, which Python cannot even decode), and tf.case computes every
    # predicate, so the fixed-offset reads below go to `head`; `length` gates what is real.
    head = tf.strings.join([tf.strings.substr(encoded, 0, 64), tf.constant(b'\0' * 64)])

    def with_pixels(size):
        return tf.concat([size, size[:1] * size[1:]], axis=0)

    def jpeg():
        return with_pixels(tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], tf.int64))

    def png():
        return with_pixels(tf.stack([_big_endian(_header_bytes(head, 20, 4)),
                                     _big_endian(_header_bytes(head, 16, 4))]))

    def gif():
        return _gif_header(encoded)

    def bmp():
        return with_pixels(tf.stack([_little_endian(_header_bytes(head, 22, 4)),
                                     _little_endian(_header_bytes(head, 18, 4))]))

    def webp():
        return with_pixels(_webp_size(head))

    def unknown():
        return tf.zeros([3], tf.int64)

    long_enough = length >= 26
    index = tf.case([
        (long_enough & tf.equal(tf.strings.substr(magic, 0, 3), b'\xff\xd8\xff'),
         lambda: tf.constant(0)),
        (long_enough & tf.equal(magic, b'\x89PNG\r\n\x1a\n'), lambda: tf.constant(1)),
        (long_enough & tf.equal(tf.strings.substr(magic, 0, 4), b'GIF8'), lambda: tf.constant(2)),
        (long_enough & tf.equal(tf.strings.substr(magic, 0, 2), b'BM'), lambda: tf.constant(3)),
        ((length >= 30) & tf.equal(tf.strings.substr(magic, 0, 4), b'RIFF')
         & tf.equal(tf.strings.substr(head, 8, 4), b'WEBP'), lambda: tf.constant(4)),
    ], default=lambda: tf.constant(5))
    return tf.switch_case(index, [jpeg, png, gif, bmp, webp, unknown])


_encoded_header_graph = tf.function(_encoded_header,
                                    input_signature=[tf.TensorSpec([], tf.string)])
