"""Validation metrics and sample grids, shared by training's periodic evaluation.

Metric conventions:
- `l1`: mean absolute error in the model's [-1, 1] range (the quantity the generator's L1 loss
  minimises; multiply by 127.5 for 0-255 levels).
- `psnr` (dB) and `ssim`: `tf.image.psnr` / `tf.image.ssim` on uint8-rounded images with
  max_val=255, i.e. on the pixels a user would save, averaged over images.
"""

import tensorflow as tf

from pix2pix_tf import images
from pix2pix_tf import models

METRICS = ('l1', 'psnr', 'ssim')


def batch_metrics(photo: tf.Tensor, generated_photo: tf.Tensor) -> dict[str, tf.Tensor]:
    """Per-image metrics, each float32 [N], for photos in [-1, 1]."""
    photo_pixels = tf.cast(images.to_uint8(photo), tf.float32)
    generated_pixels = tf.cast(images.to_uint8(generated_photo), tf.float32)
    return {
        'l1': tf.reduce_mean(tf.abs(photo - generated_photo), axis=[1, 2, 3]),
        'psnr': tf.image.psnr(photo_pixels, generated_pixels, max_val=255.0),
        'ssim': tf.image.ssim(photo_pixels, generated_pixels, max_val=255.0),
    }


def make_eval_step(generator, inference_mode: str):
    """A tf.function: batch {'sketch', 'photo'} -> (per-image metrics dict, generated photos)."""

    @tf.function(reduce_retracing=True)
    def eval_step(batch):
        generated_photo = models.generate(generator, batch['sketch'], inference_mode)
        return batch_metrics(batch['photo'], generated_photo), generated_photo

    return eval_step


def evaluate(eval_step, dataset: tf.data.Dataset) -> dict[str, float]:
    """Mean of each metric over every image of `dataset` (one pass), plus `num_examples`."""
    totals = {name: 0.0 for name in METRICS}
    count = 0
    for batch in dataset:
        metrics, _ = eval_step(batch)
        for name in METRICS:
            totals[name] += float(tf.reduce_sum(metrics[name]))
        count += int(tf.shape(batch['photo'])[0])
    if not count:
        raise ValueError('the evaluation split is empty')
    return {**{name: total / count for name, total in totals.items()}, 'num_examples': count}


def sample_grid(eval_step, examples: dict[str, tf.Tensor]) -> tf.Tensor:
    """uint8 [1, N*S, 3*S, 3] grid (sketch | generated | photo) for fixed `examples`."""
    _, generated_photo = eval_step(examples)
    return images.sample_grid(examples['sketch'], generated_photo, examples['photo'])
