"""Quality metrics over a data set, and sample grids: one implementation for training's
periodic evaluation and for evaluate.py.

Metric conventions:
- `l1`: mean absolute error in the model's [-1, 1] range (the quantity the generator's L1 loss
  minimises; x127.5 gives 0-255 levels).
- `psnr` (dB) and `ssim`: `tf.image.psnr` / `tf.image.ssim` on the uint8-rounded images with
  max_val=255, i.e. on the pixels a user would save, averaged over images. (On [-1, 1] images
  use max_val=2; PSNR is the same number, SSIM's constants scale with max_val.)
- `fid`, `kid`, `kid_std`: `gan_metrics` on InceptionV3 pool features of the real and the
  generated photos (only when Inception weights are given).
- `colour_ratio`, `colour_distance`, `texture_ratio`, `two_sample_accuracy`: `realism`, the
  generated set against the real one, on the first REALISM_MAX_EXAMPLES pairs (no weights
  needed; seeded, so a model scores the same each time).
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import images
from pix2pix_tf.evaluation import gan_metrics
from pix2pix_tf.evaluation import realism
from pix2pix_tf.model import networks

METRICS = ('l1', 'psnr', 'ssim')
GAN_METRICS = ('fid', 'kid')
REALISM_METRICS = realism.REALISM_METRICS
# The ratios are best at 1, not at an end: they have no direction here.
LOWER_IS_BETTER = {'l1': True, 'psnr': False, 'ssim': False, 'fid': True, 'kid': True,
                   'colour_distance': True, 'two_sample_accuracy': True}
REALISM_MAX_EXAMPLES = 1000  # Pairs kept (uint8) for the realism statistics: 393 MB at 256.


@dataclasses.dataclass
class EvalResult:
    """Mean metrics (plus `num_examples`) and the first examples, kept for a report."""

    metrics: dict
    examples: dict  # 'sketch' [K,S,S,1], 'generated' [K,S,S,3], 'photo' [K,S,S,3]: uint8.


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
        generated_photo = networks.generate(generator, batch['sketch'], inference_mode)
        return batch_metrics(batch['photo'], generated_photo), generated_photo

    return eval_step


def savedmodel_eval_step(model_dir: str):
    """(eval_step, export info) for an exported SavedModel, through its predict_pixels.

    The inference mode is the one fixed at export (assets.extra/pix2pix.json).
    """
    loaded = tf.saved_model.load(model_dir)
    predict_pixels = loaded.signatures['predict_pixels']
    info_path = os.path.join(model_dir, 'assets.extra', 'pix2pix.json')
    info = {}
    if os.path.isfile(info_path):
        with open(info_path) as file:
            info = json.load(file)

    def eval_step(batch):
        photos = predict_pixels(sketches=images.to_uint8(batch['sketch']))['photos']
        generated_photo = images.to_model_range(photos)
        return batch_metrics(batch['photo'], generated_photo), generated_photo

    return eval_step, info


def make_feature_fn(inception):
    """A tf.function: images float [N, S, S, 3] in [-1, 1] -> InceptionV3 features [N, 2048].

    Images are resized to 299x299 (bilinear); InceptionV3 takes [-1, 1] input as they are.
    """
    size = gan_metrics.INCEPTION_SIZE

    @tf.function(reduce_retracing=True)
    def features(batch):
        return inception(tf.image.resize(batch, [size, size]), training=False)

    return features


def evaluate(eval_step, dataset: tf.data.Dataset, feature_fn=None,
             keep_examples: int = 0, with_realism: bool = True) -> EvalResult:
    """Scores every pair of `dataset` (one pass).

    Args:
      eval_step: batch -> (per-image metrics, generated photos), from make_eval_step or
        savedmodel_eval_step.
      dataset: batches {'sketch', 'photo'} in [-1, 1].
      feature_fn: from make_feature_fn, to add FID and KID; None skips them.
      keep_examples: keep the first this many (sketch, generated, photo) for a report.
      with_realism: add REALISM_METRICS (on the first REALISM_MAX_EXAMPLES pairs).
    """
    totals = {name: 0.0 for name in METRICS}
    count = 0
    real_features, generated_features, kept = [], [], {}
    real_pixels, generated_pixels = [], []
    for batch in dataset:
        metrics, generated_photo = eval_step(batch)
        for name in METRICS:
            totals[name] += float(tf.reduce_sum(metrics[name]))
        count += int(tf.shape(batch['photo'])[0])
        if feature_fn is not None:
            real_features.append(feature_fn(batch['photo']).numpy())
            generated_features.append(feature_fn(generated_photo).numpy())
        if with_realism and sum(map(len, real_pixels)) < REALISM_MAX_EXAMPLES:
            real_pixels.append(images.to_uint8(batch['photo']).numpy())
            generated_pixels.append(images.to_uint8(generated_photo).numpy())
        if len(kept.get('photo', [])) < keep_examples:
            for key, value in (('sketch', batch['sketch']), ('generated', generated_photo),
                               ('photo', batch['photo'])):
                kept[key] = np.concatenate([kept.get(key, np.zeros([0, *value.shape[1:]],
                                                                   np.uint8)),
                                            images.to_uint8(value).numpy()])[:keep_examples]
    if not count:
        raise config_lib.ConfigError('the evaluation data is empty: no pair could be decoded '
                                     '(see the skipped-file warnings above).')
    result = {name: total / count for name, total in totals.items()}
    if feature_fn is not None:
        real, generated = np.concatenate(real_features), np.concatenate(generated_features)
        result['fid'] = gan_metrics.fid_from_features(real, generated)
        result['kid'], result['kid_std'] = gan_metrics.kid_from_features(real, generated)
    if real_pixels:
        result.update(realism.realism_metrics(
            np.concatenate(real_pixels)[:REALISM_MAX_EXAMPLES],
            np.concatenate(generated_pixels)[:REALISM_MAX_EXAMPLES]))
    result['num_examples'] = count
    return EvalResult(result, kept)


def write_scalars(writer, step: int, prefix: str, metrics: dict) -> None:
    """TensorBoard scalars `<prefix>/<metric>` at `step` for the metrics of METRICS,
    GAN_METRICS and REALISM_METRICS in `metrics` (num_examples and kid_std are left out)."""
    with writer.as_default(step=step):
        for name in METRICS + GAN_METRICS + REALISM_METRICS:
            if name in metrics:
                tf.summary.scalar(f'{prefix}/{name}', metrics[name])


def write_hparams(config, policy: str, workdir: str) -> None:
    """The run's config (a Config) in TensorBoard's HParams tab, next to its validation metrics.

    Written once, at the workdir's root (TensorBoard's "session"); the metrics are the eval/
    run's `metrics/*` scalars, so every run under one --logdir can be compared there.
    """
    from tensorboard.plugins.hparams import api as hparams_api

    values = {name: value for name, value in dataclasses.asdict(config).items()
              if isinstance(value, (bool, int, float, str))}
    values['precision_resolved'] = policy
    metrics = [hparams_api.Metric(f'metrics/{name}', group='eval', display_name=name)
               for name in METRICS + GAN_METRICS + REALISM_METRICS]
    with tf.summary.create_file_writer(workdir).as_default():
        hparams_api.hparams_config(hparams=[hparams_api.HParam(name) for name in values],
                                   metrics=metrics)
        hparams_api.hparams(values, trial_id=os.path.basename(os.path.normpath(workdir)))


def sample_grid(eval_step, examples: dict[str, tf.Tensor]) -> tf.Tensor:
    """uint8 [1, N*S, 3*S, 3] grid (sketch | generated | photo) for fixed `examples`."""
    _, generated_photo = eval_step(examples)
    return images.sample_grid(examples['sketch'], generated_photo, examples['photo'])
