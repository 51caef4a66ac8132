"""Metrics on constructed images, and --keep_best on a tiny trained model (the evaluate command:
tests/commands/test_evaluate.py)."""

import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.data import input_pipeline
from pix2pix_tf.data import record_readers
from pix2pix_tf.evaluation import pixel_metrics

from conftest import AB_FILES


def test_identical_images_l1_zero_ssim_one():
    photo = tf.random.uniform([2, 32, 32, 3], -1, 1, seed=1)
    metrics = pixel_metrics.batch_metrics(photo, photo)
    np.testing.assert_allclose(metrics['l1'], [0, 0])
    np.testing.assert_allclose(metrics['ssim'], [1, 1], atol=1e-6)
    assert np.isinf(metrics['psnr']).all()


def test_known_shift_gives_the_psnr_computed_by_hand():
    # Every pixel 10 levels brighter: MSE = 100, PSNR = 10 log10(255^2 / 100).
    pixels = tf.random.uniform([1, 16, 16, 3], 20, 200, dtype=tf.int32, seed=2)
    photo = tf.cast(pixels, tf.float32) / 127.5 - 1
    shifted = tf.cast(pixels + 10, tf.float32) / 127.5 - 1
    metrics = pixel_metrics.batch_metrics(photo, shifted)
    assert float(metrics['psnr'][0]) == pytest.approx(10 * math.log10(255 ** 2 / 100), rel=1e-5)
    assert float(metrics['l1'][0]) == pytest.approx(10 / 127.5, rel=1e-5)


def test_evaluate_adds_realism_next_to_the_pixel_metrics():
    """Over the 10 real sample pairs: a "generator" that returns the real photo is perfect on
    every count; one that returns it desaturated keeps its shapes and loses its colour."""
    dataset = input_pipeline.pairs_dataset(
        *record_readers.ab_file_records([str(path) for path in AB_FILES]), 64, 4)

    def perfect(batch):
        return pixel_metrics.batch_metrics(batch['photo'], batch['photo']), batch['photo']

    def gray(batch):
        generated = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(batch['photo']))
        return pixel_metrics.batch_metrics(batch['photo'], generated), generated

    metrics = pixel_metrics.evaluate(perfect, dataset).metrics
    assert metrics['num_examples'] == 10 and metrics['l1'] == 0
    assert metrics['colour_ratio'] == pytest.approx(1) and metrics['two_sample_accuracy'] == 0.5
    washed = pixel_metrics.evaluate(gray, dataset).metrics
    assert washed['colour_ratio'] < 0.1 and washed['colour_distance'] > 0.1
    assert washed['texture_ratio'] == pytest.approx(1, abs=0.1)
    assert 'colour_ratio' not in pixel_metrics.evaluate(gray, dataset,
                                                        with_realism=False).metrics


@pytest.fixture
def trained(evaluated_run):
    return evaluated_run


def test_keep_best_keeps_the_checkpoint_with_the_best_validation_l1(trained):
    workdir, _ = trained
    with open(workdir / 'best' / 'best.json') as file:
        record = json.load(file)
    assert record['metric'] == 'l1' and record['step'] in (2, 4)
    assert os.path.exists(workdir / 'best' / f'{record["checkpoint"]}.index')
    # The kept value is the best of the evaluations the run logged.
    from events import read_events
    logged = read_events(str(workdir / 'eval'))['metrics/l1']
    assert record['value'] == pytest.approx(min(logged[2], logged[4]), rel=1e-6)
    events = read_events(str(workdir / 'eval'))
    for name in pixel_metrics.REALISM_METRICS:  # Periodic validation logs realism too.
        assert set(events[f'metrics/{name}']) == {2, 4}
