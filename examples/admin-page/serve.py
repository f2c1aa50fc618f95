#!/usr/bin/python3
"""examples/admin-page/serve.py: serve the reference admin page on loopback.

The page needs three things besides its own folder: porter's plugin.json
(the schema), an example config to start from, and the JSON Schema form
library Debian ships (libjs-json-editor). A host serves them the same way
from its own admin server; this maps them for a look in a browser and for
tests/admin_page:

    python3 examples/admin-page/serve.py [--port N] [--port-file FILE]

  /                      index.html, admin.js, admin.css (this folder)
  /plugin.json           the repository's plugin.json
  /example-config.json   examples/config-local.json
  /json-editor/...       /usr/share/javascript/json-editor/...

--port 0 (the default) takes a free port; --port-file writes the port
number to FILE once the server listens, so a test never races it.
"""
import argparse
import functools
import http.server
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIBRARY = "/usr/share/javascript/json-editor"

ROUTES = {
    "/plugin.json": os.path.join(REPO, "plugin.json"),
    "/example-config.json": os.path.join(REPO, "examples", "config-local.json"),
}


class Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path in ROUTES:
            return ROUTES[path]
        if path.startswith("/json-editor/"):
            # The library folder only: no ".." walks out of it.
            rel = os.path.normpath(path[len("/json-editor/"):]).lstrip("/")
            if rel.startswith(".."):
                return os.path.join(HERE, "missing")
            return os.path.join(LIBRARY, rel)
        return super().translate_path(path)

    def end_headers(self):
        # Always the files as they are now: an edited plugin.json shows at once.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, fmt, *args):
        if os.environ.get("ADMIN_PAGE_QUIET") != "1":
            super().log_message(fmt, *args)


def main():
    ap = argparse.ArgumentParser(description="Serve porter's reference admin page on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    ap.add_argument("--port-file", help="write the port number here once listening")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(LIBRARY, "jsoneditor.js")):
        sys.exit("serve.py: %s/jsoneditor.js is missing: apt-get install libjs-json-editor" % LIBRARY)
    handler = functools.partial(Handler, directory=HERE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("admin page: http://127.0.0.1:%d/" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
