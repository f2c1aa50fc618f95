#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/http/https_fixture.py: a local HTTPS server for the HTTP client tests.

Usage: https_fixture.py DIR

Makes a throwaway CA and a server certificate for 127.0.0.1 and localhost
with the openssl CLI (plus a second, unrelated CA for the wrong-CA case),
writes the server key's pin, then serves HTTPS on 127.0.0.1 on a free port.
DIR/port is written last, atomically: when it exists everything is ready.
SIGTERM shuts it down. Python standard library only.

Files in DIR: ca.pem, other-ca.pem, pin (sha256//... of the server key),
other-pin (of another key), port.

Routes (any method):
  /echo[?status=N]     JSON: method, path, headers, body, conn (this TCP
                       connection's number) and conns (connections so far)
  /retry?after=V[&status=N]  status N (409) with "Retry-After: V"
  /slow?ms=N           answers after N ms
  /reset               reads the whole request, then resets the connection
  /big?n=N             N bytes with a Content-Length
  /stream?n=N          N bytes without one (closes the connection at the end)
  /stats               {"conns": N}
  /apply-once?key=K    counts the request under K (applies it, as a write
                       would) and, the first time only, closes the
                       connection without an answer: a reply lost after the
                       write landed. Later ones: 200 {"count": N}
  /count?key=K         {"count": N}: requests /apply-once counted under K
"""
import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def run(*args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def make_ca(d, name, cn):
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", os.path.join(d, name + ".key"), "-out", os.path.join(d, name + ".pem"),
        "-days", "30", "-subj", "/CN=" + cn,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def pin_of(d, key):
    der = subprocess.run(["openssl", "pkey", "-in", os.path.join(d, key), "-pubout",
                          "-outform", "DER"], check=True, capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_certs(d):
    make_ca(d, "ca", "porter test root CA")
    make_ca(d, "other-ca", "an unrelated CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes",
        "-keyout", os.path.join(d, "server.key"), "-out", os.path.join(d, "server.csr"),
        "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", os.path.join(d, "server.csr"),
        "-CA", os.path.join(d, "ca.pem"), "-CAkey", os.path.join(d, "ca.key"),
        "-CAcreateserial", "-out", os.path.join(d, "server.pem"), "-days", "30",
        "-extfile", os.path.join(d, "ext.cnf"))
    with open(os.path.join(d, "pin"), "w") as f:
        f.write(pin_of(d, "server.key"))
    with open(os.path.join(d, "other-pin"), "w") as f:
        f.write(pin_of(d, "other-ca.key"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, headers=(), length=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        srv = self.server
        if url.path == "/echo":
            out = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace"),
                   "conn": self.conn_id, "conns": srv.conns}
            self.reply(int(q.get("status", 200)), json.dumps(out).encode(),
                       [("Content-Type", "application/json")])
        elif url.path == "/retry":
            self.reply(int(q.get("status", 409)), b"{}", [("Retry-After", q.get("after", ""))])
        elif url.path == "/slow":
            time.sleep(int(q.get("ms", 1000)) / 1000.0)
            self.reply(200, b"slow")
        elif url.path == "/reset":
            # RST instead of FIN: SO_LINGER with a zero timeout.
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            raw.close()
        elif url.path == "/big":
            self.reply(200, b"x" * int(q.get("n", 0)))
        elif url.path == "/stream":
            self.reply(200, b"y" * int(q.get("n", 0)), length=False)
        elif url.path == "/apply-once":
            with srv.lock:
                n = srv.counts[q.get("key", "")] = srv.counts.get(q.get("key", ""), 0) + 1
            if n == 1:
                self.close_connection = True  # FIN, no status line
            else:
                self.reply(200, json.dumps({"count": n}).encode())
        elif url.path == "/count":
            with srv.lock:
                n = srv.counts.get(q.get("key", ""), 0)
            self.reply(200, json.dumps({"count": n}).encode())
        elif url.path == "/stats":
            self.reply(200, json.dumps({"conns": srv.conns}).encode())
        else:
            self.reply(404, b"not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ctx):
        super().__init__(("127.0.0.1", 0), Handler)
        self.ctx = ctx
        self.conns = 0
        self.counts = {}
        self.lock = threading.Lock()

    def finish_request(self, request, client_address):
        # Count every TCP connection; the handshake runs here, in the
        # connection's own thread, so a stalled client never holds accept().
        with self.lock:
            self.conns += 1
            conn_id = self.conns
        # Headers and body go out in separate writes: without TCP_NODELAY,
        # Nagle and the client's delayed ACK add 40 ms to every reply.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        handler = Handler.__new__(Handler)
        handler.conn_id = conn_id
        try:
            handler.__init__(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass

    def handle_error(self, request, client_address):
        pass


def main():
    d = sys.argv[1]
    make_certs(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    srv = Server(ctx)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    tmp = os.path.join(d, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(d, "port"))
    srv.serve_forever(poll_interval=0.05)
    srv.server_close()


if __name__ == "__main__":
    main()
