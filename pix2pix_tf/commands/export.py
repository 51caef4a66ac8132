"""The `export.py` / `pix2pix-export` command: training workdir -> SavedModel or TFLite model.

    python export.py --workdir=runs/sample            # -> saved_models/sample/<next version>/
    python export.py --workdir=runs/sample --format=tflite   # -> saved_models/sample_tflite/<v>/
    python export.py --workdir=runs/sample --format=tflite --quantize=dynamic  # a quarter the size

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
# = tflite_export.QUANTIZATIONS (not imported: TensorFlow).
QUANTIZATIONS = ('none', 'float16', 'dynamic', 'int8', 'int16x8')

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
    flags.DEFINE_enum('quantize', 'none', QUANTIZATIONS,
                      'With --format=tflite: none = float32; float16 = float16 weights (half '
                      'the file); dynamic = int8 weights, activations quantized on the fly (a '
                      'quarter); int8 = int8 weights and activations, calibrated on '
                      '--calibration_examples sketches of the training split (a quarter, and '
                      'integer-only accelerators; costs L1 with instance norm); int16x8 = int8 '
                      'weights, int16 activations, calibrated (a quarter, near float32 L1). A '
                      'quantized model is checked against the '
                      'float32 one on the validation split; its generator.json records the L1 '
                      'change.', **options)
    flags.DEFINE_integer('calibration_examples', 200, 'With --quantize=int8 or int16x8: how '
                         'many training sketches (seeded shuffle) calibrate the activation '
                         'ranges.', **options)
    flags.DEFINE_integer('quantization_check_examples', 100, 'With a quantized --format=tflite: '
                         'how many validation pairs score the quantized model against the '
                         'float32 one (0: no check).', **options)
    flags.DEFINE_enum('tflite_weights', None, ('float32', 'float16'),
                      'Deprecated, use --quantize: float32 = --quantize=none, float16 = '
                      '--quantize=float16.', **options)
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
    quantize = FLAGS.quantize
    if FLAGS.tflite_weights:
        alias = {'float32': 'none', 'float16': 'float16'}[FLAGS.tflite_weights]
        if FLAGS['quantize'].present and quantize != alias:
            fail(f'--tflite_weights={FLAGS.tflite_weights} contradicts --quantize={quantize}; '
                 f'pass --quantize alone (--tflite_weights is deprecated).')
        logging.warning('--tflite_weights is deprecated: use --quantize=%s.', alias)
        quantize = alias
    if quantize != 'none' and FLAGS.format != 'tflite':
        fail(f'--quantize={quantize} applies to --format=tflite only.')
    if FLAGS.calibration_examples < 1:
        fail(f'--calibration_examples={FLAGS.calibration_examples} must be 1 or more.')
    if FLAGS.quantization_check_examples < 0:
        fail(f'--quantization_check_examples={FLAGS.quantization_check_examples} must be 0 or '
             f'more.')
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
            FLAGS.version, FLAGS.overwrite, FLAGS.max_sketch_size, quantize, model_name,
            FLAGS.calibration_examples, FLAGS.quantization_check_examples)
    except (config_lib.ConfigError, versions.ExportError, disk_space.DiskFullError) as error:
        fail(error)
    except OSError as error:  # Unwritable --export_dir and the like.
        fail(f'cannot write to {export_dir}: {error.strerror or error}.')
    if FLAGS.format == 'keras':
        print(f'Exported {checkpoint} to {os.path.join(path, "generator.keras")}: '
              f'keras.models.load_model(...) or pix2pix_tf.load_generator(...) reads it')
        return
    if tflite:
        import json
        with open(os.path.join(path, 'generator.json')) as file:
            quantization = json.load(file)['model_card']['quantization']
        size_mb = os.path.getsize(os.path.join(path, 'generator.tflite')) / 2 ** 20
        checked = quantization['check']
        print(f'Exported {checkpoint} (eval inference, quantization {quantize}, {size_mb:.1f} '
              f'MB) to {os.path.join(path, "generator.tflite")}; its input/output contract and '
              f'model card are in {os.path.join(path, "generator.json")}')
        if checked:
            print(f'Validation L1 on {checked["examples"]} pairs: float32 '
                  f'{checked["l1_float32"]:.4f}, {quantize} {checked["l1_quantized"]:.4f} '
                  f'({checked["l1_change_percent"]:+.2f}%)')
            if checked['l1_change_percent'] > 2:
                print(f'The {quantize} model is {checked["l1_change_percent"]:.0f}% worse '
                      f'than float32 on validation; --quantize=int16x8 or dynamic keeps a '
                      f'quarter of the size with less loss.')
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
