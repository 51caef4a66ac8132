"""pix2pix_tf: pix2pix (Isola et al., CVPR 2017) in TensorFlow 2 / Keras 3: sketches -> photos.

The public API (TensorFlow is imported on first use, so `import pix2pix_tf` stays fast):

- `Config`: every hyperparameter of a run (`pix2pix_tf.config`).
- `build_generator(image_size=256, ...)`, `build_discriminator(...)`: the Keras U-Net and
  70x70 PatchGAN (`pix2pix_tf.model.networks`).
- `train(config, workdir)`: train (resuming from `workdir`), as `train.py` does.
- `load_generator(workdir_or_keras_file)`: a trained generator as a Keras model.
- `translate(sketches, model)`: uint8 sketches in, uint8 photos out (`pix2pix_tf.api`).
- `photo_to_sketch(photo)`: the OpenCV sketch of an RGB photo (`pix2pix_tf.data.edges`).
- `export(workdir, export_dir, export_format='saved_model')`: what `export.py` does.

See README, "Python API". The library modules know nothing of flags; the command-line tools
are in `pix2pix_tf.commands`.
"""

import importlib

__version__ = '0.1.0'

_API = {
    'Config': ('pix2pix_tf.config', 'Config'),
    'build_generator': ('pix2pix_tf.model.networks', 'build_generator'),
    'build_discriminator': ('pix2pix_tf.model.networks', 'build_discriminator'),
    'train': ('pix2pix_tf.training.loop', 'train_and_evaluate'),
    'load_generator': ('pix2pix_tf.api', 'load_generator'),
    'translate': ('pix2pix_tf.api', 'translate'),
    'photo_to_sketch': ('pix2pix_tf.data.edges', 'photo_to_sketch'),
    'export': ('pix2pix_tf.serving.exports', 'export_workdir'),
}
__all__ = sorted(_API) + ['__version__']


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # Later lookups skip this function.
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
