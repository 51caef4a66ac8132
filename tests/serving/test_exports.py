"""Workdir -> export: the formats, and a run trained with --ema_decay serving its average (the
SavedModel itself: test_serving.py; the command: commands/test_export.py)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.config import ConfigError
from pix2pix_tf.serving import exports
from pix2pix_tf.training import checkpoints


def test_a_run_with_ema_exports_its_moving_average(make_config, tmp_path):
    from pix2pix_tf.model import networks
    from pix2pix_tf.training import loop

    workdir = str(tmp_path / 'run')
    # A high learning rate, so three steps move the weights well away from their average.
    loop.train_and_evaluate(make_config(train_steps=3, ema_decay=0.5, learning_rate=1e-2),
                                 workdir)
    path, _ = exports.export_workdir(workdir, str(tmp_path / 'models'), inference_mode='eval')
    with open(os.path.join(path, 'assets.extra', 'pix2pix.json')) as file:
        assert json.load(file)['training']['weights'] == 'generator moving average'
    sketch = np.full([1, 64, 64, 1], 255, np.uint8)
    sketch[0, 20:40, 30] = 0
    served = tf.saved_model.load(path).signatures['predict_pixels'](
        sketches=tf.constant(sketch))['photos'].numpy()
    outputs = {}
    for use_ema in (True, False):
        generator = checkpoints.restore_generator(workdir, use_ema=use_ema)[1]
        photo = networks.generate(generator, tf.cast(sketch, tf.float32) / 127.5 - 1, 'eval')
        outputs[use_ema] = np.round((photo.numpy() + 1) * 127.5).clip(0, 255)
    # The export serves the average, not the trained weights (within rounding).
    assert np.abs(served.astype(float) - outputs[True]).max() <= 1
    assert np.abs(served.astype(float) - outputs[False]).mean() > 2


def test_unknown_formats_and_paper_mode_tflite_are_refused_before_writing(trained_workdir,
                                                                          tmp_path):
    with pytest.raises(ConfigError, match="unknown export format 'onnx'"):
        exports.export_workdir(str(trained_workdir), str(tmp_path / 'a'), 'onnx')
    with pytest.raises(ConfigError, match='--format=tflite exports the eval inference mode'):
        exports.export_workdir(str(trained_workdir), str(tmp_path / 'b'), 'tflite',
                               inference_mode='paper')
    assert not os.listdir(tmp_path)


def test_the_cpu_flags_model_shape_exports_to_every_consumer(make_config, tmp_path):
    """cpu.flags trains instance norm without dropout: its SavedModel (paper mode, the default),
    TFLite file (eval mode) and .keras file must give the same photos to TF Serving's session
    loader, LiteRT and keras.models.load_model (paper == eval: no batch statistics, no dropout)."""
    import keras

    from pix2pix_tf.data import images
    from pix2pix_tf.model import networks
    from pix2pix_tf.training import loop
    from serving_stand_ins import SessionModel
    from test_tflite_export import run_litert
    from test_tflite_export import val_sketches

    workdir = str(tmp_path / 'run')
    loop.train_and_evaluate(make_config(train_steps=3, norm='instance', dropout_rate=0.0,
                                             ema_decay=0.999, l1_weight=200.0), workdir)
    sketches = val_sketches()
    model_input = images.to_model_range(sketches)
    generator = checkpoints.restore_generator(workdir)[1]
    expected = images.to_uint8(networks.generate(generator, model_input, 'eval')).numpy()

    def differs(photos) -> int:
        return np.abs(np.asarray(photos).astype(int) - expected.astype(int)).max()

    assert differs(images.to_uint8(networks.generate(generator, model_input, 'paper'))) <= 1

    saved_model, _ = exports.export_workdir(workdir, str(tmp_path / 'saved'))
    session = SessionModel(saved_model)  # How TF Serving loads it.
    try:
        assert differs(session.run('predict_pixels', {'sketches': sketches})['photos']) <= 1
    finally:
        session.close()

    tflite_dir, _ = exports.export_workdir(workdir, str(tmp_path / 'tflite'), 'tflite',
                                           inference_mode='eval')
    assert differs(run_litert(tflite_dir, sketches, tmp_path)) <= 2

    keras_dir, _ = exports.export_workdir(workdir, str(tmp_path / 'keras'), 'keras')
    loaded = keras.models.load_model(os.path.join(keras_dir, 'generator.keras'))
    assert differs(images.to_uint8(loaded(model_input, training=False))) <= 1
