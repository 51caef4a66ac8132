"""The drawing demo's server (pix2pix_tf.serving.demo_server): its HTTP API, and the page
driven in a real headless Chromium.

The browser is Debian's `chromium` (/usr/bin/chromium), driven by Playwright's Python package
with `executable_path` (no downloaded browser). `.ci/run` installs both.
"""

import http.client
import io
import json
import os
import shutil
import socket
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from pix2pix_tf.serving import client
from pix2pix_tf.serving import demo_server

from conftest import SAMPLE

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
AB_FILES = sorted((SAMPLE / 'val').glob('*.jpg'))


@pytest.fixture(scope='module')
def server(exported_model):
    """The demo on a tiny exported model (64x64), on a free loopback port."""
    server = demo_server.make_server(client.LocalBackend(str(exported_model)), port=0,
                                     max_upload_mb=1, max_queue=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def request(server, method, path, body=None):
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    connection.request(method, path, body=body)
    response = connection.getresponse()
    return response.status, response.getheader('Content-Type'), response.read()


def encoded(array, format_='PNG') -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format_)
    return buffer.getvalue()


def test_api_predict_sketch_examples_and_errors(server):
    assert server.server_address[0] == '127.0.0.1'  # Loopback by default.
    sketch = cv2.imread(str(AB_FILES[0]), cv2.IMREAD_GRAYSCALE)[:, :256]
    status, kind, body = request(server, 'POST', '/predict', encoded(sketch))
    assert (status, kind) == (200, 'image/png')
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR).shape == (256, 256, 3)
    photo = cv2.imread(str(AB_FILES[0]))[:, 256:, ::-1]
    status, kind, body = request(server, 'POST', '/sketch', encoded(photo, 'JPEG'))
    made = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert status == 200 and set(np.unique(made)) == {0, 255}
    status, _, body = request(server, 'GET', '/examples')
    urls = json.loads(body)
    assert status == 200 and len(urls) == demo_server.NUM_EXAMPLES
    assert request(server, 'GET', urls[0])[1] == 'image/png'
    # Bad input: clear JSON errors, and the server keeps going.
    status, kind, body = request(server, 'POST', '/predict', b'%PDF-1.4 not an image')
    assert (status, kind) == (400, 'application/json')
    assert json.loads(body)['error'] == 'That file is not an image: upload a PNG or JPEG.'
    status, _, body = request(server, 'POST', '/predict', b'x' * (2 * 1024 * 1024))
    assert status == 413 and 'larger than the 1 MB limit' in json.loads(body)['error']
    assert request(server, 'GET', '/nope')[0] == 404
    assert request(server, 'POST', '/predict', encoded(sketch))[0] == 200


def test_concurrent_requests_are_queued_or_refused_never_crash(server):
    sketch = encoded(cv2.imread(str(AB_FILES[1]), cv2.IMREAD_GRAYSCALE)[:, :256])
    statuses = []

    def call():
        statuses.append(request(server, 'POST', '/predict', sketch)[0])

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == 8 and set(statuses) <= {200, 503}
    assert 200 in statuses
    assert request(server, 'POST', '/predict', sketch)[0] == 200  # Still serving.


def answers(server, count: int, clients: int, body: bytes, path='/predict'):
    """`count` POSTs from `clients` threads, each on a fresh connection: [(status,
    Retry-After, body)] of every answer, and the errors of requests that got none."""
    results, errors, lock = [], [], threading.Lock()
    host, port = server.server_address[:2]

    def run(share):
        for _ in range(share):
            try:
                connection = http.client.HTTPConnection(host, port, timeout=60)
                connection.request('POST', path, body=body)
                response = connection.getresponse()
                answer = (response.status, response.getheader('Retry-After'), response.read())
                connection.close()
                with lock:
                    results.append(answer)
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    errors.append(repr(error))

    threads = [threading.Thread(target=run, args=(count // clients,)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results, errors


def check_busy_answer(status, retry_after, body):
    assert status == 503 and retry_after.isdigit() and int(retry_after) >= 1, (status,
                                                                               retry_after)
    assert json.loads(body)['error'].startswith(demo_server.BUSY_MESSAGE)


def test_many_clients_every_request_answered_503_with_retry_after(exported_model):
    """32 clients at once on a queue of 1: every request gets a whole answer, a PNG or a 503
    that says when to come back; none is dropped, reset or left hanging."""
    server = demo_server.make_server(client.LocalBackend(str(exported_model)), port=0,
                                     max_queue=1, examples=[])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sketch = encoded(cv2.imread(str(AB_FILES[1]), cv2.IMREAD_GRAYSCALE)[:, :256])
        photo = encoded(cv2.imread(str(AB_FILES[2]))[:, 256:])
        for path, body in (('/predict', sketch), ('/sketch', photo)):
            results, errors = answers(server, 256, 32, body, path)
            assert not errors and len(results) == 256, (path, errors[:3])
            statuses = [status for status, _, _ in results]
            assert statuses.count(200) > 0 and statuses.count(503) > 0, path
            for status, retry_after, data in results:
                if status == 200:
                    assert data.startswith(b'\x89PNG') and retry_after is None
                else:
                    check_busy_answer(status, retry_after, data)
        # Honouring Retry-After, one client gets its answer once the crowd has gone.
        assert request(server, 'POST', '/predict', sketch)[0] == 200
        deadline = time.monotonic() + 10  # Each thread frees its slot after its answer.
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.open_connections == 0
    finally:
        server.shutdown()
        server.server_close()


def test_idle_connections_do_not_delay_a_fresh_client(exported_model):
    """100 connections that send nothing (or half a request line) hold a thread each until the
    socket timeout, and a fresh client is served meanwhile, well within that timeout; past
    --max_connections, a new connection gets 503 with Retry-After at once."""
    timeout = 3.0
    server = demo_server.make_server(client.LocalBackend(str(exported_model)), port=0,
                                     examples=[], timeout=timeout, max_connections=104)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    sketch = encoded(cv2.imread(str(AB_FILES[1]), cv2.IMREAD_GRAYSCALE)[:, :256])
    idle = []
    try:
        assert request(server, 'POST', '/predict', sketch)[0] == 200  # Traced once.
        for index in range(100):
            sock = socket.create_connection((host, port), timeout=30)
            if index % 2:
                sock.sendall(b'POST /predict HT')  # Half a request line, then silence.
            idle.append(sock)
        started = time.monotonic()
        status, content_type, body = request(server, 'POST', '/predict', sketch)
        seconds = time.monotonic() - started
        assert status == 200 and body.startswith(b'\x89PNG')
        assert seconds < timeout / 2, f'a fresh client waited {seconds:.1f} s'
        # Fill the rest of the slots: the next connection is refused with 503 at once.
        extra = [socket.create_connection((host, port), timeout=30) for _ in range(4)]
        idle += extra
        deadline = time.monotonic() + 10
        while server.open_connections < 104 and time.monotonic() < deadline:
            time.sleep(0.05)
        connection = http.client.HTTPConnection(host, port, timeout=30)
        started = time.monotonic()
        connection.request('POST', '/predict', body=sketch)
        response = connection.getresponse()
        check_busy_answer(response.status, response.getheader('Retry-After'), response.read())
        assert time.monotonic() - started < timeout / 2
        # The server closes the silent connections after its timeout: the slots come back.
        for sock in idle:
            sock.settimeout(timeout + 10)
            assert sock.recv(1024) == b''  # Closed by the server, without an answer.
        deadline = time.monotonic() + timeout + 10
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.open_connections == 0
        assert request(server, 'POST', '/predict', sketch)[0] == 200
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(server, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'{CHROMIUM} not found: install Debian\'s chromium (.ci/run does).')
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        page = browser.new_page(viewport={'width': 1000, 'height': 800})
        host, port = server.server_address[:2]
        page.goto(f'http://{host}:{port}/')
        yield page
        browser.close()


def image_stats(page, selector):
    """(naturalWidth, naturalHeight, std of the pixels) of an <img> or a canvas."""
    return page.evaluate('''selector => {
        const element = document.querySelector(selector);
        const canvas = document.createElement('canvas');
        const width = element.naturalWidth || element.width;
        const height = element.naturalHeight || element.height;
        canvas.width = width; canvas.height = height;
        const context = canvas.getContext('2d');
        context.drawImage(element, 0, 0);
        const data = context.getImageData(0, 0, width, height).data;
        let sum = 0, sum2 = 0, n = 0;
        for (let i = 0; i < data.length; i += 4) {
            const v = (data[i] + data[i + 1] + data[i + 2]) / 3; sum += v; sum2 += v * v; n++;
        }
        return [width, height, Math.sqrt(sum2 / n - (sum / n) ** 2)];
    }''', selector)


def wait_for_new_result(page, previous_src, timeout=60):
    page.wait_for_function('previous => { const r = document.getElementById("result");'
                           ' return r.src && r.src !== previous && r.complete'
                           ' && r.naturalWidth > 0; }', arg=previous_src, timeout=timeout * 1000)


def test_draw_upload_and_errors_in_a_real_browser(page, tmp_path):
    # Draw three strokes with the mouse: a shoe-ish outline.
    box = page.locator('#sketch').bounding_box()
    strokes = [[(0.15, 0.65), (0.3, 0.45), (0.55, 0.45), (0.85, 0.6), (0.85, 0.75)],
               [(0.85, 0.75), (0.15, 0.75), (0.15, 0.65)], [(0.3, 0.45), (0.3, 0.2), (0.45, 0.2)]]
    for stroke in strokes:
        page.mouse.move(box['x'] + stroke[0][0] * box['width'],
                        box['y'] + stroke[0][1] * box['height'])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box['x'] + x * box['width'], box['y'] + y * box['height'], steps=8)
        page.mouse.up()
    width, height, spread = image_stats(page, '#sketch')
    assert (width, height) == (256, 256) and spread > 5  # Strokes on the canvas.
    wait_for_new_result(page, '')
    width, height, spread = image_stats(page, '#result')
    assert (width, height) == (256, 256)  # The canvas size, back from a 64x64 model.
    assert spread > 1  # Not a blank image.
    assert page.get_attribute('#download', 'href').startswith('blob:')
    page.screenshot(path=str(tmp_path / 'demo_after_drawing.png'))
    assert os.path.getsize(tmp_path / 'demo_after_drawing.png') > 10_000
    if os.environ.get('PIX2PIX_DEMO_SCREENSHOT'):  # Refreshes docs/demo.png on request.
        page.screenshot(path=os.environ['PIX2PIX_DEMO_SCREENSHOT'])

    # Upload a photo: it becomes a sketch on the canvas, then a new result.
    photo_path = tmp_path / 'shoe_photo.jpg'
    cv2.imwrite(str(photo_path), cv2.imread(str(AB_FILES[2]))[:, 256:])
    previous = page.get_attribute('#result', 'src')
    page.set_input_files('#upload-photo', str(photo_path))
    wait_for_new_result(page, previous)
    sketch_pixels = page.evaluate('''() => { const c = document.getElementById('sketch');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) dark++;
        return dark / (d.length / 4); }''')
    assert 0.005 < sketch_pixels < 0.3  # Black strokes of the photo's sketch on white.

    # A non-image upload: the server's message appears on the page.
    bad = tmp_path / 'notes.jpg'
    bad.write_bytes(b'these are my notes, not a photo')
    page.set_input_files('#upload-photo', str(bad))
    page.wait_for_function('document.getElementById("error").textContent.length > 0',
                           timeout=30_000)
    assert page.text_content('#error') == 'That file is not an image: upload a PNG or JPEG.'

    # An example sketch from the built-in sample loads and predicts.
    previous = page.get_attribute('#result', 'src')
    page.click('#examples img >> nth=0')
    wait_for_new_result(page, previous)
    assert page.text_content('#error') == ''

    # A busy server: the page waits out Retry-After and asks again. The first answer is the
    # server's own 503 body and headers, replayed by the browser's router (the tiny model is
    # too fast to keep busy from here); the retry goes to the real server.
    busy = []

    def route(request_route):
        if not busy:
            busy.append(request_route.request.url)
            request_route.fulfill(status=503, headers={'Retry-After': '1'},
                                  content_type='application/json',
                                  body=json.dumps({'error': demo_server.BUSY_MESSAGE}))
        else:
            request_route.continue_()

    page.route('**/predict', route)
    previous = page.get_attribute('#result', 'src')
    page.click('#examples img >> nth=1')
    page.wait_for_function('document.getElementById("status").textContent.includes("busy")',
                           timeout=30_000)
    wait_for_new_result(page, previous)
    assert len(busy) == 1 and page.text_content('#error') == ''
    page.unroute('**/predict')
