#!/usr/bin/python3
"""An HTTPS endpoint that checks porter's webhook deliveries with README.md's own snippet.

    MOCK_DIR=... MOCK_WEBHOOK_SECRET=whsec_... readme_verify.py README.md PORT_FILE RESULT_FILE

Takes the Python block after the "<!-- webhook-verify:" marker in README.md, runs it to
get its verify(secret, headers, body), and serves POSTs on 127.0.0.1 (port 0, written
to PORT_FILE) with the fixture's server certificate. Each POST appends one line to
RESULT_FILE: "verified <webhook-id>" when the snippet accepts it and rejects the same
message with one byte of the body changed and under another secret, else "refused",
and is answered 200 or 401 accordingly. Runs until SIGTERM. Used by
tests/integration/test_webhook.c, so the README's snippet is proven against porter.
"""

import http.server
import os
import re
import signal
import ssl
import sys


def snippet(readme):
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"<!-- webhook-verify:[^\n]*-->\n```python\n(.*?)\n```", text, re.S)
    if not m:
        sys.exit("readme_verify: no ```python block after the webhook-verify marker in %s" % readme)
    namespace = {}
    exec(compile(m.group(1), readme + " (webhook-verify)", "exec"), namespace)
    return namespace["verify"]


def main():
    readme, port_file, result_file = sys.argv[1:4]
    verify = snippet(readme)
    secret = os.environ["MOCK_WEBHOOK_SECRET"]
    other = "whsec_" + "QUJD" * 8  # 24 bytes, not the secret

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            tampered = body[:-1] + (b"}" if body[-1:] != b"}" else b" ")
            ok = (verify(secret, self.headers, body) and not verify(secret, self.headers, tampered)
                  and not verify(other, self.headers, body))
            with open(result_file, "a") as f:
                f.write("verified %s\n" % self.headers["webhook-id"] if ok else "refused\n")
            reply = b"{}"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    d = os.environ["MOCK_DIR"]
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
