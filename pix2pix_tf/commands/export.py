"""The `export.py` / `pix2pix-export` command: training workdir -> SavedModel or TFLite model.

    python export.py --workdir=runs/sample            # -> saved_models/sample/<next version>/
    python export.py --workdir=runs/sample --format=tflite   # -> saved_models/sample_tflite/<v>/

Reads <workdir>/config.json, restores the generator alone from the latest (or
--checkpoint_step) checkpoint and writes <export_dir>/<version>/ atomically (see
`versions.write_version`), with the model card in assets.extra/pix2pix.json (SavedModel) or
generator.json (TFLite). The library side is `pix2pix_tf/serving/exports.py`.
"""

import os
import sys

from absl import flags
from absl import logging

from pix2pix_tf import config as config_lib  # No TensorFlow here: errors come fast.
from pix2pix_tf.commands import cli
from pix2pix_tf.data import disk_space

FORMATS = ('saved_model', 'tflite', 'keras')  # = exports.FORMATS (not imported: TensorFlow).

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """The export command's flags."""
    options = {'flag_values': flag_values}
    flags.DEFINE_string('workdir', None, 'Training workdir (with config.json and checkpoints/).',
                        **options)
    flags.DEFINE_integer('checkpoint_step', None, 'Export this step\'s checkpoint (default: the '
                         'latest).', **options)
    flags.DEFINE_enum('format', 'saved_model', FORMATS,
                      'saved_model: for TF Serving, saved_model_cli and tf.saved_model.load (both '
                      'signatures, any sketch size). tflite: generator.tflite for TensorFlow '
                      'Lite / LiteRT, eval inference mode, model-size sketches (see '
                      'pix2pix_tf/serving/tflite_export.py). keras: generator.keras for '
                      'keras.models.load_model (fine-tuning, embedding in another model).',
                      **options)
    flags.DEFINE_enum('tflite_weights', 'float32', ('float32', 'float16'),
                      'With --format=tflite: store the weights as float32 or float16 (half the '
                      'size).', **options)
    flags.DEFINE_string('model_name', None, 'Model name (default: the workdir\'s folder name); '
                        'TF Serving\'s --model_name.', **options)
    flags.DEFINE_string('export_dir', None, 'Folder of versions (default: '
                        'saved_models/<model_name>, or saved_models/<model_name>_<format> for '
                        'tflite and keras); TF Serving\'s --model_base_path, and what --model '
                        'of evaluate, predict and demo reads.', **options)
    flags.DEFINE_integer('version', None, 'Version number (default: one more than the highest '
                         'existing).', **options)
    flags.DEFINE_bool('overwrite', False, 'Replace an existing version.', **options)
    flags.DEFINE_enum('inference_mode', None, config_lib.INFERENCE_MODES,
                      'Generator at inference: paper = dropout and batch statistics on, each '
                      'image on its own (Isola et al.); eval = dropout off, moving statistics. '
                      'Default: the training config\'s --inference_mode (SavedModel), eval '
                      '(TFLite).', **options)
    flags.DEFINE_integer('max_sketch_size', config_lib.DEFAULT_MAX_SKETCH_SIZE,
                         'SavedModel: the largest sketch side, in pixels, the signatures accept; '
                         'a larger one is refused with InvalidArgument before it is decoded. '
                         'Bounds the time and memory of one request.', **options)


def _run(argv):
    logging.set_verbosity(logging.WARNING)
    program = cli.program_name('export.py')

    def fail(message):
        sys.exit(f'{program}: error: {message}')

    if len(argv) > 1:
        fail(f'unexpected arguments {" ".join(argv[1:])}.')
    if not FLAGS.workdir:
        fail('pass --workdir=<training workdir>.')
    if FLAGS.version is not None and FLAGS.version < 1:
        fail(f'--version={FLAGS.version} must be 1 or more.')
    if FLAGS.max_sketch_size < 1:
        fail(f'--max_sketch_size={FLAGS.max_sketch_size} must be 1 or more.')
    if FLAGS.format == 'tflite' and FLAGS.inference_mode == 'paper':
        fail(config_lib.TFLITE_NEEDS_EVAL_MODE)
    try:
        config_lib.read_workdir_config(FLAGS.workdir)  # A typo fails before TensorFlow loads.
    except config_lib.ConfigError as error:
        fail(error)
    model_name = FLAGS.model_name or os.path.basename(os.path.normpath(FLAGS.workdir))
    tflite = FLAGS.format == 'tflite'
    export_dir = FLAGS.export_dir or os.path.join(
        'saved_models', model_name + ('' if FLAGS.format == 'saved_model' else
                                      f'_{FLAGS.format}'))

    cli.import_tensorflow_quietly(cli.wants_tensorflow_logs())
    from pix2pix_tf.serving import exports  # Imports TensorFlow: only once the flags are good.
    from pix2pix_tf.serving import versions

    try:
        path, checkpoint = exports.export_workdir(
            FLAGS.workdir, export_dir, FLAGS.format, FLAGS.inference_mode, FLAGS.checkpoint_step,
            FLAGS.version, FLAGS.overwrite, FLAGS.max_sketch_size, FLAGS.tflite_weights,
            model_name)
    except (config_lib.ConfigError, versions.ExportError, disk_space.DiskFullError) as error:
        fail(error)
    except OSError as error:  # Unwritable --export_dir and the like.
        fail(f'cannot write to {export_dir}: {error.strerror or error}.')
    if FLAGS.format == 'keras':
        print(f'Exported {checkpoint} to {os.path.join(path, "generator.keras")}: '
              f'keras.models.load_model(...) or pix2pix_tf.load_generator(...) reads it')
        return
    if tflite:
        print(f'Exported {checkpoint} (eval inference, {FLAGS.tflite_weights} weights) to '
              f'{os.path.join(path, "generator.tflite")}; its input/output contract and model '
              f'card are in {os.path.join(path, "generator.json")}')
        return
    print(f'Exported {checkpoint} to {path}; model card: '
          f'{os.path.join(path, "assets.extra", "pix2pix.json")}\n'
          f'Serve it: docker run -p 8501:8501 -p 8500:8500 -v "$(realpath {export_dir})":'
          f'/models/{model_name} -e MODEL_NAME={model_name} tensorflow/serving')


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python export.py` and the `pix2pix-export` console script."""
    cli.run(_run, define_flags, argv, 'export.py', __doc__)


if __name__ == '__main__':
    main()
