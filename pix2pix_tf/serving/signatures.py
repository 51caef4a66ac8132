"""The exported model: a `tf.Module` whose signatures carry pre- and post-processing, so clients
send plain images and get plain images back. TF Serving (session-based loader), `saved_model_cli`
and `tf.saved_model.load` load the SavedModel as it is (see `tf_variables` for what that needs).

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

The generator runs in the export's inference mode (`networks.generate`): 'paper' (dropout and
batch statistics on, each image on its own) or 'eval'. Neither mode changes a variable: a
request never alters the model, and the same sketch always gives the same photo.

Cost: a sketch taller or wider than `max_sketch_size` (default 4096, recorded in the model card)
is refused with InvalidArgument, from the file header before decoding for JPEG, PNG, GIF, BMP
and WebP (`images.encoded_header`), and so is a GIF whose frames together hold more than
max_sketch_size^2 pixels (TensorFlow's GIF decoder reads them all), so one request's time and
memory stay bounded. Other formats `decode_image` reads have none.

Speed: by default (`fast_graph=True`, what exports use) the signatures run
`inference_twin.twin(generator)`, the same function with the decoder's transposed convolutions
computed as forward ones on a copy of the weights (benchmarks/inference.py); a generator with no
transposed convolution to replace runs as it is. `fast_graph=False` runs the generator itself.

Writing: `versions.write_version` puts the SavedModel in place atomically.
"""

import functools

import tensorflow as tf

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import images
from pix2pix_tf.model import inference_twin, networks
from pix2pix_tf.serving import versions

DEFAULT_MAX_SKETCH_SIZE = config_lib.DEFAULT_MAX_SKETCH_SIZE  # Pixels a side; in the model card.


def sketch_to_gray(image: tf.Tensor) -> tf.Tensor:
    """uint8 [H, W, C] with C in 1..4 (alpha composited on white) -> float32 [H, W, 1] 0-255.

    Each channel count takes its own branch, so a plain gray sketch (the usual case) costs one
    cast instead of a three-channel float copy of the image.
    """

    def gray():
        return tf.cast(image[..., :1], tf.float32)

    def gray_alpha():
        alpha = tf.cast(image[..., 1:2], tf.float32) / 255.0
        return gray() * alpha + 255.0 * (1.0 - alpha)

    def rgb():
        return tf.image.rgb_to_grayscale(tf.cast(image[..., :3], tf.float32))

    def rgb_alpha():
        alpha = tf.cast(image[..., 3:4], tf.float32) / 255.0
        return tf.image.rgb_to_grayscale(tf.cast(image[..., :3], tf.float32) * alpha
                                         + 255.0 * (1.0 - alpha))

    return tf.switch_case(tf.shape(image)[-1] - 1, [gray, gray_alpha, rgb, rgb_alpha])


def check_size(height: tf.Tensor, width: tf.Tensor, max_size: int) -> tf.Operation:
    """An assertion (InvalidArgumentError when run) that a sketch is at most max_size a side."""
    return tf.debugging.Assert(
        tf.logical_and(tf.cast(height, tf.int64) <= max_size,
                       tf.cast(width, tf.int64) <= max_size),
        [f'Sketch too large: this model accepts sketches of at most {max_size}x{max_size} '
         f'pixels (set at export with --max_sketch_size); got height, width:', height, width],
        name='check_sketch_size')


def check_pixels(pixels: tf.Tensor, max_size: int) -> tf.Operation:
    """An assertion (InvalidArgumentError when run) that decoding a sketch holds at most
    max_size^2 pixels: a GIF's frames all count (TensorFlow's decoder reads every one)."""
    return tf.debugging.Assert(
        tf.cast(pixels, tf.int64) <= max_size * max_size,
        [f'Sketch too large: this model accepts sketches of at most {max_size}x{max_size} '
         f'pixels, all frames of a GIF together (send one frame, as PNG); got pixels:', pixels],
        name='check_sketch_pixels')


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


def tf_variables(model) -> list[tf.Variable]:
    """The tf.Variables behind a Keras 3 model's variables (weights, moving statistics, RNG).

    A Keras 3 variable is a wrapper around a tf.Variable. Functions traced through the model
    capture the inner tf.Variable, but a SavedModel that tracks the Keras wrapper saves a copy
    that Keras makes at export time (`tf.Variable(<inner copy>)`), and its saver restores that
    copy. TF2's object loader reconnects them; the session loader of TF Serving and
    `saved_model_cli` restores by name, leaves the captured variables uninitialized, and fails
    with "Could not find variable ...". Tracking the inner tf.Variables (as
    `keras.export.ExportArchive` does) makes the saver restore exactly what the functions read.
    """
    inner = [variable.value for variable in model.variables]
    if not all(isinstance(variable, tf.Variable) for variable in inner):
        raise TypeError('expected Keras 3 variables backed by tf.Variable (TensorFlow backend)')
    return inner


class Pix2PixServing(tf.Module):
    """Serving signatures around a trained generator (see the module docstring).

    The Keras model is deliberately not an attribute of this module (see `tf_variables`): the
    signatures reach it through a plain Python closure, and the module tracks its tf.Variables.

    `fast_graph` (keyword only): run `inference_twin.twin(generator)`, the same function with the
    transposed convolutions as forward ones (2-2.5x faster on a 2-core AVX2 CPU), on a copy of
    the weights as they are now: right for an export. (A generator with no transposed
    convolution is run as it is, so it is not a copy then.) False runs `generator` itself, so
    the signatures follow later changes to its weights (the Python API's `translate` on a
    model it is given).
    """

    def __init__(self, generator, image_size: int, inference_mode: str,
                 max_sketch_size: int = DEFAULT_MAX_SKETCH_SIZE, *, fast_graph: bool = True):
        super().__init__(name='pix2pix')
        if max_sketch_size < 1:
            raise ValueError(f'max_sketch_size must be at least 1, not {max_sketch_size}')
        if fast_graph:
            generator = inference_twin.twin(generator)
        self.generator_variables = tf_variables(generator)
        self._run_generator = functools.partial(networks.generate, generator,
                                                inference_mode=inference_mode)
        self.image_size = image_size
        self.inference_mode = inference_mode
        self.max_sketch_size = max_sketch_size

    def _generate(self, sketches: tf.Tensor) -> tf.Tensor:
        """float32 [N, H, W, 1] in 0-255 (any H, W) -> uint8 [N, H, W, 3]."""
        height, width = tf.shape(sketches)[1], tf.shape(sketches)[2]
        with tf.control_dependencies([check_size(height, width, self.max_sketch_size)]):
            square = _pad_to_square(sketches)
        side = tf.shape(square)[1]
        model_input = tf.clip_by_value(_resize(square, self.image_size), 0.0, 255.0)
        photos = self._run_generator(images.to_model_range(model_input))
        photos = _resize(photos, side)
        top, left = (side - height) // 2, (side - width) // 2
        return images.to_uint8(photos[:, top:top + height, left:left + width])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='images')])
    def serve_images(self, images_bytes):
        """Encoded sketches [N] -> {'images_bytes': PNG photos [N]}."""

        def one(encoded):
            header = images.encoded_header(encoded)
            # Refuse an oversized image from its header, before decoding allocates it.
            with tf.control_dependencies([
                    check_size(header[0], header[1], self.max_sketch_size),
                    check_pixels(header[2], self.max_sketch_size)]):
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


def export(generator, image_size: int, inference_mode: str, export_dir: str,
           version: int | None = None, overwrite: bool = False,
           metadata: dict | None = None,
           max_sketch_size: int = DEFAULT_MAX_SKETCH_SIZE) -> str:
    """Writes the SavedModel to <export_dir>/<version>/ atomically (`versions.write_version`).

    `metadata` (the model card, see `model_card.build`) is written to
    assets.extra/pix2pix.json, with image_size, inference_mode and max_sketch_size always set.
    Returns the version folder.
    """
    module = Pix2PixServing(generator, image_size, inference_mode, max_sketch_size)

    def write(folder):
        tf.saved_model.save(module, folder, signatures=module.signatures())
        versions.write_model_card(folder, {**(metadata or {}), 'image_size': image_size,
                                  'inference_mode': inference_mode,
                                  'max_sketch_size': max_sketch_size})

    return versions.write_version(export_dir, version, overwrite, write)
