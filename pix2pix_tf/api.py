"""The Python API behind `import pix2pix_tf` (see the package docstring and README, "Python API").

    import pix2pix_tf
    generator = pix2pix_tf.load_generator('runs/sample')            # or a .keras file
    photos = pix2pix_tf.translate(sketches, generator)               # uint8 in, uint8 out
    photos = pix2pix_tf.translate(sketches, 'saved_models/sample')   # an exported SavedModel
"""

import os

import keras
import numpy as np
import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.serving import client
from pix2pix_tf.serving import signatures
from pix2pix_tf.training import checkpoints

KERAS_FILE = 'generator.keras'
# The serving module `translate` builds around a Keras model, kept on the model itself so that
# later calls reuse its traced graph (a new tf.function traces again: ~0.35 s a call). Set with
# object.__setattr__ so that neither Keras nor tf.train.Checkpoint tracks it: the model's saved
# and checkpointed structure stays as it was. It is freed with the model.
_SERVING_CACHE = '_pix2pix_translate_modules'


def load_generator(path: str, step: int | None = None) -> keras.Model:
    """A trained generator (float32 Keras model) from a training workdir or a `.keras` file.

    Args:
      path: a training workdir (its latest checkpoint, or the one of `step`; the generator's
        moving average when it was trained with --ema_decay, as export.py uses), a `.keras`
        file written by `export.py --format=keras`, or a folder holding `generator.keras`.
      step: with a workdir, the checkpoint step to load (default: the latest).

    Returns:
      keras.Model: sketch float32 [N, S, S, 1] in [-1, 1] -> photo float32 [N, S, S, 3] in
      [-1, 1]; `translate` handles pixels, sizes and inference modes for you.

    Raises:
      ConfigError: with a one-line message, when `path` holds neither.
    """
    path = os.path.expanduser(path)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, KERAS_FILE)):
        path = os.path.join(path, KERAS_FILE)
    if path.endswith('.keras') and os.path.isfile(path):
        return keras.models.load_model(path)
    if os.path.isfile(os.path.join(path, config_lib.CONFIG_FILE)):
        return checkpoints.restore_generator(path, step)[1]
    raise config_lib.ConfigError(f'{path}: neither a training workdir (config.json) nor a '
                                 f'.keras file (export one with export.py --format=keras).')


def translate(sketches: np.ndarray, model, inference_mode: str = 'eval') -> np.ndarray:
    """Generated photos for uint8 sketches (dark strokes on white), at each sketch's size.

    Args:
      sketches: uint8 [H, W], [N, H, W] or [N, H, W, 1]; any H, W up to 4096 (padded to a square
        on white and resized to the model size, and back, as the served model does).
      model: a generator (`keras.Model`, from `load_generator`), a training workdir, a `.keras`
        file, or an exported SavedModel (a version folder or a folder of versions). A path is
        loaded, and its graph built and traced, on every call (about 4 s for the paper's
        generator on a 2-core CPU, against 0.25 s a call on a loaded model): for many calls,
        `load_generator` once and pass the model.
      inference_mode: 'eval' (dropout off, moving statistics) or 'paper' (dropout and batch
        statistics on, each image on its own, as Isola et al.); a SavedModel keeps the mode it
        was exported with.

    Returns:
      uint8 [H, W, 3] for one sketch, else [N, H, W, 3].
    """
    array = np.asarray(sketches)
    if array.dtype != np.uint8:
        raise ValueError(f'sketches must be uint8 pixels (0-255), not {array.dtype}')
    single = array.ndim == 2
    batch = array[np.newaxis] if single else array
    if batch.ndim == 3:
        batch = batch[..., np.newaxis]
    if batch.ndim != 4 or batch.shape[-1] != 1:
        raise ValueError(f'sketches must be [H, W], [N, H, W] or [N, H, W, 1], not '
                         f'{list(array.shape)}')
    if isinstance(model, str):
        path = os.path.expanduser(model)
        saved_model = (os.path.isfile(os.path.join(path, 'saved_model.pb'))
                       or (os.path.isdir(path) and not os.path.isfile(
                           os.path.join(path, config_lib.CONFIG_FILE))
                           and not path.endswith('.keras')
                           and not os.path.isfile(os.path.join(path, KERAS_FILE))))
        if saved_model:
            signature = tf.saved_model.load(client.resolve_model_dir(path)).signatures[
                'predict_pixels']
            photos = signature(sketches=tf.constant(batch))['photos'].numpy()
            return photos[0] if single else photos
        # Loaded here, so nobody else changes its weights: the faster inference twin is safe.
        model, fast_graph = load_generator(path), True
    else:
        fast_graph = False  # The caller's model: follow its weights as they change.
    module = _serving_module(model, inference_mode, fast_graph)
    photos = module.predict_pixels(tf.constant(batch))
    photos = photos['photos'].numpy()
    return photos[0] if single else photos


def _serving_module(model: keras.Model, inference_mode: str,
                    fast_graph: bool = False) -> signatures.Pix2PixServing:
    """The model's serving module for `inference_mode` and `fast_graph` (see
    `signatures.Pix2PixServing`), built and traced on first use and kept on the model."""
    modules = model.__dict__.get(_SERVING_CACHE)
    if modules is None:
        modules = {}
        object.__setattr__(model, _SERVING_CACHE, modules)
    key = (inference_mode, fast_graph)
    if key not in modules:
        modules[key] = signatures.Pix2PixServing(
            model, model.input_shape[1], inference_mode, fast_graph=fast_graph)
    return modules[key]
