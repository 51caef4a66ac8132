"""Clients of an exported model: in this process, TF Serving REST, and TF Serving gRPC.

Each backend has `predict(images: list[bytes]) -> list[bytes]`: encoded sketches in (PNG, JPEG,
BMP, GIF; any size), PNG photos out, each the size of its sketch.

- `LocalBackend(model)`: the SavedModel's `serving_default`, loaded with `tf.saved_model.load`
  (a version folder, or a folder of numbered versions: the highest is used).
- `RestBackend(url)`: `POST <url>:predict` on TF Serving's REST port (8501), images sent as
  {"b64": ...}; no TensorFlow needed. A busy server's 503 or 429 with `Retry-After` is waited
  out and the request sent again, up to BUSY_RETRIES times within the backend's timeout.
- `GrpcBackend(address)`: `PredictionService.Predict` on TF Serving's gRPC port (8500), with the
  `tensorflow-serving-api` protos (`pip install -e ".[grpc]"`). `address` is
  `host:port/<model_name>[/<version>]`, optionally prefixed `grpc://`. The signature is
  `serving_default` (encoded images in, PNG out) or `predict_pixels` (the client decodes each
  sketch to uint8 [1, H, W, 1] and encodes the uint8 photo it gets back as PNG).

`make_backend(model=..., server=...)` picks one: a server starting with http:// or https:// is
REST, anything else gRPC.
"""

import base64
import json
import os
import time
import urllib.error
import urllib.request

import cv2
import numpy as np

from pix2pix_tf.data import image_files
from pix2pix_tf.data import image_headers

SIGNATURES = ('serving_default', 'predict_pixels')
# No message size limit: a photo the size of a 4096x4096 sketch is 48 MiB of pixels.
GRPC_OPTIONS = [('grpc.max_receive_message_length', -1), ('grpc.max_send_message_length', -1)]


BUSY_RETRIES = 3  # Times RestBackend sends a request again after a 503/429 with Retry-After.


class PredictError(Exception):
    """A problem a user can fix; the message is one line that says how."""


def retry_after_seconds(value: str | None) -> float | None:
    """The seconds of a Retry-After header given as delay-seconds; None when absent or an
    HTTP date (not waited on)."""
    value = (value or '').strip()
    return float(value) if value.isdigit() else None


def resolve_model_dir(model: str) -> str:
    """A SavedModel folder, or the highest numbered version inside a folder of versions."""
    if os.path.isfile(os.path.join(model, 'saved_model.pb')):
        return model
    versions = sorted((int(name) for name in (os.listdir(model) if os.path.isdir(model) else [])
                       if name.isdigit()
                       and os.path.isfile(os.path.join(model, name, 'saved_model.pb'))))
    if not versions:
        raise PredictError(f'--model={model}: no saved_model.pb there or in a numbered version '
                           f'folder; export one with python export.py --workdir=<run>.')
    return os.path.join(model, str(versions[-1]))


class RejectedInput(PredictError):
    """The model (or this client, checking first) refused an input; the others can go on."""


def check_input(data: bytes, max_sketch_size: int | None = None) -> tuple[int, int]:
    """(height, width) of a sketch the model reads; RejectedInput (one line) otherwise.

    Read from the header (`image_headers.header`, the twin of the signature's own check), so an
    oversized sketch is refused before it is sent, or decoded here.
    """
    found = image_headers.header(data)
    if found is None:
        raise RejectedInput(f'not a {"/".join(image_headers.MODEL_FORMATS)} image')
    _, height, width, pixels = found
    if max_sketch_size and max(height, width) > max_sketch_size:
        raise RejectedInput(f'{width}x{height} pixels is larger than the model accepts '
                            f'({max_sketch_size}x{max_sketch_size})')
    # A GIF's frames all count (the model's decoder reads every one); with no model card (TF
    # Serving) this process's own limits still hold: it decodes the sketch for the grid.
    reason = image_headers.size_problem(height, width, pixels,
                                      min(max_sketch_size or image_headers.MAX_SIDE,
                                          image_headers.MAX_SIDE))
    if reason or (max_sketch_size and pixels > max_sketch_size ** 2):
        raise RejectedInput(reason or f'a GIF whose frames hold {pixels} pixels in all, more '
                                      f'than the model accepts ({max_sketch_size}x'
                                      f'{max_sketch_size}); send one frame, as PNG')
    return height, width


def model_card(model_dir: str) -> dict:
    """assets.extra/pix2pix.json of a SavedModel version ({} when absent or unreadable)."""
    try:
        with open(os.path.join(model_dir, 'assets.extra', 'pix2pix.json')) as file:
            return json.load(file)
    except (OSError, ValueError):
        return {}


def first_line(message: str) -> str:
    """The message of a TensorFlow error: its first line that is not boilerplate.

    Boilerplate: 'Graph execution error:', a 'Detected at node ... defined at' header with the
    indented stack trace (or '<stack traces unavailable>') under it, '[[{{node ...}}]]' lines.
    """
    for line in message.removeprefix('Graph execution error:').splitlines():
        if (not line.strip() or line[0].isspace() or line.startswith('[[')
                or line.startswith(('Detected at node', '<stack traces unavailable>'))):
            continue
        return line.strip()
    return message.strip()


def rest_request_body(images: list[bytes]) -> dict:
    """TF Serving REST predict request (row format) for the serving_default signature."""
    return {'signature_name': 'serving_default',
            'instances': [{'b64': base64.b64encode(image).decode('ascii')} for image in images]}


def parse_rest_response(body: dict, expected: int, status: int = 200) -> list[bytes]:
    """PNG bytes from a TF Serving REST predict response; PredictError for an error body
    (RejectedInput for a 400, the model refusing the input)."""
    if 'error' in body:
        kind = RejectedInput if status == 400 else PredictError
        raise kind(f'the server answered: {first_line(str(body["error"]))}')
    predictions = body.get('predictions')
    if not isinstance(predictions, list) or len(predictions) != expected:
        raise PredictError(f'unexpected response from the server: {str(body)[:200]}')
    # A single-output signature gives one value per instance; a dict if the server names it.
    values = [p.get('images_bytes', p) if isinstance(p, dict) and 'b64' not in p else p
              for p in predictions]
    return [base64.b64decode(value['b64']) for value in values]


class LocalBackend:
    """The SavedModel's serving_default signature, in this process."""

    def __init__(self, model_dir: str):
        import tensorflow as tf  # Only the local and gRPC backends need TensorFlow.

        self._tf = tf
        self.model_dir = resolve_model_dir(model_dir)
        self._serve = tf.saved_model.load(self.model_dir).signatures['serving_default']
        self.max_sketch_size = model_card(self.model_dir).get('max_sketch_size')

    def predict(self, images: list[bytes]) -> list[bytes]:
        try:
            outputs = self._serve(images=self._tf.constant(images, self._tf.string))
        except self._tf.errors.InvalidArgumentError as error:
            raise RejectedInput(first_line(error.message)) from None
        return [bytes(png) for png in outputs['images_bytes'].numpy()]


class RestBackend:
    """TF Serving's REST API: POST <url>:predict with base64 images."""

    def __init__(self, url: str, timeout: float = 60.0):
        self.url = url.rstrip('/')
        self.timeout = timeout
        self.max_sketch_size = None  # The server enforces its model's limit.

    def predict(self, images: list[bytes]) -> list[bytes]:
        data = json.dumps(rest_request_body(images)).encode()
        deadline = time.monotonic() + self.timeout
        for attempt in range(BUSY_RETRIES + 1):
            request = urllib.request.Request(f'{self.url}:predict', data=data, method='POST',
                                             headers={'Content-Type': 'application/json'})
            status = 200
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = json.loads(response.read())
            except urllib.error.HTTPError as error:
                status = error.code
                wait = retry_after_seconds(error.headers.get('Retry-After'))
                raw = error.read()
                if (status in (429, 503) and wait is not None and attempt < BUSY_RETRIES
                        and time.monotonic() + wait < deadline):
                    time.sleep(wait)  # Busy: wait as the server asks, then send it again.
                    continue
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise PredictError(f'{self.url}: HTTP {error.code} {error.reason}') from None
            except (urllib.error.URLError, OSError) as error:
                raise PredictError(f'cannot reach {self.url} ({error}); is TF Serving running '
                                   f'with --rest_api_port?') from None
            if status in (429, 503) and attempt and isinstance(body, dict) and 'error' in body:
                body = {'error': f'busy after {attempt + 1} tries: '
                                 f'{first_line(str(body["error"]))}'}
            return parse_rest_response(body, len(images), status)


def parse_grpc_address(address: str) -> tuple[str, str, int | None]:
    """'[grpc://]host:port/model[/version]' -> (host:port, model name, version or None)."""
    rest = address[len('grpc://'):] if address.startswith('grpc://') else address
    target, _, path = rest.partition('/')
    parts = [part for part in path.split('/') if part]
    if parts[:1] == ['models']:  # Also accept the REST-like host:port/models/<name>.
        parts = parts[1:]
    if ':' not in target or not parts or len(parts) > 2 or (
            len(parts) == 2 and not parts[1].isdigit()):
        raise PredictError(f'--server={address}: a gRPC address is host:port/<model name>'
                           f'[/<version>], e.g. localhost:8500/sample (REST: http://...).')
    return target, parts[0], int(parts[1]) if len(parts) == 2 else None


class GrpcBackend:
    """TF Serving's gRPC PredictionService (see the module docstring)."""

    def __init__(self, address: str, signature: str = 'serving_default', timeout: float = 60.0):
        if signature not in SIGNATURES:
            raise PredictError(f'signature must be one of {", ".join(SIGNATURES)}, not '
                               f'{signature!r}.')
        self.target, self.model_name, self.version = parse_grpc_address(address)  # Before TF.
        try:
            import grpc
            from tensorflow_serving.apis import predict_pb2
            from tensorflow_serving.apis import prediction_service_pb2_grpc
        except ImportError:
            raise PredictError('the gRPC client needs tensorflow-serving-api: pip install -e '
                               '".[grpc]" (or use the REST port, --server=http://...).') from None
        import tensorflow as tf

        self._grpc, self._predict_pb2, self._tf = grpc, predict_pb2, tf
        self.address, self.signature, self.timeout = address, signature, timeout
        self.max_sketch_size = None  # The server enforces its model's limit.
        # gRPC's default 4 MiB receive limit is one 1200x1200 photo from predict_pixels.
        self._channel = grpc.insecure_channel(self.target, options=GRPC_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _call(self, inputs: dict) -> dict:
        request = self._predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = self.signature
        if self.version is not None:
            request.model_spec.version.value = self.version
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(self._tf.make_tensor_proto(value))
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except self._grpc.RpcError as error:
            if error.code() in (self._grpc.StatusCode.UNAVAILABLE,
                                self._grpc.StatusCode.DEADLINE_EXCEEDED):
                raise PredictError(f'cannot reach {self.target} ({error.code().name}); is TF '
                                   f'Serving running with --port?') from None
            # TF errors carry the op's node on later lines: the first line is the message.
            kind = (RejectedInput if error.code() == self._grpc.StatusCode.INVALID_ARGUMENT
                    else PredictError)
            raise kind('the server answered: '
                       + first_line(error.details() or error.code().name)) from None
        return {name: self._tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def predict(self, images: list[bytes]) -> list[bytes]:
        if self.signature == 'serving_default':
            outputs = self._call({'images': np.array(images, dtype=object)})
            return [bytes(png) for png in outputs['images_bytes']]
        photos = []
        for data in images:  # Sketches differ in size: one request each.
            sketch = image_files.decode_gray(data)
            if sketch is None:
                raise RejectedInput('the client could not decode an input as an image.')
            photo = self._call({'sketches': sketch[np.newaxis, :, :, np.newaxis]})['photos'][0]
            photos.append(cv2.imencode('.png', cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))[1]
                          .tobytes())
        return photos


def make_backend(model: str | None = None, server: str | None = None,
                 signature: str = 'serving_default'):
    """LocalBackend for --model; for --server, RestBackend (http[s]://) or GrpcBackend."""
    if model:
        return LocalBackend(model)
    if server.startswith(('http://', 'https://')):
        if signature != 'serving_default':
            raise PredictError('the REST backend uses serving_default; --signature='
                               f'{signature} needs a gRPC --server (host:port/<model name>).')
        return RestBackend(server)
    return GrpcBackend(server, signature)
