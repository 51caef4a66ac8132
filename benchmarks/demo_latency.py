"""Round-trip latency of the drawing demo's /predict at 256x256 on this machine.

    python benchmarks/demo_latency.py [--requests 30]       # a fresh 256x256 model
    python benchmarks/demo_latency.py --model saved_models/sample --screenshot docs/demo.png

Starts the demo server (pix2pix_tf.serving.demo_server) on a free loopback port and posts a
real 256x256 sketch (a built-in sample pair's left half, PNG) to /predict, as the page does
after each stroke: p50 and p95 of the full HTTP round trip (upload, decode, generator, PNG encode,
download). The target is under 300 ms at p50 on 2 cores. Without --model it exports a freshly
initialised 256x256 generator (paper mode) first: the cost does not depend on the weights.
With --screenshot it also opens the page in headless Chromium (Debian's /usr/bin/chromium via
Playwright), draws a few strokes with
the mouse as tests/serving/test_demo_server.py does, and saves a screenshot once the photo is shown.

    python benchmarks/demo_latency.py --load [--requests 2048 --clients 32 --max_queue 8 32]

Load mode: starts `pix2pix-demo` as a separate process (python -m pix2pix_tf.commands.demo,
--max_queue 32, or one run for each value given) and sends --requests POSTs of the sketch from
--clients threads at once, each on a fresh connection; a client that gets 503 waits the
Retry-After it names and sends it again. It reports p50/p99 of the time each request took to
get its photo (retries included) and of one answered attempt, the 503s and their
Retry-After, any request left unanswered (must be 0), the server process's RSS after warm-up,
at the end and at its peak (VmHWM), and then opens 100 idle connections and times a fresh
client against the server's 10 s socket timeout. It exits 1 when a request went unanswered or
the fresh client waited past the timeout.
"""

import argparse
import glob
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pix2pix_tf.serving import client  # noqa: E402
from pix2pix_tf.serving import demo_server  # noqa: E402

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


def rss_bytes(pid: int, key: str = 'VmRSS') -> int:
    """A process's resident memory (VmRSS) or its peak (VmHWM), in bytes."""
    with open(f'/proc/{pid}/status') as file:
        for line in file:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'no {key} for process {pid}')


def start_demo_process(model: str, max_queue: int):
    """`pix2pix-demo --model=... --port=0` as a child process: (process, host, port)."""
    process = subprocess.Popen(
        [sys.executable, '-m', 'pix2pix_tf.commands.demo', f'--model={model}', '--port=0',
         f'--max_queue={max_queue}'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, cwd=REPO)
    line = process.stdout.readline()
    found = re.search(r'http://([\d.]+):(\d+)/', line)
    if not found:
        process.kill()
        raise SystemExit(f'the demo did not start: {line!r}')
    return process, found.group(1), int(found.group(2))


def post(host: str, port: int, body: bytes, timeout: float = 120):
    """(status, Retry-After header, body) of one POST /predict on a fresh connection."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request('POST', '/predict', body=body, headers={'Content-Type': 'image/png'})
        response = connection.getresponse()
        return response.status, response.getheader('Retry-After'), response.read()
    finally:
        connection.close()


def load(model: str, sketch: bytes, requests: int, clients: int, max_queue: int) -> bool:
    process, host, port = start_demo_process(model, max_queue)
    try:
        for _ in range(5):  # Warm up: tracing, first allocations.
            assert post(host, port, sketch)[0] == 200
        rss_start = rss_bytes(process.pid)
        totals, attempts, busy, waits, failures, lock = [], [], [], [], [], threading.Lock()
        shares = [requests // clients + (index < requests % clients) for index in range(clients)]

        def client_thread(share):
            for _ in range(share):
                started = time.perf_counter()
                while True:
                    attempt = time.perf_counter()
                    try:
                        status, retry_after, body = post(host, port, sketch)
                    except (OSError, http.client.HTTPException) as error:
                        with lock:
                            failures.append(repr(error))
                        break
                    if status == 503 and (retry_after or '').isdigit():
                        with lock:
                            busy.append(1)
                            waits.append(int(retry_after))
                        time.sleep(int(retry_after))
                        continue
                    with lock:
                        if status == 200 and body.startswith(b'\x89PNG'):
                            totals.append(time.perf_counter() - started)
                            attempts.append(time.perf_counter() - attempt)
                        else:
                            failures.append(f'HTTP {status} {body[:80]!r}')
                    break

        began = time.perf_counter()
        threads = [threading.Thread(target=client_thread, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        rss_end, rss_peak = rss_bytes(process.pid), rss_bytes(process.pid, 'VmHWM')

        # 100 idle connections (half with half a request line), then a fresh client.
        idle = [socket.create_connection((host, port), timeout=30) for _ in range(100)]
        for sock in idle[::2]:
            sock.sendall(b'POST /predict HT')
        time.sleep(0.5)
        started = time.perf_counter()
        status = post(host, port, sketch, timeout=30)[0]
        fresh = time.perf_counter() - started
        for sock in idle:
            sock.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    mib = 2 ** 20
    print(f'\n/predict under load: {requests} requests from {clients} clients at once, '
          f'--max_queue {max_queue}, 256x256 PNG sketch, server in its own process, '
          f'{os.cpu_count()} CPU cores, {seconds:.0f} s ({len(totals) / seconds:.1f} photos/s)')
    print('| answered | unanswered | 503s (Retry-After s, min-max) | p50 s to photo | '
          'p99 s to photo | p50 ms per answered attempt | p99 ms per answered attempt |')
    print('|---|---|---|---|---|---|---|')
    print(f'| {len(totals)} | {len(failures)} | {len(busy)} '
          f'({min(waits, default=0)}-{max(waits, default=0)}) | '
          f'{np.percentile(totals, 50):.2f} | {np.percentile(totals, 99):.2f} | '
          f'{1000 * np.percentile(attempts, 50):.0f} | {1000 * np.percentile(attempts, 99):.0f} |')
    print('\n| server RSS after warm-up MiB | at the end MiB | peak MiB | growth MiB |')
    print('|---|---|---|---|')
    print(f'| {rss_start / mib:.0f} | {rss_end / mib:.0f} | {rss_peak / mib:.0f} | '
          f'{(rss_end - rss_start) / mib:+.0f} |')
    print(f'\n100 idle connections open: a fresh client got HTTP {status} in {fresh:.2f} s '
          f'(socket timeout 10 s)')
    for failure in failures[:5]:
        print(f'unanswered: {failure}')
    return not failures and status == 200 and fresh < 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', help='exported SavedModel (folder of versions or a version); '
                        'default: a fresh 256x256 model')
    parser.add_argument('--requests', type=int, default=None,
                        help='requests to time (default 30; 2048 with --load)')
    parser.add_argument('--screenshot', help='also save a screenshot of the page here')
    parser.add_argument('--load', action='store_true',
                        help='load mode: many clients at once on a separate server process')
    parser.add_argument('--clients', type=int, default=32, help='--load: clients at once')
    parser.add_argument('--max_queue', type=int, nargs='+', default=[demo_server.MAX_QUEUE],
                        help="--load: the demo's --max_queue; several values: one run each")
    args = parser.parse_args()
    model = args.model
    if not model:
        from pix2pix_tf.model import networks
        from pix2pix_tf.serving import signatures

        model = signatures.export(networks.build_generator(256), 256, 'paper',
                               tempfile.mkdtemp(prefix='demo_bench_'))
    if args.load:
        path = sorted(glob.glob(os.path.join(REPO, 'datasets', 'sample', 'val', '*.jpg')))[0]
        sketch = cv2.imencode('.png', cv2.imread(path, cv2.IMREAD_GRAYSCALE)[:, :256])[1]
        ok = [load(model, sketch.tobytes(), args.requests or 2048, args.clients, max_queue)
              for max_queue in args.max_queue]
        sys.exit(0 if all(ok) else 1)
    args.requests = args.requests or 30
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
