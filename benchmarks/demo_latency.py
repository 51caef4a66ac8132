"""Round-trip latency of the drawing demo's /predict at 256x256 on this machine.

    python benchmarks/demo_latency.py [--requests 30]       # a fresh 256x256 model
    python benchmarks/demo_latency.py --model saved_models/sample --screenshot docs/demo.png

Starts the demo server (pix2pix_tf.demo_server) on a free loopback port and posts a real 256x256
sketch (a built-in sample pair's left half, PNG) to /predict, as the page does after each
stroke: p50 and p95 of the full HTTP round trip (upload, decode, generator, PNG encode,
download). The target is under 300 ms at p50 on 2 cores. Without --model it exports a freshly
initialised 256x256 generator (paper mode) first: the cost does not depend on the weights.
With --screenshot it also opens the page in headless Chromium (Debian's /usr/bin/chromium via
Playwright), draws a few strokes with
the mouse as tests/test_demo_server.py does, and saves a screenshot once the photo is shown.
"""

import argparse
import glob
import http.client
import os
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pix2pix_tf import demo_server  # noqa: E402
from pix2pix_tf import client  # noqa: E402

STROKES = [[(0.12, 0.62), (0.25, 0.42), (0.45, 0.40), (0.62, 0.48), (0.88, 0.58), (0.9, 0.72)],
           [(0.9, 0.72), (0.12, 0.74), (0.12, 0.62)], [(0.25, 0.42), (0.27, 0.18), (0.42, 0.16),
                                                       (0.45, 0.40)],
           [(0.15, 0.68), (0.88, 0.66)]]


def screenshot(url: str, path: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path='/usr/bin/chromium', headless=True,
            args=['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run'])
        page = browser.new_page(viewport={'width': 1100, 'height': 700})
        page.goto(url)
        box = page.locator('#sketch').bounding_box()
        for stroke in STROKES:
            page.mouse.move(box['x'] + stroke[0][0] * box['width'],
                            box['y'] + stroke[0][1] * box['height'])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box['x'] + x * box['width'], box['y'] + y * box['height'],
                                steps=10)
            page.mouse.up()
        page.wait_for_function('document.getElementById("result").naturalWidth > 0',
                               timeout=60_000)
        page.wait_for_function('document.getElementById("status").textContent'
                               '.startsWith("Generated")', timeout=60_000)
        page.screenshot(path=path)
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', help='exported SavedModel (folder of versions or a version); '
                        'default: a fresh 256x256 model')
    parser.add_argument('--requests', type=int, default=30)
    parser.add_argument('--screenshot', help='also save a screenshot of the page here')
    args = parser.parse_args()
    model = args.model
    if not model:
        from pix2pix_tf import models
        from pix2pix_tf import serving

        model = serving.export(models.build_generator(256), 256, 'paper',
                               tempfile.mkdtemp(prefix='demo_bench_'))
    server = demo_server.make_server(client.LocalBackend(model), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    path = sorted(glob.glob(os.path.join(REPO, 'datasets', 'sample', 'val', '*.jpg')))[0]
    sketch = cv2.imencode('.png', cv2.imread(path, cv2.IMREAD_GRAYSCALE)[:, :256])[1].tobytes()
    seconds = []
    for index in range(args.requests + 2):
        connection = http.client.HTTPConnection(host, port, timeout=60)
        started = time.perf_counter()
        connection.request('POST', '/predict', body=sketch,
                           headers={'Content-Type': 'image/png'})
        response = connection.getresponse()
        response.read()
        if index >= 2:  # The first two warm up (tracing).
            seconds.append(time.perf_counter() - started)
        assert response.status == 200, response.status
    print(f'\n/predict round trip, 256x256 PNG sketch, {args.requests} requests, '
          f'{os.cpu_count()} CPU cores')
    print('| p50 ms | p95 ms |\n|---|---|')
    print(f'| {1000 * np.percentile(seconds, 50):.0f} | {1000 * np.percentile(seconds, 95):.0f} |')
    if args.screenshot:
        screenshot(f'http://{host}:{port}/', args.screenshot)
        print(f'screenshot: {args.screenshot}')
    server.shutdown()


if __name__ == '__main__':
    main()
