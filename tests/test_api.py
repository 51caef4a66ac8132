"""The public Python API (`import pix2pix_tf`), the README's example of it, and .keras export."""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

import pix2pix_tf
from pix2pix_tf import config as config_lib
from pix2pix_tf.training import checkpoints

from conftest import REPO


def test_import_is_light_and_names_the_api():
    result = subprocess.run([sys.executable, '-c', 'import sys, pix2pix_tf; '
                             'print("tensorflow" in sys.modules, *pix2pix_tf.__all__)'],
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ['False', 'Config', 'build_discriminator', 'build_generator',
                                     'export', 'load_generator', 'photo_to_sketch', 'train',
                                     'translate', '__version__']
    from pix2pix_tf.model import networks
    assert pix2pix_tf.build_generator is networks.build_generator
    for name in pix2pix_tf.__all__:  # Each public name resolves where the package says it is.
        assert getattr(pix2pix_tf, name) is not None
    assert pix2pix_tf.export.__module__ == 'pix2pix_tf.serving.exports'
    assert pix2pix_tf.train.__name__ == 'train_and_evaluate'
    with pytest.raises(AttributeError, match='no attribute'):
        pix2pix_tf.nothing_here  # noqa: B018


def readme_example() -> str:
    readme = (REPO / 'README.md').read_text()
    section = readme.split('## Python API', 1)[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_readme_example_runs(trained_workdir, tmp_path):
    (tmp_path / 'runs').mkdir()
    os.symlink(trained_workdir, tmp_path / 'runs' / 'sample')
    os.symlink(REPO / 'datasets', tmp_path / 'datasets')
    result = subprocess.run([sys.executable, '-c', readme_example()], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == '(256, 256, 3) (256, 256)'
    photo = keras.utils.load_img(tmp_path / 'photo.png')
    assert photo.size == (256, 256)


def sketches(count=2, size=64) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.where(rng.random([count, size, size]) < 0.05, 0, 255).astype(np.uint8)


def test_translate_matches_the_saved_model_and_checks_its_input(trained_workdir,
                                                                 exported_model):
    generator = pix2pix_tf.load_generator(str(trained_workdir))
    batch = sketches()
    from_keras = pix2pix_tf.translate(batch, generator, 'paper')
    from_saved_model = pix2pix_tf.translate(batch, str(exported_model))  # Exported as paper.
    assert from_keras.shape == (2, 64, 64, 3) and from_keras.dtype == np.uint8
    assert np.abs(from_keras.astype(int) - from_saved_model.astype(int)).max() <= 1
    odd = pix2pix_tf.translate(np.full((90, 120), 255, np.uint8), str(trained_workdir))
    assert odd.shape == (90, 120, 3)
    with pytest.raises(ValueError, match='must be uint8'):
        pix2pix_tf.translate(batch.astype(np.float32), generator)
    with pytest.raises(ValueError, match=r'not \[2, 64, 64, 3\]'):
        pix2pix_tf.translate(np.zeros([2, 64, 64, 3], np.uint8), generator)
    with pytest.raises(config_lib.ConfigError, match='neither a training workdir'):
        pix2pix_tf.load_generator(str(REPO / 'docs'))


def test_translate_traces_once_per_model_and_mode_and_leaves_the_model_as_it_was(
        trained_workdir, tmp_path):
    import tensorflow as tf
    from pix2pix_tf import api
    from pix2pix_tf.serving import signatures
    generator = pix2pix_tf.load_generator(str(trained_workdir))
    before = tf.train.Checkpoint(generator=generator).write(str(tmp_path / 'before'))
    first = pix2pix_tf.translate(sketches(1, 64), generator)
    again = pix2pix_tf.translate(sketches(3, 40), generator)  # Other batch and size: no retrace.
    module = api._serving_module(generator, 'eval')
    assert module.predict_pixels.experimental_get_tracing_count() == 1
    paper = pix2pix_tf.translate(sketches(1, 64), generator, 'paper')
    assert api._serving_module(generator, 'paper') is not module
    assert api._serving_module(generator, 'eval') is module
    # The cached graph gives what a fresh serving module gives, and follows new weights.
    fresh = signatures.Pix2PixServing(generator, generator.input_shape[1], 'eval',
                                      fast_graph=False)
    np.testing.assert_array_equal(again, fresh.predict_pixels(sketches(3, 40)[..., None])[
        'photos'].numpy())
    # An export's inference twin: the same photos up to float rounding (one level in 255).
    twin = signatures.Pix2PixServing(generator, generator.input_shape[1], 'eval')
    from_twin = twin.predict_pixels(sketches(3, 40)[..., None])['photos'].numpy()
    assert np.abs(from_twin.astype(int) - again.astype(int)).max() <= 1
    assert paper.shape == first.shape == (1, 64, 64, 3)
    bias = generator.trainable_variables[-1]
    bias.assign(bias + 0.5)
    assert not np.array_equal(pix2pix_tf.translate(sketches(1, 64), generator), first)
    assert module.predict_pixels.experimental_get_tracing_count() == 1
    # Neither the checkpoint's structure nor the .keras file gains anything from the cache.
    after = tf.train.Checkpoint(generator=generator).write(str(tmp_path / 'after'))
    assert ([name for name, _ in tf.train.list_variables(before)]
            == [name for name, _ in tf.train.list_variables(after)])
    generator.save(tmp_path / 'g.keras')
    assert len(keras.models.load_model(tmp_path / 'g.keras').weights) == len(generator.weights)


def test_translate_on_a_path_runs_the_twin_and_on_a_held_model_the_stock_graph(
        trained_workdir, monkeypatch):
    from pix2pix_tf import api
    from pix2pix_tf.model import inference_twin
    twinned, make_twin = [], inference_twin.twin

    def spy(model):  # Our own function, passed through: records which models get a twin.
        twinned.append(model)
        return make_twin(model)

    monkeypatch.setattr(inference_twin, 'twin', spy)
    generator = pix2pix_tf.load_generator(str(trained_workdir))
    held = pix2pix_tf.translate(sketches(), generator)
    assert twinned == []
    from_path = pix2pix_tf.translate(sketches(), str(trained_workdir))
    assert len(twinned) == 1 and twinned[0] is not generator
    assert np.abs(from_path.astype(int) - held.astype(int)).max() <= 1
    # One cache entry per (mode, graph): the twin of a held model is not its live graph.
    fast = api._serving_module(generator, 'eval', fast_graph=True)
    assert fast is not api._serving_module(generator, 'eval')
    assert fast is api._serving_module(generator, 'eval', fast_graph=True)


def test_keras_export_round_trip(trained_workdir, tmp_path):
    result = subprocess.run([sys.executable, 'export.py', f'--workdir={trained_workdir}',
                             '--format=keras', f'--export_dir={tmp_path / "keras"}'], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    version = tmp_path / 'keras' / '1'
    assert (version / 'assets.extra' / 'pix2pix.json').is_file()
    loaded = keras.models.load_model(version / 'generator.keras')  # No custom objects needed.
    original = checkpoints.restore_generator(str(trained_workdir))[1]
    inputs = sketches().astype(np.float32)[..., np.newaxis] / 127.5 - 1
    np.testing.assert_allclose(loaded(inputs, training=False), original(inputs, training=False),
                               atol=1e-5)
    assert len(loaded.trainable_weights) == len(original.trainable_weights)
    # Embedded in another Keras model, e.g. to fine-tune with a new head.
    sketch = keras.Input((64, 64, 1))
    wrapper = keras.Model(sketch, keras.layers.Rescaling(0.5)(loaded(sketch)))
    assert wrapper(inputs).shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(pix2pix_tf.translate(sketches(), str(version)),
                                  pix2pix_tf.translate(sketches(), original))


def test_paths_resolve_from_anywhere(tmp_path, monkeypatch):
    from pix2pix_tf.data import sources

    monkeypatch.chdir(REPO)
    config = pix2pix_tf.Config(dataset='datasets/sample', data_dir='~/tfds')
    assert config.dataset == str(REPO / 'datasets' / 'sample')  # Stored absolute.
    assert config.data_dir == os.path.expanduser('~/tfds')
    monkeypatch.chdir(tmp_path)
    assert pix2pix_tf.Config.from_json(config.to_json()).dataset == config.dataset
    with pytest.raises(config_lib.ConfigError) as error:
        sources.resolve('sketch2photo/zappos', str(tmp_path))
    assert (f'tfds build {REPO / "datasets" / "sketch2photo"} --config=zappos --manual_dir=<raw '
            f'data> --data_dir={tmp_path}') in str(error.value)
    workdir = tmp_path / 'home' / 'run'
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    result = subprocess.run([sys.executable, str(REPO / 'export.py'), '--workdir=~/run'],
                            capture_output=True, text=True, timeout=120)
    assert result.stderr.strip() == (f'export.py: error: {workdir / "config.json"} not found: '
                                     f'--workdir must be a training workdir (made by train.py).')
