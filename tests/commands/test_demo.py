"""The pix2pix-demo command: it starts on TF Serving's REST API without TensorFlow, takes a
flagfile and the old --backend name, and refuses bad flags with one line (the server itself:
tests/serving/test_demo_server.py)."""

import subprocess
import sys

from conftest import REPO


def start(*flags):
    return subprocess.Popen([sys.executable, '-m', 'pix2pix_tf.commands.demo', *flags], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_demo_starts_on_a_rest_server_from_a_flagfile_and_the_old_flag_name(tmp_path):
    url = 'http://127.0.0.1:9/v1/models/sample'  # Not reached: the demo starts without it.
    flagfile = tmp_path / 'demo.flags'
    flagfile.write_text(f'--server={url}\n--port=0\n')
    for flags, note in (([f'--flagfile={flagfile}'], False),
                        ([f'--backend={url}', '--port=0'], True)):
        process = start(*flags)
        try:
            line = process.stdout.readline()
            assert line.startswith('pix2pix demo on http://127.0.0.1:'), line
            assert f'(model: {url}); Ctrl-C stops it.' in line
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=60)
        assert ('pix2pix-demo: --backend is deprecated and will be removed in 0.3; use '
                '--server.' in stderr) == note, stderr
        assert 'Traceback' not in stderr


def test_bad_flags_are_one_line():
    # Usage errors exit 2 (as argparse did); a model that is not there, 1.
    for flags, status, message in (
            ([], 2, 'pass exactly one of --model (a SavedModel) and --server'),
            (['--model=a', '--server=http://b'], 2, 'pass exactly one of'),
            (['--model=/nonexistent'], 1, '--model=/nonexistent: no saved_model.pb'),
            (['--port=x'], 2, 'flag --port=x: invalid literal'),
            (['--port=-5'], 2, 'flag --port=-5: ')):
        result = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.demo', *flags],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == status, (flags, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('pix2pix-demo: error: ') and (
            message in lines[0]), lines
