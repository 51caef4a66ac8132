"""TensorFlow Lite export of the generator, for phones and other edge devices.

    python export.py --workdir=runs/sample --format=tflite [--quantize=int16x8]

writes `<export_dir>/<version>/generator.tflite` and `generator.json` (its input/output
contract and the model card). The TFLite model is the generator alone, in 'eval' inference mode
(dropout off, moving batch-norm statistics): the 'paper' mode runs every image as its own batch
with batch statistics and stays SavedModel-only. Its input is a uint8 sketch [1, S, S, 1] at the
model size S (white paper = 255) and its output a uint8 photo [1, S, S, 3], whatever the
quantization; padding a sketch to a square on white and resizing it to S x S is the client's job
(the SavedModel signatures do it in the graph, with ops the TFLite converter does not take:
antialiased resizes, `map_fn`).

Quantizations (`QUANTIZATIONS`; docs/serving.md, "TFLite"):
- `none`: float32 weights and arithmetic.
- `float16`: float16 weights (half the file); a CPU interpreter computes in float32.
- `dynamic`: int8 weights (a quarter of the file); activations quantized on the fly per op.
- `int8`: int8 weights and activations, every inner op an int8 op (TFLITE_BUILTINS_INT8 only),
  activation ranges calibrated on sketches from the training split; only the pixel conversion
  at the input and output stays in float. For integer-only accelerators; with instance norm
  (cpu.flags, sample.flags) 8-bit activations cost a third more L1 (benchmarks/tflite.py).
- `int16x8`: int8 weights, int16 activations (calibrated as int8); ops without a 16x8 kernel
  (instance norm's SQUARE, NEG) stay in float. The same file size as int8 and, with instance
  norm, the float32 model's L1.

A quantized export is checked on the workdir's validation pairs: the model card's
`quantization.check` records the float32 generator's L1 and the quantized model's on the same
pairs (evaluate.py's units: mean |error| in [-1, 1]) and the relative change.
"""

import json
import os

import numpy as np
import tensorflow as tf

from pix2pix_tf.data import images
from pix2pix_tf.model import inference_twin
from pix2pix_tf.serving import signatures
from pix2pix_tf.serving import versions

MODEL_FILE = 'generator.tflite'
CONTRACT_FILE = 'generator.json'
QUANTIZATIONS = ('none', 'float16', 'dynamic', 'int8', 'int16x8')
CALIBRATED = ('int8', 'int16x8')
# Float conversions take the inference twin (transposed convs as forward ones): LiteRT ran the
# paper's generator in 105 ms instead of 233 at 256x256 on 2 AVX2 cores. The quantized ones keep
# the stock graph: LiteRT's quantized TRANSPOSE_CONV was faster there (dynamic: 82 against 108).
TWIN_QUANTIZATIONS = ('none', 'float16')
# (weights, arithmetic) of each quantization, as the contract states them.
STORAGE = {'none': ('float32', 'float32'), 'float16': ('float16', 'float32'),
           'dynamic': ('int8', 'float32 activations, int8 where an op supports dynamic range'),
           'int8': ('int8', 'int8'),
           'int16x8': ('int8', 'int16 activations, float where an op has no 16x8 kernel')}


def convert(generator, image_size: int, quantize: str = 'none', calibration=None) -> bytes:
    """The TFLite flatbuffer of `generator` (eval mode): uint8 [1,S,S,1] -> uint8 [1,S,S,3].

    `calibration` (int8 and int16x8 only, required there): uint8 sketches [S, S, 1], e.g. from
    the training split; their activations set the quantized ranges. Raises ValueError on a bad
    `quantize` or a calibrated conversion without calibration sketches.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f'quantize must be one of {QUANTIZATIONS}, not {quantize!r}')
    if quantize in CALIBRATED:
        calibration = list(calibration or [])
        if not calibration:
            raise ValueError(f'{quantize} quantization needs calibration sketches '
                             f'(uint8 [S, S, 1])')
        for sketch in calibration:
            if np.shape(sketch) != (image_size, image_size, 1):
                raise ValueError(f'calibration sketches must be [{image_size}, {image_size}, '
                                 f'1], not {list(np.shape(sketch))}')
    if quantize in TWIN_QUANTIZATIONS:
        generator = inference_twin.twin(generator)
    module = tf.Module()
    module.variables_ = signatures.tf_variables(generator)  # Keeps the captured variables alive.

    @tf.function(input_signature=[tf.TensorSpec([1, image_size, image_size, 1], tf.uint8,
                                                name='sketch')])
    def predict(sketch):
        photo = generator(images.to_model_range(sketch), training=False)
        return {'photo': images.to_uint8(photo)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [predict.get_concrete_function()], module)
    if quantize != 'none':
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == 'float16':
        converter.target_spec.supported_types = [tf.float16]
    elif quantize in CALIBRATED:
        converter.representative_dataset = lambda: (
            {'sketch': np.asarray(sketch, np.uint8)[np.newaxis]} for sketch in calibration)
        # int8: int8 ops only, so a layer the converter cannot quantize fails the export rather
        # than silently falls back to float.
        converter.target_spec.supported_ops = (
            [tf.lite.OpsSet.TFLITE_BUILTINS_INT8] if quantize == 'int8' else
            [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
             tf.lite.OpsSet.TFLITE_BUILTINS])
    return converter.convert()


def interpreter(flatbuffer: bytes, threads: int | None = None):
    """A LiteRT interpreter of `flatbuffer` (TensorFlow's own when ai_edge_litert is absent)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # ai-edge-litert is in the test extra, not a core dependency.
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "tf.lite.Interpreter is deprecated".
            return tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads)
    return Interpreter(model_content=flatbuffer, num_threads=threads)


def run(flatbuffer: bytes, sketches) -> np.ndarray:
    """uint8 photos [N, S, S, 3] of uint8 sketches [N, S, S, 1], one at a time."""
    runner = interpreter(flatbuffer).get_signature_runner('serving_default')
    return np.stack([runner(sketch=np.asarray(sketch, np.uint8)[np.newaxis])['photo'][0]
                     for sketch in sketches])


def l1(photos: np.ndarray, real: np.ndarray) -> float:
    """Mean |error| of uint8 photos in [-1, 1] units (evaluate.py's L1)."""
    return float(np.mean(np.abs(photos.astype(np.float64) - real.astype(np.float64))) / 127.5)


def check(flatbuffer: bytes, generator, pairs) -> dict:
    """L1 of the float32 generator and of `flatbuffer` on `pairs`: [(uint8 sketch [S,S,1],
    uint8 photo [S,S,3])], and the relative change in percent."""
    sketches = np.stack([sketch for sketch, _ in pairs])
    real = np.stack([photo for _, photo in pairs])
    reference = np.concatenate([
        images.to_uint8(generator(images.to_model_range(batch), training=False)).numpy()
        for batch in np.array_split(sketches, max(1, len(sketches) // 8))])
    float32_l1, quantized_l1 = l1(reference, real), l1(run(flatbuffer, sketches), real)
    return {'examples': len(pairs), 'l1_float32': round(float32_l1, 5),
            'l1_quantized': round(quantized_l1, 5),
            'l1_change_percent': round(100 * (quantized_l1 / float32_l1 - 1), 2)}


def contract(image_size: int, quantize: str) -> dict:
    """What a client sends to and gets from generator.tflite."""
    weights, arithmetic = STORAGE[quantize]
    return {
        'model_file': MODEL_FILE,
        'signature': 'serving_default',  # Interpreter.get_signature_runner(<this>).
        'inference_mode': 'eval',
        'quantization': quantize,
        'weights': weights,
        'arithmetic': arithmetic,
        'input': {'name': 'sketch', 'dtype': 'uint8', 'shape': [1, image_size, image_size, 1],
                  'meaning': 'grayscale sketch, dark strokes on white (255 = paper), already '
                             f'padded to a square on white and resized to {image_size}x'
                             f'{image_size} by the client'},
        'output': {'name': 'photo', 'dtype': 'uint8', 'shape': [1, image_size, image_size, 3],
                   'meaning': 'RGB photo, 0-255'},
    }


def export(generator, image_size: int, export_dir: str, version: int | None = None,
           overwrite: bool = False, quantize: str = 'none', metadata: dict | None = None,
           calibration=None, check_pairs=None, calibration_source: str | None = None,
           check_source: str | None = None) -> str:
    """Writes generator.tflite and generator.json to <export_dir>/<version>/ atomically.

    `calibration`: int8's calibration sketches (see `convert`); `check_pairs`: the pairs a
    quantized model is checked on (see `check`; none = no check). `calibration_source` and
    `check_source` say in the model card where they came from.
    """
    calibration = list(calibration) if calibration is not None else None
    flatbuffer = convert(generator, image_size, quantize, calibration)  # Before any folder.
    check_pairs = list(check_pairs or [])
    card = dict(metadata or {})
    card['quantization'] = {
        'mode': quantize,
        'calibration': ({'examples': len(calibration), 'source': calibration_source}
                        if quantize in CALIBRATED else None),
        'check': ({**check(flatbuffer, generator, check_pairs), 'source': check_source}
                  if quantize != 'none' and check_pairs else None),
    }

    def write(folder):
        with open(os.path.join(folder, MODEL_FILE), 'wb') as file:
            file.write(flatbuffer)
        with open(os.path.join(folder, CONTRACT_FILE), 'w') as file:
            json.dump({**contract(image_size, quantize), 'model_card': card}, file,
                      indent=2, sort_keys=True)
            file.write('\n')

    return versions.write_version(export_dir, version, overwrite, write)
