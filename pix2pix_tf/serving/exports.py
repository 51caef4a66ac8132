"""What `export.py` does, without flags: a training workdir -> a SavedModel or TFLite version.

    from pix2pix_tf.serving import exports
    exports.export_workdir('runs/sample', 'saved_models/sample')           # SavedModel
    exports.export_workdir('runs/sample', 'out/tflite', export_format='tflite')
    exports.export_workdir('runs/sample', 'out/keras', export_format='keras')  # generator.keras

Restores the generator alone from the workdir's latest (or a given) checkpoint under the float32
policy, whatever precision trained it, builds the model card (`model_card.build`) and writes
the version atomically (`versions.write_version`).
"""

import os

from pix2pix_tf import config as config_lib
from pix2pix_tf.serving import model_card
from pix2pix_tf.serving import signatures
from pix2pix_tf.serving import versions
from pix2pix_tf.training import checkpoints
from pix2pix_tf.training import run_info

FORMATS = ('saved_model', 'tflite', 'keras')
KERAS_FILE = 'generator.keras'  # keras.models.load_model reads it; no custom objects needed.


def export_workdir(workdir: str, export_dir: str, export_format: str = 'saved_model',
                   inference_mode: str | None = None, checkpoint_step: int | None = None,
                   version: int | None = None, overwrite: bool = False,
                   max_sketch_size: int = config_lib.DEFAULT_MAX_SKETCH_SIZE,
                   tflite_weights: str = 'float32',
                   model_name: str | None = None) -> tuple[str, str]:
    """Exports a workdir's generator; returns (version folder, checkpoint path).

    `inference_mode` defaults to the training config's (SavedModel) and must be 'eval' for
    TFLite; a `.keras` generator (export_format='keras') has no fixed mode: the model card
    records the training config's. Raises ConfigError (bad workdir, checkpoint or mode) or
    ExportError (existing version); neither leaves a version folder.
    """
    if export_format not in FORMATS:
        raise config_lib.ConfigError(f'unknown export format {export_format!r}; use one of '
                                     f'{", ".join(FORMATS)}.')
    config = config_lib.read_workdir_config(workdir)
    tflite = export_format == 'tflite'
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
        path = tflite_export.export(generator, config.image_size, export_dir, version,
                                    overwrite, tflite_weights, card)
    else:
        path = signatures.export(generator, config.image_size, inference_mode, export_dir,
                              version, overwrite, card, max_sketch_size)
    return path, checkpoint
