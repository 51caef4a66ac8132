"""The exported model: a `tf.Module` whose signatures carry pre- and post-processing, so clients
send plain images and get plain images back. TF Serving loads the SavedModel as it is.

Signatures:

- `serving_default`: `images` string [N] of encoded JPEG/PNG/BMP/GIF sketches (any size; 1, 2,
  3 or 4 channels; transparent pixels count as white paper) -> `images_bytes` string [N] of PNG
  photos, each the size of its sketch. The output name ends in `_bytes` because TF Serving's REST
  API base64-encodes a string output (`{"b64": ...}`) only when its name does.
- `predict_pixels`: `sketches` uint8 [N, H, W, 1] -> `photos` uint8 [N, H, W, 3], for gRPC
  clients and batch jobs.

Sizes: a sketch that is not `image_size` square is padded to a square on white (keeping its
aspect ratio, as the training photos were padded), resized to the model size, and the generated
photo is resized back and cropped to the sketch's own size.

The generator runs in the export's inference mode (`models.generate`): 'paper' (dropout and
batch statistics on, each image on its own) or 'eval'. Neither mode changes a variable: a
request never alters the model, and the same sketch always gives the same photo.
"""

import json
import os
import shutil
import tempfile

import tensorflow as tf

from pix2pix_tf import images
from pix2pix_tf import models


def sketch_to_gray(image: tf.Tensor) -> tf.Tensor:
    """uint8 [H, W, C] with C in 1..4 (alpha composited on white) -> float32 [H, W, 1] 0-255."""
    image = tf.cast(image, tf.float32)
    channels = tf.shape(image)[-1]
    alpha = tf.cond(channels % 2 == 0, lambda: image[..., -1:] / 255.0,
                    lambda: tf.ones_like(image[..., :1]))
    color = tf.cond(channels >= 3, lambda: image[..., :3],
                    lambda: tf.tile(image[..., :1], [1, 1, 3]))
    return tf.image.rgb_to_grayscale(color * alpha + 255.0 * (1.0 - alpha))


def _resize(batch: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """Square float [N, S, S, C] -> [N, size, size, C]; no work when S == size already."""
    return tf.cond(tf.shape(batch)[1] == size, lambda: batch,
                   lambda: tf.image.resize(batch, [size, size], antialias=True))


def _pad_to_square(sketches: tf.Tensor) -> tf.Tensor:
    """float [N, H, W, 1] 0-255 -> [N, S, S, 1], S = max(H, W), centred on white."""
    height, width = tf.shape(sketches)[1], tf.shape(sketches)[2]
    side = tf.maximum(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    padding = [[0, 0], [top, side - height - top], [left, side - width - left], [0, 0]]
    return tf.pad(sketches, padding, constant_values=255.0)


class Pix2PixServing(tf.Module):
    """Serving signatures around a trained generator (see the module docstring)."""

    def __init__(self, generator, image_size: int, inference_mode: str):
        super().__init__(name='pix2pix')
        self.generator = generator
        # Keras keeps the dropout RNG state outside the layers' weights; tracking every variable
        # here makes sure the SavedModel saves all that the signatures read.
        self.generator_variables = list(generator.variables)
        self.image_size = image_size
        self.inference_mode = inference_mode

    def _generate(self, sketches: tf.Tensor) -> tf.Tensor:
        """float32 [N, H, W, 1] in 0-255 (any H, W) -> uint8 [N, H, W, 3]."""
        height, width = tf.shape(sketches)[1], tf.shape(sketches)[2]
        square = _pad_to_square(sketches)
        side = tf.shape(square)[1]
        model_input = tf.clip_by_value(_resize(square, self.image_size), 0.0, 255.0)
        photos = models.generate(self.generator, images.to_model_range(model_input),
                                 self.inference_mode)
        photos = _resize(photos, side)
        top, left = (side - height) // 2, (side - width) // 2
        return images.to_uint8(photos[:, top:top + height, left:left + width])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='images')])
    def serve_images(self, images_bytes):
        """Encoded sketches [N] -> {'images_bytes': PNG photos [N]}."""

        def one(encoded):
            decoded = tf.io.decode_image(encoded, channels=0, expand_animations=False)
            photo = self._generate(sketch_to_gray(decoded)[tf.newaxis])[0]
            return tf.io.encode_png(photo)

        return {'images_bytes': tf.map_fn(one, images_bytes, fn_output_signature=tf.string)}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8,
                                                name='sketches')])
    def predict_pixels(self, sketches):
        """uint8 sketches [N, H, W, 1] -> {'photos': uint8 [N, H, W, 3]}."""
        return {'photos': self._generate(tf.cast(sketches, tf.float32))}

    def signatures(self) -> dict:
        return {'serving_default': self.serve_images, 'predict_pixels': self.predict_pixels}


class ExportError(ValueError):
    """An export a user can fix (existing version, bad path); one line that says how."""


TEMP_PREFIX = '.tmp-export-'  # Not a number: TF Serving never loads it as a version.


def numeric_versions(export_dir: str) -> list[int]:
    """The version numbers (numeric sub-folders) under export_dir, ascending."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(export_dir, name)))


def export(generator, image_size: int, inference_mode: str, export_dir: str,
           version: int | None = None, overwrite: bool = False,
           metadata: dict | None = None) -> str:
    """Writes the SavedModel to <export_dir>/<version>/ atomically; returns that path.

    The model is written to a hidden temporary folder in export_dir and renamed into place
    only when complete, so TF Serving (which watches export_dir for numeric folders) never sees
    a half-written version, and an interrupted export leaves no version folder. `version`
    defaults to one more than the highest existing one. An existing version is an ExportError
    unless `overwrite`. `metadata` is written to assets.extra/pix2pix.json (TF Serving ignores
    that folder).
    """
    os.makedirs(export_dir, exist_ok=True)
    version = version or (max(numeric_versions(export_dir), default=0) + 1)
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final) and not overwrite:
        raise ExportError(f'{final} already exists; pass --overwrite to replace it, or omit '
                          f'--version to write version {max(numeric_versions(export_dir)) + 1}.')
    for stale in os.listdir(export_dir):  # Left by an export that was killed.
        if stale.startswith(TEMP_PREFIX):
            shutil.rmtree(os.path.join(export_dir, stale), ignore_errors=True)
    temporary = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=export_dir)
    try:
        module = Pix2PixServing(generator, image_size, inference_mode)
        tf.saved_model.save(module, temporary, signatures=module.signatures())
        os.makedirs(os.path.join(temporary, 'assets.extra'), exist_ok=True)
        with open(os.path.join(temporary, 'assets.extra', 'pix2pix.json'), 'w') as file:
            json.dump({'image_size': image_size, 'inference_mode': inference_mode,
                       **(metadata or {})}, file, indent=2, sort_keys=True)
        if os.path.exists(final):  # --overwrite: swap, then delete the old version.
            retired = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=export_dir)
            os.rename(final, os.path.join(retired, 'old'))
            os.rename(temporary, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final
