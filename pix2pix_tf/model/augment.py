"""Differentiable augmentation of the discriminator's inputs (`--diff_augment`).

Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020):
with little data the discriminator memorises the real photos and its gradient stops teaching
the generator. Transforming every pair the discriminator sees, real and generated alike, with
differentiable ops (so the generator's gradient flows through them) keeps it from memorising
without changing what the generator is asked to produce.

A pair is the sketch and the photo side by side in one [N, S, S, 4] tensor, so a translation
or a cutout moves or hides the same pixels of both. Each pair gets its own draw. Policies
(comma-separated, applied in this order), with Zhao et al.'s ranges:
- `color`: on the photo (a sketch has no colour): brightness + U(-0.5, 0.5), saturation x
  U(0, 2), contrast x U(0.5, 1.5), in the model's [-1, 1] range (Zhao et al.'s [0, 1] ranges
  doubled);
- `lightness`: `color` without the saturation part (brightness and contrast only), so that the
  discriminator still sees how colourful a photo is (not in Zhao et al.);
- `softcolor`: `color` with every range a quarter as wide (brightness + U(-0.25, 0.25),
  saturation x U(0.75, 1.25), contrast x U(0.875, 1.125)), so that the discriminator still
  sees roughly how bright and how colourful a photo is (not in Zhao et al.);
- `translation`: shifted by up to 1/8 of the side in each direction; white paper comes in
  at the border;
- `cutout`: a square of half the side at a random place set to 0 (gray) in sketch and photo.
A part written `name:p` (e.g. `color:0.5`) transforms each pair with probability p and leaves
the others as they are (as ADA's augmentation probability, Karras et al. 2020), so the
discriminator still sees some pairs' true colours. Random draws are stateless, from a seed the
training step derives from its step counter, so a resumed run augments exactly as an
uninterrupted one.
"""

import tensorflow as tf

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5
SOFTCOLOR_WIDTH = 0.25
# fold_in index of a part's per-pair `:p` draw, past the indices its op draws with (0-20).
PROBABILITY_DRAW = 30


def _uniform(seed, index: int, shape, low: float, high: float, dtype) -> tf.Tensor:
    seed = tf.random.experimental.stateless_fold_in(seed, index)
    return tf.cast(tf.random.stateless_uniform(shape, seed, low, high), dtype)


def _recolor(pair: tf.Tensor, seed, width: float, saturation: bool) -> tf.Tensor:
    """Brightness, saturation (if asked) and contrast draws, each range `width` times Zhao et
    al.'s (doubled to [-1, 1]) around the identity."""
    sketch, photo = pair[..., :1], pair[..., 1:]
    batch = [tf.shape(pair)[0], 1, 1, 1]
    photo = photo + _uniform(seed, 0, batch, -width, width, photo.dtype)  # Brightness.
    if saturation:
        mean = tf.reduce_mean(photo, axis=-1, keepdims=True)
        photo = (photo - mean) * _uniform(seed, 1, batch, 1 - width, 1 + width, photo.dtype) + mean
    mean = tf.reduce_mean(photo, axis=[1, 2, 3], keepdims=True)
    photo = (photo - mean) * _uniform(seed, 2, batch, 1 - width / 2, 1 + width / 2,
                                      photo.dtype) + mean
    return tf.concat([sketch, photo], axis=-1)


def _color(pair: tf.Tensor, seed) -> tf.Tensor:
    return _recolor(pair, seed, 1.0, saturation=True)


def _softcolor(pair: tf.Tensor, seed) -> tf.Tensor:
    """`color` with each range a quarter as wide: D still sees roughly how bright and how
    colourful a photo is."""
    return _recolor(pair, seed, SOFTCOLOR_WIDTH, saturation=True)


def _lightness(pair: tf.Tensor, seed) -> tf.Tensor:
    """`color` without its saturation part: colourfulness changes with the contrast only."""
    return _recolor(pair, seed, 1.0, saturation=False)


def _translation(pair: tf.Tensor, seed) -> tf.Tensor:
    size = pair.shape[1]
    shift = max(1, int(size * TRANSLATION_RATIO))
    count = tf.shape(pair)[0]
    # White paper (1.0 in [-1, 1]) beyond the border, as the photos' own background.
    padded = tf.pad(pair, [[0, 0], [shift, shift], [shift, shift], [0, 0]], constant_values=1)
    offsets = []
    for index in range(2):
        moved = tf.random.stateless_uniform(
            [count, 1], tf.random.experimental.stateless_fold_in(seed, 10 + index),
            -shift, shift + 1, dtype=tf.int32)
        offsets.append(tf.range(size)[tf.newaxis] + shift + moved)  # [N, S] source indices.
    rows = tf.gather(padded, offsets[0], axis=1, batch_dims=1)
    return tf.gather(rows, offsets[1], axis=2, batch_dims=1)


def _cutout(pair: tf.Tensor, seed) -> tf.Tensor:
    size = pair.shape[1]
    half = int(size * CUTOUT_RATIO) // 2
    count = tf.shape(pair)[0]
    centres = tf.random.stateless_uniform(
        [count, 2], tf.random.experimental.stateless_fold_in(seed, 20), 0, size, dtype=tf.int32)
    grid = tf.range(size)
    inside_rows = tf.abs(grid[tf.newaxis] - centres[:, :1]) < half  # [N, S]
    inside_cols = tf.abs(grid[tf.newaxis] - centres[:, 1:]) < half
    hidden = inside_rows[:, :, tf.newaxis] & inside_cols[:, tf.newaxis, :]
    return pair * tf.cast(~hidden, pair.dtype)[..., tf.newaxis]


_OPS = {'color': _color, 'softcolor': _softcolor, 'lightness': _lightness,
        'translation': _translation, 'cutout': _cutout}


def augment_pair(sketch: tf.Tensor, photo: tf.Tensor, policy: tuple[str, ...],
                 seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The same random transform on each pair's sketch [N, S, S, 1] and photo [N, S, S, 3].

    `policy`: from `config.diff_augment_policy` (names, each optionally ':<probability>');
    `seed`: int [2] stateless seed (a new one for every call that should draw anew). Returns
    (sketch, photo) in the photo's dtype; an empty policy returns them as they are.
    """
    if not policy:
        return sketch, photo
    pair = tf.concat([tf.cast(sketch, photo.dtype), photo], axis=-1)
    for index, part in enumerate(policy):
        name, _, probability = part.partition(':')
        part_seed = tf.random.experimental.stateless_fold_in(seed, index)
        changed = _OPS[name.strip()](pair, part_seed)
        if probability and float(probability) < 1:
            drawn = tf.random.stateless_uniform(
                [tf.shape(pair)[0], 1, 1, 1],
                tf.random.experimental.stateless_fold_in(part_seed, PROBABILITY_DRAW))
            changed = tf.where(drawn < float(probability), changed, pair)
        pair = changed
    return pair[..., :1], pair[..., 1:]
