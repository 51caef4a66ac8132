"""The drawing demo's server (pix2pix_tf.demo_server): its HTTP API, and the page driven in a
real headless Chromium.

The browser is Debian's `chromium` (/usr/bin/chromium), driven by Playwright's Python package
with `executable_path` (no downloaded browser). `.ci/run` installs both.
"""

import http.client
import io
import json
import os
import shutil
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from pix2pix_tf import demo_server
from pix2pix_tf import client

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
