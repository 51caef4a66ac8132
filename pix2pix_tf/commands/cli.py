"""What the commands share: absl flags with --flagfile, one-line errors, deprecated flag names,
and a quiet TensorFlow import.

Each command module defines its flags in `define_flags(flag_values)` (nothing happens at
import, so several commands can be imported in one process, as tests do) and has `main()`,
the entry point of its console script: `run(...)` defines the flags on absl's FLAGS, lists
them in --help and calls absl's app.run.
"""

import os
import sys
import tempfile

from absl import app
from absl import flags


def program_name(default: str, path: str | None = None) -> str:
    """The name the user typed (train.py, pix2pix-train, ...; from `path`, default sys.argv[0])
    for one-line error messages; `default` under `python -m pix2pix_tf.commands.<name>`."""
    path = path if path is not None else (sys.argv[0] if sys.argv else '')
    if not path or os.path.dirname(os.path.abspath(path)) == os.path.dirname(__file__):
        return default
    return os.path.basename(path)


# Old flag name -> new name. The old name keeps working, with a one-line note, for one release
# (the next, 0.2); it is removed in REMOVED_IN.
RENAMED_FLAGS = {'saved_model': 'model', 'backend': 'server'}
REMOVED_IN = '0.3'


def define_renamed(flag_values, *old_names: str) -> None:
    """Defines the deprecated old names of flags this command renamed (see RENAMED_FLAGS)."""
    for old in old_names:
        flags.DEFINE_string(old, None, f'Deprecated (removed in {REMOVED_IN}): use '
                            f'--{RENAMED_FLAGS[old]}.', flag_values=flag_values)


def define_model_flags(flag_values, server: bool = True) -> None:
    """--model (and --server): the same names and help in every command that reads a model."""
    flags.DEFINE_string('model', None, 'Exported SavedModel: a version folder, or a folder of '
                        'numbered versions (the highest is used).', flag_values=flag_values)
    if server:
        flags.DEFINE_string('server', None, 'TF Serving instead of --model: REST URL '
                            'http://host:8501/v1/models/<name>, or gRPC address '
                            'host:8500/<name>[/<version>].', flag_values=flag_values)


_DEFINED = {}  # define_flags function -> the flag names it defined on absl's FLAGS.


def fail(program: str, message, status: int = 1):
    """Exits with `<program>: error: <message>` on stderr (one line) and `status`."""
    print(f'{program}: error: {message}', file=sys.stderr)
    sys.exit(status)


def run(main, define_flags, argv: list[str] | None = None, name: str = 'pix2pix',
        doc: str | None = None, usage_status: int = 1) -> None:
    """absl's app.run(main) with the flags of `define_flags` defined and listed by --help;
    `name` is the command's name in messages under `python -m pix2pix_tf.commands.<name>`,
    and `doc` (the command's docstring: usage and examples) heads --help when the program run
    has no docstring of its own (a console script). A flag that does not parse exits with
    `usage_status` (predict and demo: 2, as they did with argparse; 1 elsewhere).

    absl's --help lists the flags of the module named by argv[0]; the commands' flags are
    defined in pix2pix_tf.commands modules (so console scripts can run them), so they are
    registered for argv[0] here.
    """
    if define_flags not in _DEFINED:
        before = set(flags.FLAGS)
        define_flags(flags.FLAGS)
        _DEFINED[define_flags] = sorted(set(flags.FLAGS) - before)
    program = (argv or sys.argv)[0]
    main_module = sys.modules.get('__main__')
    if doc and main_module is not None and not main_module.__doc__:
        main_module.__doc__ = doc  # absl's --help prints the main module's docstring.
    for flag_name in _DEFINED[define_flags]:
        flags.FLAGS.register_key_flag_for_module(program, flags.FLAGS[flag_name])
    app.run(main, argv=argv, flags_parser=lambda args: parse_flags(
        args, program=program_name(name, args[0]), usage_status=usage_status))


# Flags that name paths: a leading `~` is expanded (bash does not expand it after `=`).
PATH_FLAGS = ('workdir', 'export_dir', 'output_dir', 'model', 'pairs', 'sketches', 'photos',
              'dataset', 'data_dir', 'inception_weights', 'exclude')


def parse_flags(argv: list[str], flag_values=None, program: str | None = None,
                usage_status: int = 1) -> list[str]:
    """absl's flag parsing, with a bad flag reported on one line (absl prints two), old flag
    names mapped to new ones with a note, and `~` expanded in path flags."""
    flag_values = flag_values or flags.FLAGS
    program = program or os.path.basename(argv[0])
    try:
        remaining = flag_values(argv)
    except flags.Error as error:
        fail(program, f'{error} (see --help).', usage_status)
    for old, new in RENAMED_FLAGS.items():
        if old in flag_values and flag_values[old].present:
            if flag_values[new].present:
                fail(program, f'--{old} is the old name of --{new}; pass only --{new}.',
                     usage_status)
            print(f'{program}: --{old} is deprecated and will be removed in {REMOVED_IN}; use '
                  f'--{new}.', file=sys.stderr)
            flag_values[new].value = flag_values[old].value
    for name in PATH_FLAGS:
        value = flag_values[name].value if name in flag_values else None
        if isinstance(value, str) and value.startswith('~'):
            flag_values[name].value = os.path.expanduser(value)
    return remaining


def wants_tensorflow_logs() -> bool:
    """True when the user asked for TensorFlow's own logs: --verbosity given to an absl
    command, or TF_CPP_MIN_LOG_LEVEL=0 in the environment. A level of 1-3 asks for fewer logs,
    never for the start-up lines."""
    verbosity = flags.FLAGS['verbosity'] if 'verbosity' in flags.FLAGS else None
    return bool(verbosity is not None and verbosity.present) or (
        os.environ.get('TF_CPP_MIN_LOG_LEVEL', '').strip() == '0')


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Imports TensorFlow and finds its devices with its start-up log lines hidden.

    On a CPU machine TensorFlow 2.21 prints about ten lines at start-up (oneDNN, CUDA stubs,
    `failed call to cuInit`, CPU instructions), some before its log level applies, so they are
    caught at the file-descriptor level; if the import fails they are shown after all. Later
    C++ logs below ERROR are hidden by TF_CPP_MIN_LOG_LEVEL=2 unless the user set a level of
    their own (1-3: kept for those later logs; the start-up lines are hidden all the same, so
    setting it never makes a command noisier). Nothing is hidden when `verbose` (a command's
    --verbosity, or TF_CPP_MIN_LOG_LEVEL=0: `wants_tensorflow_logs`).
    """
    if verbose or 'tensorflow' in sys.modules:
        return
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
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
