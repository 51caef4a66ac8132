"""What the absl commands (train, export, evaluate) share."""

import os
import sys

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
