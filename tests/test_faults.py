"""Faults injected one at a time on the shipped sample: bad data, a second trainer, divergence,
unwritable workdirs, signals at start-up, leftovers, malformed HTTP, bad prediction inputs.

Each test asserts what the program does (one line that says what to do, never a hang or a
traceback) and what is kept (checkpoints, inputs, the next request).
"""

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pix2pix_tf.data import record_readers
from pix2pix_tf.serving import client
from pix2pix_tf.serving import demo_server
from pix2pix_tf.training import checkpoints

from conftest import REPO
from conftest import SAMPLE
from events import read_events

TINY_FLAGS = ['--image_size=64', '--batch_size=2', '--generator_filters=8',
              '--discriminator_filters=8', '--precision=float32', '--eval_examples=8',
              '--num_samples=0', '--log_every=1', '--checkpoint_every=1000']


def train(workdir, dataset=SAMPLE, *flags, timeout=300):
    return subprocess.run([sys.executable, 'train.py', f'--workdir={workdir}',
                           f'--dataset={dataset}', *TINY_FLAGS, *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


def small_dataset(root, train_files=4, val_files=3):
    """A copy of a few sample pairs: <root>/train, <root>/val."""
    for split, count in (('train', train_files), ('val', val_files)):
        (root / split).mkdir(parents=True)
        for path in sorted((SAMPLE / split).glob('*.jpg'))[:count]:
            shutil.copy(path, root / split / path.name)
    return root


def add_bad_files(folder) -> dict:
    """Unreadable files and non-pairs; {file name: expected reason}."""
    (folder / 't.jpg').write_text('this is text, not a JPEG')
    (folder / 'z.jpg').write_bytes(b'')
    Image.new('RGB', (10, 10)).save(folder / 'tiny.png')
    Image.new('RGB', (300, 256), 'white').save(folder / 'square.png')
    return {'t.jpg': 'not a readable image (unknown format)',
            'z.jpg': 'not a readable image (empty file)',
            'tiny.png': '10x10 is not an AB pair',
            'square.png': '300x256 is not an AB pair'}


def test_all_unreadable_training_files_stop_at_once(tmp_path):
    dataset = small_dataset(tmp_path / 'data', train_files=0)
    add_bad_files(dataset / 'train')
    started = time.perf_counter()
    result = train(tmp_path / 'run', dataset, '--train_steps=5', timeout=120)
    assert time.perf_counter() - started < 60  # In practice ~5 s: TensorFlow's start-up.
    assert result.returncode == 1
    assert last_line(result) == (
        f'train.py: error: {dataset / "train"}: no usable images: 4 file(s) skipped, all '
        f'unreadable or not pairs (for example square.png: 300x256 is not an AB pair (the width '
        f'must be twice the height)).')
    assert 'Traceback' not in result.stderr


def test_bad_files_are_skipped_named_once_and_counted(tmp_path):
    dataset = small_dataset(tmp_path / 'data')
    reasons = add_bad_files(dataset / 'val')
    (dataset / 'train' / 't.jpg').write_text('not a JPEG')
    workdir = tmp_path / 'run'
    result = train(workdir, dataset, '--train_steps=2', '--eval_every=1')
    assert result.returncode == 0, result.stderr[-3000:]
    for name, reason in reasons.items():  # Named once each, with the reason.
        assert result.stdout.count(f'skipped {dataset / "val" / name}: {reason}') == 1, name
    assert result.stdout.count(f'skipped {dataset / "train" / "t.jpg"}') == 1
    assert f'{dataset / "val"}: 4 file(s) skipped' in result.stdout
    assert 'validation L1' in result.stdout and '(3 pairs)' in result.stdout
    assert read_events(str(workdir / 'train'))['data/skipped_files'] == {0: 5.0}
    assert checkpoints.available_steps(str(workdir)) == [2]

    evaluated = subprocess.run([sys.executable, 'evaluate.py', f'--workdir={workdir}',
                                f'--pairs={dataset / "val"}', f'--output_dir={tmp_path / "r"}'],
                               cwd=REPO, capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert evaluated.stderr.count(f'skipped {dataset / "val" / "z.jpg"}: ') == 1
    assert '4 file(s) skipped' in evaluated.stderr


def test_transparent_pixels_train_as_white_paper():
    pair = np.zeros((4, 8, 4), np.uint8)
    pair[:, 4:] = [10, 20, 30, 255]  # Opaque photo half; the sketch half is transparent.
    sketch, photo = record_readers.decode_ab_pair(tf.io.encode_png(pair))
    assert sketch.numpy().min() == 255
    np.testing.assert_array_equal(photo.numpy()[0, 0], [10, 20, 30])


LOCK_HOLDER = '''
import sys, time
sys.path.insert(0, sys.argv[2])
from pix2pix_tf.training import workdir_lock
with workdir_lock.hold(sys.argv[1], log=lambda line: None):
    print('locked', flush=True)
    time.sleep(300)
'''


def test_a_second_trainer_is_refused_and_a_killed_ones_lock_does_not_block(tmp_path):
    workdir = tmp_path / 'run'
    workdir.mkdir()
    holder = subprocess.Popen([sys.executable, '-c', LOCK_HOLDER, str(workdir), str(REPO)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        refused = train(workdir, SAMPLE, '--train_steps=1', timeout=120)
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [  # One line, before TensorFlow.
            f'train.py: error: {workdir} is being trained by another process (pid '
            f'{holder.pid} on {socket.gethostname()}, started '
            f'{json.loads((workdir / "train.lock").read_text())["started"]}); stop it first or '
            f'pass another --workdir.']
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The killed holder's record is still in the file; its flock died with it. A checkpoint
    # save killed mid-way left a temporary folder.
    (workdir / 'checkpoints' / 'ckpt-7_temp').mkdir(parents=True)
    result = train(workdir, SAMPLE, '--train_steps=1')
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'(pid {holder.pid} on' in result.stdout
    assert 'ended without releasing its lock (killed?); going on.' in result.stdout
    assert 'Removed 1 unfinished checkpoint folder(s)' in result.stdout
    assert not (workdir / 'checkpoints' / 'ckpt-7_temp').exists()
    assert (workdir / 'train.lock').read_text() == ''  # Released cleanly this time.


def test_unwritable_workdir_is_one_line_before_tensorflow(tmp_path):
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    for workdir in ('/proc/x', str(a_file / 'run')):
        started = time.perf_counter()
        result = train(workdir, SAMPLE, timeout=60)
        assert time.perf_counter() - started < 10
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines  # No TensorFlow start-up lines either.
        assert lines[0].startswith(f'train.py: error: --workdir={workdir}: cannot create or '
                                   f'write there (')


@pytest.mark.parametrize('signal_number', [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_start_up_ends_with_one_line(tmp_path, signal_number):
    # SIGINT as at a terminal, even when this suite runs in the background (nohup ... &),
    # where the shell makes children ignore it.
    process = subprocess.Popen([sys.executable, 'train.py', f'--workdir={tmp_path / "run"}',
                                f'--dataset={SAMPLE}', *TINY_FLAGS], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Send it while TensorFlow is loading: after main() installed its handler (first thing),
    # seconds before the training loop.
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        with open(f'/proc/{process.pid}/maps') as maps:
            if 'tensorflow' in maps.read():
                break
        time.sleep(0.05)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    name = signal.Signals(signal_number).name
    assert process.returncode == 128 + signal_number, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == (
        f'train.py: stopped by {name}; run the same command to resume from the last checkpoint '
        f'in {tmp_path / "run"} (if any).')
    assert 'Traceback' not in stderr


@pytest.fixture(scope='module')
def running_demo(exported_model):
    server = demo_server.make_server(client.LocalBackend(str(exported_model)), port=0,
                                     examples=[], max_upload_mb=1, timeout=1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()


def raw_request(address, data: bytes, wait: float = 0) -> tuple[int, dict]:
    """Sends raw bytes (a malformed request), returns (status, JSON body)."""
    with socket.create_connection(address, timeout=30) as connection:
        connection.sendall(data)
        time.sleep(wait)
        response = b''
        while chunk := connection.recv(65536):
            response += chunk
    head, _, body = response.partition(b'\r\n\r\n')
    return int(head.split()[1]), json.loads(body)


def encoded(array: np.ndarray, extension: str) -> bytes:
    return cv2.imencode(extension, array)[1].tobytes()


def test_demo_refuses_malformed_requests_and_keeps_serving(running_demo):
    png = encoded(np.full((64, 64), 255, np.uint8), '.png')
    post = b'POST /predict HTTP/1.1\r\nHost: x\r\n'
    for headers, status, message in (
            (b'Content-Length: -1\r\n', 400, 'Bad Content-Length'),
            (b'Content-Length: abc\r\n', 400, 'Bad Content-Length'),
            (b'', 411, 'Content-Length')):
        got, body = raw_request(running_demo, post + headers + b'Connection: close\r\n\r\n' + png
                                + b'\0' * 100000)
        assert (got, message in body['error']) == (status, True), body
    # A client that stops sending mid-upload is cut off after the timeout (1 s here).
    started = time.perf_counter()
    got, body = raw_request(running_demo, post + b'Content-Length: 5000\r\n\r\n' + png[:100])
    assert got == 408 and time.perf_counter() - started < 10
    tiff, ppm = encoded(np.zeros((64, 64), np.uint8), '.tiff'), encoded(
        np.zeros((64, 64, 3), np.uint8), '.ppm')
    huge = encoded(np.full((10, 5000), 255, np.uint8), '.png')
    for data, message in ((tiff, 'not an image: upload a PNG or JPEG'),
                          (ppm, 'not an image: upload a PNG or JPEG'),
                          (huge, 'larger than the model accepts (4096x4096)')):
        got, body = raw_request(running_demo, post + f'Content-Length: {len(data)}\r\n'
                                'Connection: close\r\n\r\n'.encode() + data)
        assert got == 400 and message in body['error'], body
    got, body = raw_request(running_demo, 'GET /ünïcode HTTP/1.1\r\nConnection: close\r\n\r\n'
                            .encode())
    assert got == 404 and 'Not found' in body['error']
    with socket.create_connection(running_demo, timeout=60) as connection:  # Still serving.
        connection.sendall(post + f'Content-Length: {len(png)}\r\nConnection: close\r\n\r\n'
                           .encode() + png)
        response = b''
        while chunk := connection.recv(65536):
            response += chunk
    assert response.startswith(b'HTTP/1.0 200') and b'\x89PNG' in response


def test_predict_skips_bad_inputs_and_never_overwrites(exported_model, tmp_path):
    folder = tmp_path / 'drawings'
    folder.mkdir()
    sketch = cv2.imread(str(sorted((SAMPLE / 'val').glob('*.jpg'))[0]))[:, :256]
    (folder / 'a.jpg').write_bytes(encoded(sketch, '.jpg'))
    (folder / 'a.png').write_bytes(encoded(sketch, '.png'))
    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'scan.tif').write_bytes(encoded(sketch, '.tiff'))
    (folder / 'ppm.png').write_bytes(encoded(sketch, '.ppm'))
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    result = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.predict', str(folder),
                             str(folder / 'scan.tif'), f'--model={exported_model}',
                             f'--output_dir={folder}'],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]  # Some inputs were skipped.
    assert '2 photos written' in result.stdout and '3 input(s) skipped' in result.stdout
    assert f'skipped {folder / "scan.tif"}: not a JPEG/PNG/GIF/BMP image' in result.stderr
    assert f'skipped {folder / "empty.jpg"}: not a JPEG/PNG/GIF/BMP image' in result.stderr
    assert f'skipped {folder / "ppm.png"}: not a JPEG/PNG/GIF/BMP image' in result.stderr
    for name, data in before.items():
        assert (folder / name).read_bytes() == data, f'{name} was overwritten'
    assert cv2.imread(str(folder / 'a_jpg.png')).shape == (256, 256, 3)
    assert cv2.imread(str(folder / 'a_png.png')).shape == (256, 256, 3)
