"""What the commands share (pix2pix_tf/cli.py): one-line flag errors, `~` in path flags, and a
quiet start-up that shows TensorFlow's own logs only when asked."""

import os
import subprocess
import sys

from conftest import REPO
from conftest import SAMPLE

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
    predicted = command('-m', 'pix2pix_tf.predict', str(sorted((SAMPLE / 'val').glob('*'))[0]),
                        f'--model={tmp_path / "a"}', f'--output_dir={tmp_path / "out"}')
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
