"""Helpers shared by the backend fixture tests: an HTTPS client that trusts the
fixture's CA and keeps its connection alive, and self-wrapping in fixture.py when a
test file is run by hand without the servers up."""

import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))


def ensure_fixture(env_var, servers):
    """Run this very script again under fixture.py unless its servers are already up."""
    if os.environ.get(env_var):
        return
    cmd = [sys.executable, os.path.join(HERE, "fixture.py")] + servers + ["--", sys.executable] + sys.argv
    sys.exit(subprocess.call(cmd))


def wait_for(check, timeout=5.0):
    """check() until it is true or timeout seconds pass; its last value. For effects
    that follow a reply the client gave up on: how soon is up to the server's thread."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:200])


class Client:
    """One keep-alive HTTPS connection to a base URL, verified against MOCK_CA."""

    def __init__(self, base, ca=None, timeout=5.0):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca or os.environ["MOCK_CA"])
        self.timeout = timeout
        self.conn = None

    def connect(self, timeout=None):
        self.close()
        self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout or self.timeout)
        return self.conn

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, timeout=None, stream=False):
        """Send one request; a dict/list body goes as JSON. Connection errors propagate
        (the fault tests expect them) after the connection is dropped."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        if self.conn is None or timeout is not None:
            self.connect(timeout)
        try:
            self.conn.request(method, self.prefix + path, body=body, headers=headers)
            resp = self.conn.getresponse()
            if stream:
                return resp
            data = resp.read()
        except BaseException:
            self.close()
            raise
        if timeout is not None or resp.will_close:
            self.close()
        return Reply(resp.status, resp.headers, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)
