"""An HTTP server with a thread per connection and a cap on open connections (the demo's,
pix2pix_tf/serving/demo_server.py).

`CappedServer` is `http.server.ThreadingHTTPServer` with a listen backlog of BACKLOG and at most
`max_connections` open at once; a connection past the cap is answered 503 with
`Retry-After: 1` (JSON `{"error": ...}`) after its request has been read, so a client sees the
answer rather than a reset connection, and no client can exhaust the threads.
"""

import http.server
import json
import threading
import time

BUSY_MESSAGE = 'The server is busy; try again in a moment.'
MAX_CONNECTIONS = 256  # Open connections (one thread each); a new one past this gets 503.
BACKLOG = 128  # Connections the kernel holds before accept (socketserver's default is 5).
# A connection past MAX_CONNECTIONS: its request is read (at most this many bytes, this long)
# and answered 503 on a short-lived thread, at most REFUSING_THREADS at once.
REFUSE_READ_BYTES = 1 << 20
REFUSE_SECONDS = 2.0
REFUSING_THREADS = 32


class CappedServer(http.server.ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` open: past that a new connection is
    answered 503 with Retry-After by a short-lived thread (`_refuse`, at most REFUSING_THREADS
    at once; beyond them it is closed unanswered), so no client can exhaust the threads."""

    daemon_threads = True
    request_queue_size = BACKLOG
    max_connections = MAX_CONNECTIONS
    verbose = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._open_lock = threading.Lock()
        self.open_connections = 0
        self._refusing = 0  # Threads answering connections past max_connections.

    def process_request(self, request, client_address):
        with self._open_lock:
            full = self.open_connections >= self.max_connections
            if not full:
                self.open_connections += 1
            refusing = full and self._refusing < REFUSING_THREADS
            if refusing:
                self._refusing += 1
        if full:
            if refusing:  # Read the request first: closing on unread data resets it.
                threading.Thread(target=self._refuse, args=(request,), daemon=True).start()
            else:  # A flood: no thread even to say no.
                self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:  # A thread that could not start: the slot is free again.
            with self._open_lock:
                self.open_connections -= 1
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self.open_connections -= 1

    def _refuse(self, request) -> None:
        """Answers a connection past max_connections 503 with Retry-After: 1, after reading
        its request (headers and up to REFUSE_READ_BYTES of body, within REFUSE_SECONDS), so
        the client gets the answer rather than a reset connection."""
        body = json.dumps({'error': f'{BUSY_MESSAGE} ({self.max_connections} connections are '
                                    f'open)'}).encode()
        head = (f'HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n'
                f'Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n'
                f'Cache-Control: no-store\r\n\r\n').encode()
        deadline = time.monotonic() + REFUSE_SECONDS
        try:
            received, wanted = b'', None
            while time.monotonic() < deadline and len(received) < REFUSE_READ_BYTES:
                if wanted is None and b'\r\n\r\n' in received:
                    headers, _, rest = received.partition(b'\r\n\r\n')
                    length = next((line.split(b':', 1)[1].strip() for line in
                                   headers.split(b'\r\n')
                                   if line.lower().startswith(b'content-length:')), b'0')
                    wanted = len(headers) + 4 + (int(length) if length.isdigit() else 0)
                if wanted is not None and len(received) >= wanted:
                    break
                request.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = request.recv(1 << 16)
                if not chunk:
                    break
                received += chunk
        except OSError:
            pass
        try:
            request.settimeout(1)
            request.sendall(head + body)
        except OSError:
            pass
        finally:
            self.shutdown_request(request)
            with self._open_lock:
                self._refusing -= 1
