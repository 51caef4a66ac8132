"""What `export.py` does, without flags: a training workdir -> a SavedModel or TFLite version.

    from pix2pix_tf.serving import exports
    exports.export_workdir('runs/sample', 'saved_models/sample')           # SavedModel
    exports.export_workdir('runs/sample', 'out/tflite', export_format='tflite')
    exports.export_workdir('runs/sample', 'out/q', export_format='tflite', quantize='dynamic')
    exports.export_workdir('runs/sample', 'out/keras', export_format='keras')  # generator.keras

Restores the generator alone from the workdir's latest (or a given) checkpoint under the float32
policy, whatever precision trained it, builds the model card (`model_card.build`) and writes
the version atomically (`versions.write_version`). A quantized TFLite export reads the
workdir's data: int8 and int16x8 calibrate on training sketches, and every quantized model is
checked against the float32 generator on the validation split (`tflite_export.check`).
"""

import os

from absl import logging

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import images
from pix2pix_tf.data import input_pipeline
from pix2pix_tf.data import sources
from pix2pix_tf.serving import model_card
from pix2pix_tf.serving import signatures
from pix2pix_tf.serving import versions
from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import run_info

FORMATS = ('saved_model', 'tflite', 'keras')
KERAS_FILE = 'generator.keras'  # keras.models.load_model reads it; no custom objects needed.
CALIBRATION_EXAMPLES = 200  # int8, int16x8: training sketches whose activations set the ranges.
CHECK_EXAMPLES = 100  # Quantized TFLite: validation pairs scored against the float32 model.
CALIBRATION_SEED = 0


def split_pairs(config: config_lib.Config, split: str, count: int,
                seed: int | None = None) -> list:
    """Up to `count` (uint8 sketch [S,S,1], uint8 photo [S,S,3]) of a split of config.dataset
    at the model size S: the first ones, or `seed`-shuffled (the folders and TFDS record files
    are in catalog order, so the first ones are one brand). Raises ConfigError when the data is
    missing."""
    records, decode = sources.resolve(config.dataset, config.data_dir).records(split)
    if seed is not None:
        records = records.shuffle(4096, seed=seed)
    pairs = []
    for batch in input_pipeline.pairs_dataset(records, decode, config.image_size, 1, count):
        pairs.append((images.to_uint8(batch['sketch'][0]).numpy(),
                      images.to_uint8(batch['photo'][0]).numpy()))
    return pairs


def _tflite_data(config, quantize: str, calibration_examples: int, check_examples: int):
    """(calibration sketches, their source, check pairs, their source) of a TFLite export."""
    calibration, calibration_source = None, None
    if quantize in ('int8', 'int16x8'):  # = tflite_export.CALIBRATED.
        if calibration_examples < 1:
            raise config_lib.ConfigError(f'--quantize={quantize} needs --calibration_examples '
                                         f'of 1 or more.')
        try:
            calibration = [sketch for sketch, _ in split_pairs(
                config, 'train', calibration_examples, CALIBRATION_SEED)]
        except config_lib.ConfigError as error:
            raise config_lib.ConfigError(
                f'--quantize={quantize} calibrates on the training split of {config.dataset}, '
                f'which cannot be read here ({error}); export where the training data is, or use '
                f'--quantize=dynamic (no data needed).') from None
        calibration_source = f'{config.dataset} (train split, shuffled with seed ' \
                             f'{CALIBRATION_SEED})'
    check_pairs, check_source = None, None
    if quantize != 'none' and check_examples > 0:
        try:
            check_pairs = split_pairs(config, 'eval', check_examples)
            check_source = f'{config.dataset} (validation split, the first {len(check_pairs)})'
        except config_lib.ConfigError as error:
            logging.warning('Not checking the quantized model: the validation data cannot be '
                            'read (%s); its model card records no L1 change.', error)
    return calibration, calibration_source, check_pairs, check_source


def export_workdir(workdir: str, export_dir: str, export_format: str = 'saved_model',
                   inference_mode: str | None = None, checkpoint_step: int | None = None,
                   version: int | None = None, overwrite: bool = False,
                   max_sketch_size: int = config_lib.DEFAULT_MAX_SKETCH_SIZE,
                   quantize: str = 'none', model_name: str | None = None,
                   calibration_examples: int = CALIBRATION_EXAMPLES,
                   check_examples: int = CHECK_EXAMPLES) -> tuple[str, str]:
    """Exports a workdir's generator; returns (version folder, checkpoint path).

    `inference_mode` defaults to the training config's (SavedModel) and must be 'eval' for
    TFLite; a `.keras` generator (export_format='keras') has no fixed mode: the model card
    records the training config's. `quantize` (TFLite only; tflite_export.QUANTIZATIONS):
    int8 and int16x8 calibrate on `calibration_examples` training sketches, and a quantized model is
    checked on the first `check_examples` validation pairs (0: no check). Raises ConfigError
    (bad workdir, checkpoint, mode, quantization, or int8 without its training data) or
    ExportError (existing version); neither leaves a version folder.
    """
    if export_format not in FORMATS:
        raise config_lib.ConfigError(f'unknown export format {export_format!r}; use one of '
                                     f'{", ".join(FORMATS)}.')
    config = config_lib.read_workdir_config(workdir)
    tflite = export_format == 'tflite'
    if quantize != 'none' and not tflite:
        raise config_lib.ConfigError(f'--quantize={quantize} applies to --format=tflite only.')
    inference_mode = inference_mode or ('eval' if tflite else config.inference_mode)
    if tflite and inference_mode != 'eval':
        raise config_lib.ConfigError(config_lib.TFLITE_NEEDS_EVAL_MODE)
    _, generator, checkpoint = checkpoints.restore_generator(workdir, checkpoint_step)
    card = model_card.build(config, workdir, checkpoint, checkpoints.step_of(checkpoint),
                            inference_mode, config.image_size if tflite else max_sketch_size,
                            model_name or os.path.basename(os.path.normpath(workdir)),
                            run_info.read_run_info(workdir))
    if export_format == 'keras':
        def write(folder):
            generator.save(os.path.join(folder, KERAS_FILE))
            versions.write_model_card(folder, card)  # assets.extra/pix2pix.json, as a SavedModel.

        path = versions.write_version(export_dir, version, overwrite, write)
    elif tflite:
        from pix2pix_tf.serving import tflite_export  # The converter is slow to import.
        if quantize not in tflite_export.QUANTIZATIONS:
            raise config_lib.ConfigError(f'unknown quantization {quantize!r}; use one of '
                                         f'{", ".join(tflite_export.QUANTIZATIONS)}.')
        calibration, calibration_source, check_pairs, check_source = _tflite_data(
            config, quantize, calibration_examples, check_examples)
        path = tflite_export.export(generator, config.image_size, export_dir, version,
                                    overwrite, quantize, card, calibration, check_pairs,
                                    calibration_source, check_source)
    else:
        path = signatures.export(generator, config.image_size, inference_mode, export_dir,
                              version, overwrite, card, max_sketch_size)
    return path, checkpoint
