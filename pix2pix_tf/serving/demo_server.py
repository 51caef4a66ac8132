"""Draw a sketch, get a shoe: the HTTP server of `pix2pix-demo` (pix2pix_tf/commands/demo.py)
on a model backend (pix2pix_tf/serving/client.py), and its page, demo_page.html.

One page: a drawing canvas (pen, eraser, stroke width, undo, clear; mouse and touch), the
generated photo beside it (updated shortly after each stroke), a download button, upload of a
sketch or of a photo (turned into a sketch with `pix2pix_tf.data.edges` first), and example
sketches from the built-in sample.

HTTP API (the page uses it; so can you):
- `POST /predict`: body = an encoded sketch image (PNG/JPEG/...), answer = PNG photo. This is the
  SavedModel's `serving_default` signature, run locally or forwarded to TF Serving (`--server`).
- `POST /sketch`: body = a photo, answer = its PNG sketch.
- `GET /examples`: JSON list of example sketch URLs; `GET /examples/<n>.png`: one of them.
Errors are JSON `{"error": "..."}` with status 400 (not a PNG/JPEG/GIF/BMP image, larger than
the model's sketch size limit, or a bad Content-Length), 404, 408 (the upload stalled for 10 s),
411 (no Content-Length), 413 (larger than --max_upload_mb) or 503 (more than --max_queue
requests waiting, or more than --max_connections connections open).

Under load: /predict and /sketch each take the model's turn (one at a time: each uses every
core), with at most --max_queue waiting; the rest get 503 at once with `Retry-After` (whole
seconds: the queue's length times the recent time of one request, at least 1), which the page
and `client.RestBackend` honour. Each connection has its own thread; one silent for
--timeout seconds (10) is closed, so idle connections never delay a fresh client, and past
--max_connections (256) a new connection gets the 503 instead of a thread. The server binds to
127.0.0.1 unless --host says otherwise, and one bad request never stops it.
"""

import glob
import http.server
import json
import math
import os
import threading
import time

import cv2
import numpy as np

from pix2pix_tf import config as config_lib
from pix2pix_tf.data import edges
from pix2pix_tf.data import image_files
from pix2pix_tf.data import image_headers
from pix2pix_tf.data import sources
from pix2pix_tf.serving import client
from pix2pix_tf.serving import http_connections

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'demo_page.html')
SAMPLE_DIRS = (os.path.join(sources.REPO_DIR, 'datasets', 'sample', 'val'),)
NUM_EXAMPLES = 6
DISCARD_LIMIT = 256 * 1024 * 1024  # Over-limit uploads up to this size are read and dropped.
UPLOAD_DEADLINE = 60  # Seconds one upload may take in all.
# Requests that may wait for the model. 32 clients looping on a 256x256 model, 2 CPU cores
# (benchmarks/demo_latency.py --load): at 8, 2,491 503s and a p99 of 49 s to the photo (a
# client that waits out Retry-After keeps losing its turn to those that just got theirs); at
# 32, none, a p99 of 3.0 s, the same peak memory. Each waiting request holds its upload.
MAX_QUEUE = 32
BUSY_MESSAGE = http_connections.BUSY_MESSAGE
MAX_CONNECTIONS = http_connections.MAX_CONNECTIONS


class DemoError(Exception):
    """A request that cannot be served; carries the HTTP status (and for 503, the seconds
    after which to retry)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def load_examples(folders=SAMPLE_DIRS, count: int = NUM_EXAMPLES) -> list[bytes]:
    """PNG sketches (left halves of the built-in sample's AB pairs), if the sample is there."""
    examples = []
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, '*.jpg')))[:count]:
            pair = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            if pair is not None:
                examples.append(cv2.imencode('.png', pair[:, :pair.shape[1] // 2])[1].tobytes())
    return examples[:count]


class DemoApp:
    """What the handler calls: prediction (queued) and photo -> sketch."""

    def __init__(self, backend, max_upload_bytes: int, max_queue: int, examples: list[bytes]):
        self.backend = backend
        self.max_upload_bytes = max_upload_bytes
        self.examples = examples
        # One request on the model at a time (it uses every core); at most max_queue waiting.
        self.max_queue = max_queue
        self._model_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._admitted = 0  # Requests running or waiting for the model's turn.
        self._seconds = 0.5  # Recent time of one request (moving average), for Retry-After.

    def retry_after(self) -> int:
        """Whole seconds after which a refused client should try again: the time the requests
        now admitted take, at least 1."""
        return max(1, math.ceil(self._seconds * max(self._admitted, 1)))

    def _take_turn(self, work):
        """work() on the model's turn, or DemoError 503 (with Retry-After) when max_queue
        requests already wait."""
        with self._count_lock:
            if self._admitted > self.max_queue:
                raise DemoError(503, BUSY_MESSAGE, self.retry_after())
            self._admitted += 1
        try:
            with self._model_lock:
                started = time.perf_counter()
                try:
                    return work()
                finally:
                    self._seconds += 0.2 * (time.perf_counter() - started - self._seconds)
        finally:
            with self._count_lock:
                self._admitted -= 1

    @property
    def max_sketch_size(self) -> int | None:
        """A local model's limit (its model card); None for TF Serving, which applies its own."""
        return getattr(self.backend, 'max_sketch_size', None)

    @property
    def max_photo_size(self) -> int:
        """The largest photo /sketch decodes (in this process, whatever the backend)."""
        return self.max_sketch_size or config_lib.DEFAULT_MAX_SKETCH_SIZE

    def _check_image(self, data: bytes) -> np.ndarray:
        """The uploaded photo as uint8 BGR [H, W, 3]; DemoError 400 when unusable."""
        limit = self.max_photo_size
        try:
            # The size in the header is checked first, for every format decode reads.
            image = image_files.decode(data, max_side=limit)[0]
        except image_files.ImageTooLarge as error:
            if max(error.height, error.width) > limit:
                raise DemoError(400, f'That image is {error.width}x{error.height} pixels; the '
                                     f'limit is {limit}x{limit}.') from None
            raise DemoError(400, f'That image is too large: {error}.') from None
        except image_files.UnreadableImage:
            raise DemoError(400, 'That file is not an image: upload a PNG or JPEG.') from None
        return image

    def predict(self, data: bytes) -> bytes:
        if image_headers.sniff(data) is None:  # Not a format the model reads (TIFF, PPM, text...).
            raise DemoError(400, 'That file is not an image: upload a PNG or JPEG.')
        try:
            client.check_input(data, self.max_sketch_size)
        except client.RejectedInput as error:
            raise DemoError(400, f'That sketch is too large: {error}.') from None
        try:
            return self._take_turn(lambda: self.backend.predict([data])[0])
        except client.RejectedInput as error:
            raise DemoError(400, str(error)) from None
        except client.PredictError as error:
            raise DemoError(502, str(error)) from None

    def sketch(self, data: bytes) -> bytes:
        # Decoding a large photo and sketching it use memory and every core: take a turn too.
        return self._take_turn(lambda: self._sketch(data))

    def _sketch(self, data: bytes) -> bytes:
        rgb = cv2.cvtColor(self._check_image(data), cv2.COLOR_BGR2RGB)
        if min(rgb.shape[:2]) < edges.MIN_SIZE:
            raise DemoError(400, f'That photo is too small (under {edges.MIN_SIZE} px).')
        return cv2.imencode('.png', edges.photo_to_sketch(rgb))[1].tobytes()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves the page and the JSON/PNG endpoints; every error becomes a JSON answer."""

    app: DemoApp = None  # Set by `make_server`.
    server_version = 'pix2pix-demo/1'
    # Seconds a connection may stay silent (http.server applies it to the socket): a stalled
    # or idle client holds a thread no longer than this.
    timeout = 10

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, retry_after: int | None = None) -> None:
        headers = {'Retry-After': str(retry_after)} if retry_after else None
        self._send(status, json.dumps({'error': message}).encode(), 'application/json', headers)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        try:
            if self.path in ('/', '/index.html'):
                with open(STATIC, 'rb') as file:
                    self._send(200, file.read(), 'text/html; charset=utf-8')
            elif self.path == '/examples':
                urls = [f'/examples/{index}.png' for index in range(len(self.app.examples))]
                self._send(200, json.dumps(urls).encode(), 'application/json')
            elif self.path.startswith('/examples/') and self.path.endswith('.png'):
                index = self.path[len('/examples/'):-len('.png')]
                if not index.isdigit() or int(index) >= len(self.app.examples):
                    raise DemoError(404, 'No such example.')
                self._send(200, self.app.examples[int(index)], 'image/png')
            else:
                raise DemoError(404, f'Not found: {self.path}')
        except DemoError as error:
            self._error(error.status, str(error))
        except Exception as error:  # noqa: BLE001 -- the server must survive any request.
            self._error(500, f'Internal error: {type(error).__name__}')

    def _body_length(self) -> int:
        """The upload's Content-Length; 411 when missing, 400 when not a whole number."""
        raw = self.headers.get('Content-Length')
        if raw is None:
            self.close_connection = True  # A body of unknown length may follow: drop it.
            raise DemoError(411, 'Send the upload with a Content-Length header.')
        if not raw.strip().isdigit():
            self.close_connection = True
            raise DemoError(400, f'Bad Content-Length {raw[:20]!r}: it must be a whole number '
                                 f'of bytes.')
        return int(raw)

    def do_POST(self):  # noqa: N802
        try:
            length = self._body_length()
            if length > self.app.max_upload_bytes:
                self._discard_body(length)
                limit = self.app.max_upload_bytes // (1024 * 1024)
                raise DemoError(413, f'That file is larger than the {limit} MB limit.')
            data = self._read_body(length)
            if self.path == '/predict':
                self._send(200, self.app.predict(data), 'image/png')
            elif self.path == '/sketch':
                self._send(200, self.app.sketch(data), 'image/png')
            else:
                raise DemoError(404, f'Not found: {self.path}')
        except DemoError as error:
            self._error(error.status, str(error), error.retry_after)
        except TimeoutError:  # The client stalled mid-upload: free the thread.
            self.close_connection = True
            self._error(408, f'The upload stalled (over {self.timeout} s without data, or '
                             f'{UPLOAD_DEADLINE} s in all).')
        except Exception as error:  # noqa: BLE001 -- the server must survive any request.
            self._error(500, f'Internal error: {type(error).__name__}: {error}'.splitlines()[0])

    def _read_body(self, length: int) -> bytes:
        """The upload, read within UPLOAD_DEADLINE seconds in all (the socket timeout bounds
        each read; this bounds a client that sends a byte now and then)."""
        deadline = time.monotonic() + UPLOAD_DEADLINE
        chunks, remaining = [], length
        while remaining > 0:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = self.rfile.read1(min(remaining, 1 << 16))
            if not chunk:
                raise DemoError(400, f'The upload ended after {length - remaining} of {length} '
                                     f'bytes.')
            chunks.append(chunk)
            remaining -= len(chunk)
        return b''.join(chunks)

    def _discard_body(self, length: int) -> None:
        """Reads and drops an over-limit body, so the client (still sending) gets the 413 instead
        of a broken connection; a body over DISCARD_LIMIT is not read, and the socket closes."""
        if length > DISCARD_LIMIT:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def log_message(self, format_, *args):
        if self.server.verbose:
            super().log_message(format_, *args)


def make_server(backend, host: str = '127.0.0.1', port: int = 8000, max_upload_mb: float = 10,
                max_queue: int = MAX_QUEUE, examples: list[bytes] | None = None,
                verbose: bool = False, timeout: float = Handler.timeout,
                max_connections: int = MAX_CONNECTIONS) -> http_connections.CappedServer:
    """The demo's server (port 0 picks a free port: see server_address)."""
    app = DemoApp(backend, int(max_upload_mb * 1024 * 1024), max_queue,
                  load_examples() if examples is None else examples)
    handler = type('DemoHandler', (Handler,), {'app': app, 'timeout': timeout})
    server = http_connections.CappedServer((host, port), handler)
    server.verbose = verbose
    server.max_connections = max_connections
    return server
