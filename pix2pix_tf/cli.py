"""What the absl commands (train, export, evaluate) share."""

import os
import sys
import tempfile

from absl import app
from absl import flags


def program_name(default: str) -> str:
    """The name the user typed (train.py, pix2pix-train, ...), for one-line error messages."""
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else default


def run(main, flag_names) -> None:
    """absl's app.run(main), with `flag_names` listed by --help.

    absl's --help lists the flags of the module named by argv[0]; the commands' flags are
    defined in pix2pix_tf modules (so console scripts can run them), so they are registered
    for argv[0] here.
    """
    for name in flag_names:
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
    app.run(main, flags_parser=parse_flags)


# Flags that name paths: a leading `~` is expanded (bash does not expand it after `=`).
PATH_FLAGS = ('workdir', 'export_dir', 'output_dir', 'saved_model', 'pairs', 'sketches', 'photos',
              'dataset', 'data_dir', 'inception_weights')


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with a bad flag reported on one line (absl prints two) and `~`
    expanded in path flags."""
    try:
        remaining = flags.FLAGS(argv)
    except flags.Error as error:
        sys.exit(f'{program_name(argv[0])}: error: {error} (see --help).')
    for name in PATH_FLAGS:
        value = flags.FLAGS[name].value if name in flags.FLAGS else None
        if isinstance(value, str) and value.startswith('~'):
            flags.FLAGS[name].value = os.path.expanduser(value)
    return remaining


def wants_tensorflow_logs() -> bool:
    """True when the user asked for TensorFlow's own logs: --verbosity given to an absl
    command, or TF_CPP_MIN_LOG_LEVEL set in the environment."""
    verbosity = flags.FLAGS['verbosity'] if 'verbosity' in flags.FLAGS else None
    return bool(verbosity is not None and verbosity.present) or (
        'TF_CPP_MIN_LOG_LEVEL' in os.environ)


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Imports TensorFlow and finds its devices with its start-up log lines hidden.

    On a CPU machine TensorFlow 2.21 prints about ten lines at start-up (oneDNN, CUDA stubs,
    `failed call to cuInit`, CPU instructions), some before its log level applies, so they are
    caught at the file-descriptor level; if the import fails they are shown after all. Later
    C++ logs below ERROR are hidden by TF_CPP_MIN_LOG_LEVEL=2. Nothing is hidden when
    `verbose` or when the user set TF_CPP_MIN_LOG_LEVEL.
    """
    if verbose or 'TF_CPP_MIN_LOG_LEVEL' in os.environ or 'tensorflow' in sys.modules:
        return
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
            tf.config.list_physical_devices()  # Device start-up (cuInit) logs here.
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors='replace'))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
