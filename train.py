"""Trains pix2pix (shoe sketch -> photo); resumes from the workdir's latest checkpoint.

    python train.py --flagfile=sample.flags          # built-in sample, 2-core CPU, ~8 min
    python train.py --flagfile=zappos.flags          # the full UT-Zappos50K experiment

Every hyperparameter is a flag (see pix2pix_tf/config.py); a flag given after --flagfile
overrides the file. Watch it with: tensorboard --logdir <workdir>
"""

import dataclasses
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')  # Hide TensorFlow's C++ INFO lines.

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

from pix2pix_tf import config as config_lib  # noqa: E402  (no TensorFlow: errors come fast)
from pix2pix_tf import sources  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', 'runs/pix2pix', 'Folder for config.json, checkpoints and '
                    'TensorBoard events; training resumes from it.')


def define_config_flags() -> None:
    """One flag per Config field: same name, default and help (choices checked by Config)."""
    definers = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                str: flags.DEFINE_string}
    for field in dataclasses.fields(config_lib.Config):
        help_text = field.metadata['help']
        if 'choices' in field.metadata:
            help_text += f' One of: {", ".join(field.metadata["choices"])}.'
        definers[field.type](field.name, field.default, help_text)


def config_from_flags() -> config_lib.Config:
    """The Config the parsed flags describe; ConfigError for values no run can use."""
    return config_lib.Config(**{field.name: FLAGS[field.name].value
                                for field in dataclasses.fields(config_lib.Config)})


def main(argv):
    logging.set_verbosity(logging.WARNING)  # TensorFlow logs an INFO line per checkpoint.
    if len(argv) > 1:
        sys.exit(f'train.py: error: unexpected arguments {" ".join(argv[1:])}; flags look like '
                 f'--name=value (see --help).')
    try:
        config = config_from_flags()
        sources.resolve(config.dataset)
        config_lib.check_workdir(config, FLAGS.workdir)
    except config_lib.ConfigError as error:
        sys.exit(f'train.py: error: {error}')

    from pix2pix_tf import train_lib  # Imports TensorFlow: only once the flags are known good.

    try:
        result = train_lib.train_and_evaluate(config, FLAGS.workdir)
    except (config_lib.ConfigError, train_lib.NonFiniteLossError) as error:
        sys.exit(f'train.py: error: {error}')
    if not result['stopped_by']:
        print(f'Done at step {result["step"]}: checkpoints in '
              f'{os.path.join(FLAGS.workdir, "checkpoints")}; '
              f'tensorboard --logdir {FLAGS.workdir}')


define_config_flags()

if __name__ == '__main__':
    app.run(main)
