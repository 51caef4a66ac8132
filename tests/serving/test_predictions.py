"""pix2pix_tf.serving.predictions and the REST client: local SavedModel and TF Serving REST
backends.

No TF Serving binary can be installed here, so the REST path is checked two ways: the request
and response bodies are compared with TF Serving's documented REST predict format
(https://www.tensorflow.org/tfx/serving/api_rest: row format "instances", binary values as
{"b64": ...}, string outputs whose name ends in "_bytes" returned base64-encoded), and a small
stand-in server that speaks that format answers with the SavedModel loaded by the session-based
loader TF Serving uses (tests/serving_stand_ins.py). The gRPC path is in test_client.py.
"""

import base64
import http.server
import json
import threading

import cv2
import numpy as np
import pytest
import tensorflow as tf

from pix2pix_tf.serving import client
from pix2pix_tf.serving import predictions

from conftest import SAMPLE
from serving_stand_ins import SessionModel

AB_FILES = sorted((SAMPLE / 'val').glob('*.jpg'))


@pytest.fixture
def model_dir(exported_model):
    return exported_model


@pytest.fixture
def inputs(predict_inputs):
    return predict_inputs


def test_rest_request_body_follows_the_documented_format():
    body = client.rest_request_body([b'\x89PNG first', b'\xff\xd8 second'])
    assert body == {'signature_name': 'serving_default',
                    'instances': [{'b64': base64.b64encode(b'\x89PNG first').decode()},
                                  {'b64': base64.b64encode(b'\xff\xd8 second').decode()}]}
    json.dumps(body)  # Valid JSON: binary only inside b64 strings.


def test_rest_response_parsing_and_server_errors():
    # A single-output signature answers one {"b64": ...} per instance.
    response = {'predictions': [{'b64': base64.b64encode(b'png-1').decode()},
                                {'b64': base64.b64encode(b'png-2').decode()}]}
    assert client.parse_rest_response(response, 2) == [b'png-1', b'png-2']
    with pytest.raises(client.PredictError, match='the server answered: Unknown image'):
        client.parse_rest_response({'error': 'Unknown image file format.'}, 1)
    with pytest.raises(client.PredictError, match='unexpected response'):
        client.parse_rest_response({'predictions': []}, 1)


class StandInServing(http.server.BaseHTTPRequestHandler):
    """Answers POST /v1/models/<name>:predict as TF Serving's REST API does (see the docstring
    of this module), running the SavedModel with TensorFlow's loader."""

    model = None  # A serving_stand_ins.SessionModel.
    busy = 0  # Requests still to refuse with 503 and Retry-After (a busy proxy in front).
    requests = 0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        type(self).requests += 1
        if type(self).busy > 0:
            type(self).busy -= 1
            data = json.dumps({'error': 'busy: try again'}).encode()
            self.send_response(503)
            self.send_header('Retry-After', '0')
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        try:
            assert self.path.endswith(':predict'), self.path
            images = [base64.b64decode(instance['b64']) for instance in body['instances']]
            outputs = self.model.run('serving_default', {'images': np.array(images, object)})
            name, = outputs  # TF Serving: one output -> a bare value per instance.
            assert name.endswith('_bytes'), 'TF Serving base64-encodes only *_bytes outputs'
            answer, status = {'predictions': [{'b64': base64.b64encode(bytes(v)).decode()}
                                              for v in outputs[name]]}, 200
        except tf.errors.InvalidArgumentError as error:
            answer, status = {'error': error.message.strip().splitlines()[-1]}, 400
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_rest_backend_against_a_stand_in_server(model_dir, inputs, tmp_path):
    StandInServing.model = SessionModel(client.resolve_model_dir(str(model_dir)))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), StandInServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f'http://127.0.0.1:{server.server_port}/v1/models/sample'
        backend = client.RestBackend(url)
        written, _ = predictions.run([str(inputs[0])], backend, str(tmp_path / 'rest'))
        local, _ = predictions.run([str(inputs[0])], client.LocalBackend(str(model_dir)),
                               str(tmp_path / 'local'))
        assert len(written) == len(local) == 3
        for rest_path, local_path in zip(written, local):
            np.testing.assert_array_equal(cv2.imread(rest_path), cv2.imread(local_path))
        with pytest.raises(client.PredictError, match='the server answered: .*image'):
            backend.predict([b'not an image'])
        # Busy twice: the backend waits out Retry-After and gets the same photo.
        StandInServing.busy, StandInServing.requests = 2, 0
        sketch = (inputs[0] / 'shoe0.png').read_bytes()
        assert backend.predict([sketch]) == client.LocalBackend(str(model_dir)).predict([sketch])
        assert StandInServing.requests == 3
        # Busy past the retries: one line that says so.
        StandInServing.busy, StandInServing.requests = client.BUSY_RETRIES + 1, 0
        with pytest.raises(client.PredictError, match=f'busy after {client.BUSY_RETRIES + 1} '
                                                      f'tries: busy: try again'):
            backend.predict([b'x'])
        assert StandInServing.requests == client.BUSY_RETRIES + 1
    finally:
        server.shutdown()
    with pytest.raises(client.PredictError, match='cannot reach'):
        client.RestBackend(url, timeout=5).predict([b'x'])


def test_from_photo_writes_sketch_photo_and_grid(model_dir, inputs, tmp_path):
    out = tmp_path / 'out'
    written, skipped = predictions.run([str(inputs[1] / '*.jpg')],
                                   client.LocalBackend(str(model_dir)), str(out), grid=True,
                                   from_photo=True)
    assert len(written) == 2 and skipped == 0
    sketch = cv2.imread(str(out / 'photo0_sketch.png'), cv2.IMREAD_GRAYSCALE)
    assert set(np.unique(sketch)) == {0, 255}
    assert cv2.imread(str(out / 'grid.png')).shape == (2 * 256, 3 * 256, 3)


def test_output_names_keep_clear_of_inputs_each_other_and_the_grid(tmp_path):
    from pix2pix_tf.serving import predictions as predict

    paths = [str(tmp_path / name) for name in ('a.jpg', 'a.png', 'grid.jpg', 'b.png')]
    assert predict.output_names(paths, str(tmp_path), grid=True) == [
        'a_jpg.png', 'a_png.png', 'grid_jpg.png', 'b_png.png']
    assert predict.output_names(paths, str(tmp_path / 'out'), grid=True) == [
        'a.png', 'a_png.png', 'grid_jpg.png', 'b.png']
