"""What the commands share (pix2pix_tf/commands/cli.py): absl flags with --flagfile and shared
names, renamed flags, one-line flag errors, and a quiet start-up that shows TensorFlow's own
logs only when asked."""

import os
import subprocess
import sys

import pytest
from absl import flags

from conftest import REPO
from conftest import SAMPLE

from pix2pix_tf.commands import cli
from pix2pix_tf.commands import demo
from pix2pix_tf.commands import evaluate
from pix2pix_tf.commands import export
from pix2pix_tf.commands import predict
from pix2pix_tf.commands import train

COMMANDS = {'train': train, 'export': export, 'evaluate': evaluate, 'predict': predict,
            'demo': demo}

TF_NOISE = ('cuInit', 'oneDNN', 'cudart', 'absl::InitializeLog', 'cpu_feature_guard')


def command(*args, env_extra=None, cwd=REPO):
    env = {key: value for key, value in os.environ.items() if key != 'TF_CPP_MIN_LOG_LEVEL'}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_commands_start_quietly_unless_asked(trained_workdir, tmp_path):
    quiet = command('export.py', f'--workdir={trained_workdir}',
                    f'--export_dir={tmp_path / "a"}')
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stderr == ''  # Not one line of TensorFlow's start-up.
    assert quiet.stdout.startswith('Exported ')
    # The usual way to quiet TensorFlow (level 2) never makes a command noisier than no setting.
    predicted = command('-m', 'pix2pix_tf.commands.predict',
                        str(sorted((SAMPLE / 'val').glob('*'))[0]), f'--model={tmp_path / "a"}',
                        f'--output_dir={tmp_path / "out"}',
                        env_extra={'TF_CPP_MIN_LOG_LEVEL': '2'})
    assert predicted.returncode == 0 and predicted.stderr == '', predicted.stderr[-2000:]
    for asked in ({'flags': ['--verbosity=0']}, {'env': {'TF_CPP_MIN_LOG_LEVEL': '0'}}):
        loud = command('export.py', f'--workdir={trained_workdir}',
                       f'--export_dir={tmp_path / "b"}', *asked.get('flags', []),
                       env_extra=asked.get('env'))
        assert loud.returncode == 0, loud.stderr[-2000:]
        assert any(noise in loud.stderr for noise in TF_NOISE), asked


def test_flag_errors_are_one_line(tmp_path):
    result = command('evaluate.py', '--workdir=x', '--batch_size=two')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "evaluate.py: error: flag --batch_size=two: invalid literal for int() with base 10: "
        "'two' (see --help)."]


def command_flags(module) -> flags.FlagValues:
    flag_values = flags.FlagValues()
    module.define_flags(flag_values)
    return flag_values


def test_every_command_uses_absl_flags_with_shared_names_and_flagfiles(tmp_path):
    defined = {name: set(command_flags(module)) for name, module in COMMANDS.items()}
    assert {name for name, names in defined.items() if 'workdir' in names} == {
        'train', 'export', 'evaluate'}
    assert {name for name, names in defined.items() if 'model' in names} == {
        'evaluate', 'predict', 'demo'}
    assert {name for name, names in defined.items() if 'server' in names} == {'predict', 'demo'}
    assert {name for name, names in defined.items() if 'output_dir' in names} == {
        'evaluate', 'predict'}
    for name, module in COMMANDS.items():  # Each command's entry point is `main`.
        assert callable(module.main), name
    flagfile = tmp_path / 'serve.flags'
    flagfile.write_text('# A recipe.\n--model=saved_models/sample\n--port=9000\n')
    demo_flags = command_flags(demo)
    assert demo_flags(['pix2pix-demo', f'--flagfile={flagfile}', '--port=9001']) == [
        'pix2pix-demo']
    assert (demo_flags.model, demo_flags.port) == ('saved_models/sample', 9001)


@pytest.mark.parametrize('module, old, new', [(evaluate, 'saved_model', 'model'),
                                              (demo, 'backend', 'server')])
def test_renamed_flags_work_for_one_release_with_a_note(module, old, new, capsys):
    flag_values = command_flags(module)
    cli.parse_flags(['prog', f'--{old}=~/somewhere'], flag_values)
    expected = os.path.expanduser('~/somewhere') if new == 'model' else '~/somewhere'
    assert flag_values[new].value == expected  # `~` expanded in path flags only.
    assert capsys.readouterr().err == (f'prog: --{old} is deprecated and will be removed in '
                                       f'{cli.REMOVED_IN}; use --{new}.\n')
    with pytest.raises(SystemExit) as exited:
        cli.parse_flags(['prog', f'--{old}=a', f'--{new}=b'], command_flags(module),
                        usage_status=2)
    assert exited.value.code == 2
    assert capsys.readouterr().err == (f'prog: error: --{old} is the old name of --{new}; pass '
                                       f'only --{new}.\n')
