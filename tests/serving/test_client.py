"""Clients of an exported model: addresses, backend choice, and TF Serving's gRPC API.

No TF Serving binary can be installed here: the gRPC tests run the real client against a
PredictionService servicer built from TF Serving's own protos that runs the SavedModel with the
session-based loader TF Serving uses (tests/serving_stand_ins.py). Only that server is a stand-in.
"""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from pix2pix_tf.serving import client

from conftest import REPO
from conftest import SAMPLE
from serving_stand_ins import start_grpc_server

AB_FILES = sorted((SAMPLE / 'val').glob('*.jpg'))


def sketch_files(count=2) -> list[bytes]:
    """Real sketches (left halves of sample pairs) as PNG bytes; the second has an odd size."""
    files = []
    for index, path in enumerate(AB_FILES[:count]):
        sketch = cv2.imread(str(path))[:, :256]
        if index == 1:
            sketch = cv2.resize(sketch, (120, 90))
        files.append(cv2.imencode('.png', sketch)[1].tobytes())
    return files


def decode(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope='module')
def grpc_server(exported_model):
    server, port = start_grpc_server(str(exported_model), 'sample')
    yield f'127.0.0.1:{port}'
    server.stop(0)


def test_parse_grpc_address():
    assert client.parse_grpc_address('localhost:8500/sample') == ('localhost:8500', 'sample',
                                                                  None)
    assert client.parse_grpc_address('grpc://10.1.2.3:8500/shoes/7') == ('10.1.2.3:8500',
                                                                         'shoes', 7)
    assert client.parse_grpc_address('host:8500/models/shoes') == ('host:8500', 'shoes', None)
    for bad in ('localhost:8500', 'localhost/sample', 'host:8500/a/b/c', 'host:8500/a/latest'):
        with pytest.raises(client.PredictError, match='host:port/<model name>'):
            client.parse_grpc_address(bad)


def test_make_backend_picks_rest_or_grpc():
    assert isinstance(client.make_backend(server='http://localhost:8501/v1/models/sample'),
                      client.RestBackend)
    grpc_backend = client.make_backend(server='localhost:8500/sample',
                                       signature='predict_pixels')
    assert isinstance(grpc_backend, client.GrpcBackend)
    assert grpc_backend.signature == 'predict_pixels'
    with pytest.raises(client.PredictError, match='needs a gRPC --server'):
        client.make_backend(server='http://localhost:8501/v1/models/sample',
                            signature='predict_pixels')


def test_grpc_backend_gives_the_local_photos_on_both_signatures(exported_model, grpc_server):
    images = sketch_files()
    local = [decode(png) for png in client.LocalBackend(str(exported_model)).predict(images)]
    assert [photo.shape for photo in local] == [(256, 256, 3), (90, 120, 3)]
    for address, signature in ((f'{grpc_server}/sample', 'serving_default'),
                               (f'grpc://{grpc_server}/sample/1', 'predict_pixels')):
        served = client.GrpcBackend(address, signature).predict(images)
        for photo, expected in zip(served, local):
            got = decode(photo)
            assert got.shape == expected.shape
            assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, signature


def test_grpc_errors_are_one_line(grpc_server):
    backend = client.GrpcBackend(f'{grpc_server}/sample')
    with pytest.raises(client.PredictError, match='the server answered: .*Unknown image file'):
        backend.predict([b'not an image'])
    huge = cv2.imencode('.png', np.full((5000, 4100), 255, np.uint8))[1].tobytes()
    with pytest.raises(client.PredictError, match='at most 4096x4096 pixels'):
        backend.predict([huge])
    assert decode(backend.predict(sketch_files(1))[0]).shape == (256, 256, 3)  # Still serving.
    with pytest.raises(client.PredictError, match='Servable not found'):
        client.GrpcBackend(f'{grpc_server}/other').predict(sketch_files(1))
    with pytest.raises(client.PredictError, match='cannot reach 127.0.0.1:1'):
        client.GrpcBackend('127.0.0.1:1/sample', timeout=5).predict(sketch_files(1))


def test_predict_command_with_a_grpc_server(grpc_server, tmp_path):
    folder = tmp_path / 'sketches'
    folder.mkdir()
    for index, png in enumerate(sketch_files()):
        (folder / f'shoe{index}.png').write_bytes(png)
    out = tmp_path / 'out'
    result = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.predict', str(folder),
                             f'--server={grpc_server}/sample', '--signature=predict_pixels',
                             f'--output_dir={out}'], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '2 photos written to' in result.stdout
    assert cv2.imread(str(out / 'shoe1.png')).shape == (90, 120, 3)
    bad = subprocess.run([sys.executable, '-m', 'pix2pix_tf.commands.predict', str(folder),
                          '--server=localhost:8500'], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1
    assert 'a gRPC address is host:port/<model name>' in bad.stderr


def test_first_line_of_a_real_assertion_error():
    """A loaded signature's assertion reads 'Graph execution error:', 'Detected at node ...',
    a stack trace, then the message: the message is the line a user sees."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64)])
    def check(value):
        with tf.control_dependencies([tf.debugging.Assert(value < 3, ['Too large: got', value])]):
            return tf.identity(value)

    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        check(tf.constant(7, tf.int64))
    assert 'Detected at node' in caught.value.message
    assert client.first_line(caught.value.message) == 'assertion failed: [Too large: got] [7]'
    assert client.first_line('Graph execution error:\n\nInput is empty.\n\t [[{{node x}}]]') == (
        'Input is empty.')
