"""The capped threading HTTP server: past max_connections a new connection is read and answered
503 with Retry-After (never reset), and the slots come back when connections close."""

import http.client
import http.server
import json
import threading
import time

from pix2pix_tf.serving import http_connections


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """GET /: waits until the test releases it, then answers 200."""

    release = threading.Event()

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.release.wait(30)
        body = b'done'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_connection_past_the_cap_gets_503_with_retry_after_then_slots_come_back():
    server = http_connections.CappedServer(('127.0.0.1', 0), SlowHandler)
    server.max_connections = 2
    assert server.request_queue_size == http_connections.BACKLOG
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    held = [http.client.HTTPConnection(host, port, timeout=30) for _ in range(2)]
    try:
        for connection in held:
            connection.request('GET', '/')
        deadline = time.monotonic() + 10
        while server.open_connections < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.open_connections == 2
        extra = http.client.HTTPConnection(host, port, timeout=30)
        extra.request('POST', '/', body=b'x' * 100_000)  # Read whole before the answer.
        response = extra.getresponse()
        assert response.status == 503 and response.getheader('Retry-After') == '1'
        assert http_connections.BUSY_MESSAGE in json.loads(response.read())['error']
        SlowHandler.release.set()
        assert [connection.getresponse().read() for connection in held] == [b'done'] * 2
        for connection in held:
            connection.close()
        deadline = time.monotonic() + 10
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.open_connections == 0
        again = http.client.HTTPConnection(host, port, timeout=30)
        again.request('GET', '/')
        assert again.getresponse().status == 200
    finally:
        SlowHandler.release.set()
        server.shutdown()
        server.server_close()
