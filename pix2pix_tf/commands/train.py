"""The `train.py` / `pix2pix-train` command: flags -> Config -> loop.train_and_evaluate.

    python train.py --flagfile=sample.flags          # built-in sample, 2-core CPU, 6-9 min
    python train.py --flagfile=cpu.flags --dataset=<folder with train/ and val/>

One flag per Config field (same name, default and help), plus --workdir; library modules take
a Config. It lives in the package, not in train.py, so the installed `pix2pix-train` console
script runs it too. Bad flags, a missing dataset or a locked workdir fail here in a fraction of
a second with one line, before TensorFlow is imported.
"""

import contextlib
import dataclasses
import json
import os
import signal
import sys

from absl import flags
from absl import logging

from pix2pix_tf import config as config_lib  # No TensorFlow here: errors come fast.
from pix2pix_tf.commands import cli
from pix2pix_tf.data import disk_space
from pix2pix_tf.data import sources
from pix2pix_tf.training import workdir_lock

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """--workdir, and one flag per Config field: same name, default and help (choices are
    checked by Config)."""
    flags.DEFINE_string('workdir', 'runs/pix2pix', 'Folder for config.json, checkpoints and '
                        'TensorBoard events; training resumes from it.', flag_values=flag_values)
    definers = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
                str: flags.DEFINE_string}
    for field in dataclasses.fields(config_lib.Config):
        help_text = field.metadata['help']
        if 'choices' in field.metadata:
            help_text += f' One of: {", ".join(field.metadata["choices"])}.'
        definers[field.type](field.name, field.default, help_text, flag_values=flag_values)


def config_from_flags(flag_values: flags.FlagValues = FLAGS) -> config_lib.Config:
    """The Config the parsed flags describe; ConfigError for values no run can use."""
    return config_lib.Config(**{field.name: flag_values[field.name].value
                                for field in dataclasses.fields(config_lib.Config)})


def _is_chief_process() -> bool:
    """False for the non-chief workers of a multi-worker run (TF_CONFIG), which write no workdir."""
    try:
        tf_config = json.loads(os.environ.get('TF_CONFIG') or '{}')
    except ValueError:
        return True
    task, cluster = tf_config.get('task', {}), tf_config.get('cluster', {})
    kind = task.get('type', 'worker')
    # As distribute.is_chief: the chief task if the cluster has one, else worker 0.
    return kind == 'chief' or (kind == 'worker' and 'chief' not in cluster
                               and int(task.get('index', 0)) == 0)


def _stop_on_start_up_signal(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _run(argv):
    logging.set_verbosity(logging.WARNING)  # TensorFlow logs an INFO line per checkpoint.
    program = cli.program_name('train.py')
    # Until the loop installs its own handlers (save, then stop), SIGTERM ends the start-up
    # like Ctrl-C: one line, no traceback, nothing half-written.
    signal.signal(signal.SIGTERM, _stop_on_start_up_signal)
    try:
        _check_and_train(argv, program)
    except KeyboardInterrupt as interrupt:
        name = interrupt.args[0] if interrupt.args else 'SIGINT'
        print(f'{program}: stopped by {name}; run the same command to resume from the last '
              f'checkpoint in {FLAGS.workdir} (if any).', file=sys.stderr)
        sys.exit(128 + signal.Signals[name].value)


def _check_and_train(argv, program):
    if len(argv) > 1:
        sys.exit(f'{program}: error: unexpected arguments {" ".join(argv[1:])}; flags look '
                 f'like --name=value (see --help).')
    try:
        config = config_from_flags()
        source = sources.resolve(config.dataset, config.data_dir)
        for split in sources.REQUIRED_SPLITS:  # Headers only; nothing is written yet.
            source.usable(split)
        if config.inception_weights and not os.path.isfile(config.inception_weights):
            raise config_lib.ConfigError(f'--inception_weights={config.inception_weights}: no '
                                         f'such file.')
        config_lib.check_workdir(config, FLAGS.workdir)
        if _is_chief_process():
            workdir_lock.check_writable(FLAGS.workdir)
    except config_lib.ConfigError as error:
        sys.exit(f'{program}: error: {error}')

    with contextlib.ExitStack() as stack:
        if _is_chief_process():
            try:
                stack.enter_context(workdir_lock.hold(FLAGS.workdir))
            except config_lib.ConfigError as error:
                sys.exit(f'{program}: error: {error}')
            workdir_lock.remove_stale_temporaries(FLAGS.workdir)

        cli.import_tensorflow_quietly(cli.wants_tensorflow_logs())
        from pix2pix_tf.training import divergence  # Imports TensorFlow: flags are good.
        from pix2pix_tf.training import loop

        try:
            result = loop.train_and_evaluate(config, FLAGS.workdir, source)
        except (config_lib.ConfigError, divergence.NonFiniteLossError,
                disk_space.DiskFullError) as error:
            sys.exit(f'{program}: error: {error}')
    if not result['stopped_by']:
        print(f'Done at step {result["step"]}: checkpoints in '
              f'{os.path.join(FLAGS.workdir, "checkpoints")}; '
              f'tensorboard --logdir {FLAGS.workdir}')


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python train.py` and the `pix2pix-train` console script."""
    cli.run(_run, define_flags, argv, 'train.py', __doc__)


if __name__ == '__main__':
    main()
