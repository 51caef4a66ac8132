"""TensorFlow Lite export of the generator, for phones and other edge devices.

    python export.py --workdir=runs/sample --format=tflite [--tflite_weights=float16]

writes `<export_dir>/<version>/generator.tflite` and `generator.json` (its input/output
contract and the model card). The TFLite model is the generator alone, in 'eval' inference mode
(dropout off, moving batch-norm statistics): the 'paper' mode runs every image as its own batch
with batch statistics and stays SavedModel-only. Its input is a uint8 sketch [1, S, S, 1] at the
model size S (white paper = 255) and its output a uint8 photo [1, S, S, 3]; padding a sketch to
a square on white and resizing it to S x S is the client's job (the SavedModel signatures do it
in the graph, with ops the TFLite converter does not take: antialiased resizes, `map_fn`).

`--tflite_weights=float16` stores the weights as float16 (half the file; the interpreter
computes in float32 on a CPU).
"""

import json
import os

import tensorflow as tf

from pix2pix_tf.data import images
from pix2pix_tf.serving import signatures
from pix2pix_tf.serving import versions

MODEL_FILE = 'generator.tflite'
CONTRACT_FILE = 'generator.json'
WEIGHT_TYPES = ('float32', 'float16')


def convert(generator, image_size: int, weights: str = 'float32') -> bytes:
    """The TFLite flatbuffer of `generator` (eval mode): uint8 [1,S,S,1] -> uint8 [1,S,S,3]."""
    if weights not in WEIGHT_TYPES:
        raise ValueError(f'weights must be one of {WEIGHT_TYPES}, not {weights!r}')
    module = tf.Module()
    module.variables_ = signatures.tf_variables(generator)  # Keeps the captured variables alive.

    @tf.function(input_signature=[tf.TensorSpec([1, image_size, image_size, 1], tf.uint8,
                                                name='sketch')])
    def predict(sketch):
        photo = generator(images.to_model_range(sketch), training=False)
        return {'photo': images.to_uint8(photo)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [predict.get_concrete_function()], module)
    if weights == 'float16':
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def contract(image_size: int, weights: str) -> dict:
    """What a client sends to and gets from generator.tflite."""
    return {
        'model_file': MODEL_FILE,
        'signature': 'serving_default',  # Interpreter.get_signature_runner(<this>).
        'inference_mode': 'eval',
        'weights': weights,
        'input': {'name': 'sketch', 'dtype': 'uint8', 'shape': [1, image_size, image_size, 1],
                  'meaning': 'grayscale sketch, dark strokes on white (255 = paper), already '
                             f'padded to a square on white and resized to {image_size}x'
                             f'{image_size} by the client'},
        'output': {'name': 'photo', 'dtype': 'uint8', 'shape': [1, image_size, image_size, 3],
                   'meaning': 'RGB photo, 0-255'},
    }


def export(generator, image_size: int, export_dir: str, version: int | None = None,
           overwrite: bool = False, weights: str = 'float32',
           metadata: dict | None = None) -> str:
    """Writes generator.tflite and generator.json to <export_dir>/<version>/ atomically."""
    flatbuffer = convert(generator, image_size, weights)  # Before any folder is made.

    def write(folder):
        with open(os.path.join(folder, MODEL_FILE), 'wb') as file:
            file.write(flatbuffer)
        with open(os.path.join(folder, CONTRACT_FILE), 'w') as file:
            json.dump({**contract(image_size, weights), 'model_card': metadata or {}}, file,
                      indent=2, sort_keys=True)
            file.write('\n')

    return versions.write_version(export_dir, version, overwrite, write)
