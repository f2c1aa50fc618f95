"""The shared half of porter's HTTPS test servers (mock_nexudus.py, webhook_receiver.py).

What both need and neither should own: TLS on loopback with the fixture's throwaway
CA, port 0 written atomically to a file, a clean exit on SIGTERM, HTTP/1.1 keep-alive,
fault injection told through /_control/faults, and a request log that never holds a
password, token or PIN in clear. Stdlib only: the tests run on a bare Debian 12.
"""

import hashlib
import http.server
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse

# Query parameters whose values are secrets (PINs, card numbers, codes, tokens):
# the request log keeps the name and replaces the value.
SECRET_PARAM = re.compile(r"pin|pass|token|card|code|fob|secret", re.I)

FAULT_KINDS = ("status", "500", "409", "401", "slow", "reset", "malformed", "oversized", "lost_reply")


class Dropped(Exception):
    """Raised inside a handler to end the connection without a reply (fault 'reset')."""


def redact_path(path):
    """The path with secret-looking query values replaced by '***'."""
    parts = urllib.parse.urlsplit(path)
    if not parts.query:
        return path
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    safe = [(k, "***" if SECRET_PARAM.search(k) else v) for k, v in query]
    return parts.path + "?" + urllib.parse.urlencode(safe)


def token_tag(token):
    """A short, stable, non-reversible name for a token, for the request log."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


class Faults:
    """A queue of faults to inject. Each entry applies to the next `count` requests
    that match its optional method and path (a regular expression searched in the path
    without the query); the first entry that matches wins."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queue = []

    def add(self, spec):
        """Validate one fault spec (a dict) and queue it; raises ValueError naming the problem."""
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ValueError("fault kind %r is not one of %s" % (kind, ", ".join(FAULT_KINDS)))
        fault = {
            "kind": kind,
            "count": int(spec.get("count", 1)),
            "method": spec.get("method"),
            "path": spec.get("path"),
            "status": int(spec.get("status", {"500": 500, "409": 409, "401": 401}.get(kind, 500))),
            "retry_after": spec.get("retry_after", 1),
            "delay": float(spec.get("delay", 2.0)),
            "size": int(spec.get("size", 50 * 1024 * 1024)),
            "chunked": bool(spec.get("chunked", False)),
            "apply_first": bool(spec.get("apply_first", True)),
        }
        if fault["count"] < 1:
            raise ValueError("fault count must be at least 1")
        if fault["path"] is not None:
            re.compile(fault["path"])
        with self.lock:
            self.queue.append(fault)

    def take(self, method, path):
        """The fault for this request, if any, counting it down."""
        bare = urllib.parse.urlsplit(path).path
        with self.lock:
            for fault in self.queue:
                if fault["method"] and fault["method"].upper() != method:
                    continue
                if fault["path"] and not re.search(fault["path"], bare):
                    continue
                fault["count"] -= 1
                if fault["count"] == 0:
                    self.queue.remove(fault)
                return dict(fault)
        return None

    def clear(self):
        with self.lock:
            self.queue = []

    def pending(self):
        with self.lock:
            return [dict(f) for f in self.queue]


class RequestLog:
    """What the server was asked, in order: method, path (secrets redacted), time,
    status, the fault applied. Never a body, a password or a token in clear."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def add(self, entry):
        with self.lock:
            self.entries.append(entry)

    def all(self):
        with self.lock:
            return list(self.entries)

    def clear(self):
        with self.lock:
            self.entries = []


class Handler(http.server.BaseHTTPRequestHandler):
    """Base handler: keep-alive, JSON helpers, faults, logging. A subclass implements
    route(method, path, body) -> (status, headers, body_bytes) for everything outside
    /_control, control(method, path, body) for /_control, and may mark requests as
    writes (apply-then-drop faults only make sense for those)."""

    protocol_version = "HTTP/1.1"
    entry = None  # this request's log entry until it is logged
    server_version = "porter-mock"
    sys_version = ""

    # Silence the default stderr line per request: it holds the query string (PINs).
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def read_body(self):
        """The request body, by Content-Length or chunked (libcurl chunks a body of
        unknown size)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        return self.rfile.read(int(length))

    def dispatch(self, method):
        body = self.read_body()
        if self.path.startswith("/_control/") or self.path == "/_control":
            try:
                status, headers, payload = self.control(method, self.path, body)
            except Exception as e:  # a bad knob is the test's mistake: say which
                traceback.print_exc()
                status, headers, payload = jreply(400, {"error": "control %s failed: %r" % (self.path, e)})
            self.reply(status, headers, payload)
            return
        started = time.time()
        entry = {"method": method, "path": redact_path(self.path), "time": started, "status": None, "fault": None}
        entry.update(self.log_extra())
        self.entry = entry
        fault = self.server.faults.take(method, self.path)
        try:
            self.serve_with_fault(method, body, fault, entry)
        finally:
            self.log_once()

    def log_once(self):
        """Log the request before its reply (or reset) goes out: a client that reads
        the log right after its reply must find the request there."""
        if self.entry is not None:
            self.server.requests.add(self.entry)
            self.entry = None

    def serve_with_fault(self, method, body, fault, entry):
        kind = fault["kind"] if fault else None
        if kind:
            entry["fault"] = kind
        if kind in ("status", "500", "409", "401"):
            status = fault["status"]
            headers = {}
            if status in (409, 429, 503) and fault["retry_after"] is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            if status == 401:
                self.fault_unauthorized()
                payload = {"Message": "Authorization has been denied for this request."}
            elif status == 409:
                payload = {"Message": "Too many requests. Try again later."}
            else:
                payload = {"Message": "An error has occurred."}
            entry["status"] = status
            self.reply(status, headers, json.dumps(payload).encode())
            return
        if kind == "reset":
            entry["status"] = "reset"
            self.drop()
            return
        if kind == "slow" and not fault["apply_first"]:
            time.sleep(fault["delay"])
        try:
            status, headers, payload = self.route(method, self.path, body)
        except Exception as e:  # a bug in the mock must not look like a network fault
            traceback.print_exc()
            status, headers, payload = jreply(500, {"Message": "mock bug: %r" % e})
        entry["status"] = status
        if kind == "lost_reply":
            entry["status"] = "lost(%d)" % status
        self.log_once()
        if kind == "lost_reply":
            self.drop()
            return
        if kind == "slow" and fault["apply_first"]:
            time.sleep(fault["delay"])
        if kind == "malformed":
            # Cut the real reply short and add garbage: no JSON parser accepts it.
            payload = payload[: max(1, len(payload) // 2)] + b'\x00{"'
        if kind == "oversized":
            self.stream_oversized(status, fault)
            return
        self.reply(status, headers, payload)

    def stream_oversized(self, status, fault):
        """A well-formed JSON list of `size` bytes (give or take a record), streamed."""
        record = b'{"Id":1,"FullName":"Padding Padding","Email":"pad@example.com"},'
        head, tail = b'{"Records":[', b'{"Id":0}],"TotalItems":0}'
        n = max(0, (fault["size"] - len(head) - len(tail)) // len(record))
        total = len(head) + n * len(record) + len(tail)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if fault["chunked"]:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        block = record * 1024
        try:
            self.write_piece(head, fault["chunked"])
            left = n
            while left > 0:
                k = min(left, 1024)
                self.write_piece(block if k == 1024 else record * k, fault["chunked"])
                left -= k
            self.write_piece(tail, fault["chunked"])
            if fault["chunked"]:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def write_piece(self, data, chunked):
        if chunked:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        else:
            self.wfile.write(data)

    def drop(self):
        """End the connection with a TCP reset and no reply."""
        self.log_once()
        self.close_connection = True
        self.dropped = True
        try:
            # Linger 0 turns close() into a RST; the buffered reader holds a reference
            # to the socket, so it must go first or close() would not close the fd.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def finish(self):
        if getattr(self, "dropped", False):
            return
        try:
            super().finish()
        except OSError:
            pass

    def reply(self, status, headers, payload, content_type="application/json; charset=utf-8"):
        self.log_once()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    # Hooks for subclasses.
    def log_extra(self):
        return {}

    def fault_unauthorized(self):
        pass

    def route(self, method, path, body):
        return 404, {}, b'{"Message":"No HTTP resource was found."}'

    def control(self, method, path, body):
        """The control endpoints both servers share; subclasses extend control_more()."""
        bare = urllib.parse.urlsplit(path).path
        try:
            data = json.loads(body) if body else {}
        except ValueError as e:
            return jreply(400, {"error": "control body is not JSON: %s" % e})
        if bare == "/_control/faults":
            if method == "GET":
                return jreply(200, {"faults": self.server.faults.pending()})
            if method == "DELETE":
                self.server.faults.clear()
                return jreply(200, {"faults": []})
            if method == "POST":
                specs = data.get("faults", [data]) if isinstance(data, dict) else data
                try:
                    for spec in specs if isinstance(specs, list) else [specs]:
                        self.server.faults.add(spec)
                except (ValueError, TypeError, re.error) as e:
                    return jreply(400, {"error": "bad fault: %s" % e})
                return jreply(200, {"faults": self.server.faults.pending()})
        if bare == "/_control/requests":
            if method == "GET":
                return jreply(200, {"requests": self.server.requests.all()})
            if method == "DELETE":
                self.server.requests.clear()
                return jreply(200, {"requests": []})
        if bare == "/_control/reset" and method == "POST":
            self.server.faults.clear()
            self.server.requests.clear()
            self.server.reset_state()
            return jreply(200, {"reset": True})
        return self.control_more(method, bare, data)

    def control_more(self, method, bare, data):
        return jreply(404, {"error": "no control endpoint %s %s" % (method, bare)})


def jreply(status, obj, headers=None):
    return status, headers or {}, json.dumps(obj).encode()


class Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer on 127.0.0.1 with TLS done in each connection's own thread
    (a client that stalls in the handshake does not stall accept())."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler, cert, key):
        super().__init__(("127.0.0.1", 0), handler)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self.tls.load_cert_chain(cert, key)
        self.faults = Faults()
        self.requests = RequestLog()

    def get_request(self):
        sock, addr = self.socket.accept()
        # Headers and body go out in separate writes: without this, Nagle and the
        # peer's delayed ACK add 40 ms to every reply.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        # Clients that hang up, fail the handshake or get a reset are normal here.
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ValueError)):
            return
        super().handle_error(request, client_address)

    def reset_state(self):
        pass


def write_port_file(path, port):
    """Write the port so a reader never sees a half-written file."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def serve(server, port_file, name):
    """Run until SIGTERM or SIGINT, then close the listening socket and return."""

    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this very thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_port_file(port_file, server.server_address[1])
    print("%s: listening on https://127.0.0.1:%d" % (name, server.server_address[1]), file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
