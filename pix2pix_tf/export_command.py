"""The `export.py` / `pix2pix-export` command: training workdir -> SavedModel for TF Serving.

    python export.py --workdir=runs/sample            # -> saved_models/sample/<next version>/

Reads <workdir>/config.json, restores the generator alone from the latest (or
--checkpoint_step) checkpoint and writes <export_dir>/<version>/ atomically (see
`serving.export`). Flags are defined here, not in library modules, so the installed
`pix2pix-export` console script runs it too.
"""

import os
import sys

from absl import flags
from absl import logging

from pix2pix_tf import cli
from pix2pix_tf import config as config_lib  # No TensorFlow here: errors come fast.

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Training workdir (with config.json and checkpoints/).')
flags.DEFINE_integer('checkpoint_step', None, 'Export this step\'s checkpoint (default: the '
                     'latest).')
flags.DEFINE_string('model_name', None, 'Model name (default: the workdir\'s folder name); '
                    'TF Serving\'s --model_name.')
flags.DEFINE_string('export_dir', None, 'Folder of versions (default: saved_models/<model_name>); '
                    'TF Serving\'s --model_base_path.')
flags.DEFINE_integer('version', None, 'Version number (default: one more than the highest '
                     'existing).')
flags.DEFINE_bool('overwrite', False, 'Replace an existing version.')
flags.DEFINE_enum('inference_mode', None, config_lib.INFERENCE_MODES,
                  'Generator at inference: paper = dropout and batch statistics on, each image '
                  'on its own (Isola et al.); eval = dropout off, moving statistics. Default: '
                  'the training config\'s --inference_mode.')
FLAG_NAMES = ('workdir', 'checkpoint_step', 'model_name', 'export_dir', 'version', 'overwrite',
              'inference_mode')


def main(argv):
    logging.set_verbosity(logging.WARNING)
    program = cli.program_name('export.py')
    if len(argv) > 1:
        sys.exit(f'{program}: error: unexpected arguments {" ".join(argv[1:])}.')
    if not FLAGS.workdir:
        sys.exit(f'{program}: error: pass --workdir=<training workdir>.')
    if FLAGS.version is not None and FLAGS.version < 1:
        sys.exit(f'{program}: error: --version={FLAGS.version} must be 1 or more.')
    try:
        config = config_lib.read_workdir_config(FLAGS.workdir)
    except config_lib.ConfigError as error:
        sys.exit(f'{program}: error: {error}')
    model_name = FLAGS.model_name or os.path.basename(os.path.normpath(FLAGS.workdir))
    export_dir = FLAGS.export_dir or os.path.join('saved_models', model_name)
    inference_mode = FLAGS.inference_mode or config.inference_mode

    from pix2pix_tf import checkpoints  # Imports TensorFlow: only once the flags are good.
    from pix2pix_tf import serving

    try:
        _, generator, checkpoint = checkpoints.restore_generator(FLAGS.workdir,
                                                                  FLAGS.checkpoint_step)
        path = serving.export(generator, config.image_size, inference_mode, export_dir,
                              FLAGS.version, FLAGS.overwrite,
                              metadata={'checkpoint': os.path.abspath(checkpoint),
                                        'model_name': model_name})
    except (config_lib.ConfigError, serving.ExportError) as error:
        sys.exit(f'{program}: error: {error}')
    print(f'Exported {checkpoint} ({inference_mode} inference) to {path}\n'
          f'Serve it: docker run -p 8501:8501 -v "$(realpath {export_dir})":/models/{model_name} '
          f'-e MODEL_NAME={model_name} tensorflow/serving')


def run() -> None:
    """Entry point of `python export.py` and the `pix2pix-export` console script."""
    cli.run(main, FLAG_NAMES)
