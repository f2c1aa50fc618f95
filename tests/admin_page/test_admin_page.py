#!/usr/bin/python3
"""tests/admin_page/test_admin_page.py: the reference admin page, as a user
sees it in a browser.

Serves examples/admin-page (serve.py: the page, plugin.json, the example
config and Debian's json-editor) on loopback, opens it in headless chromium
in its test mode (?test=1: the page adds a reader row and saves) and checks
the DOM chromium dumps:
  - every property of plugin.json's config_schema, nested ones and each
    reader row's included, is rendered with the schema's title and
    description (a property without a title fails), showing the example
    config's value or else the schema's default, and each description with
    a default says it ("Default: ...");
  - the new reader row shows the defaults and saving gives no errors;
  - a standard validator (python3-jsonschema, draft-07) accepts the schema
    and the saved JSON;
  - the saved JSON, its file paths pointed at a real site made by
    examples/demo-setup.sh, passes `porter-admin check --config` (exit 0).

  test_admin_page.py SOURCE_DIR PORTER_ADMIN

Exit 77 (skipped) when chromium is not installed (deps/ensure.sh browser).
Every child runs in its own process group, killed when done or on timeout.
"""
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SERVER_START_S = 15
BROWSER_S = 90
USE_DEFAULT = "Use the default"  # admin.js's name for a null choice

failures = []
MISSING = object()  # a property neither the config nor a default gives


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def kill_group(proc):
    """Kill proc's whole group even when proc itself has exited: chromium's
    helper processes outlive a leader that timed out or crashed."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def start_server(src, tmp):
    port_file = os.path.join(tmp, "port")
    env = dict(os.environ, ADMIN_PAGE_QUIET="1")
    proc = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(src, "examples", "admin-page", "serve.py"),
         "--port", "0", "--port-file", port_file],
        stdout=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + SERVER_START_S
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            kill_group(proc)
            sys.exit("serve.py did not start (exit %s)" % proc.returncode)
        time.sleep(0.05)
    return proc, int(open(port_file).read())


def dump_dom(chromium, url, tmp):
    out = os.path.join(tmp, "dom.html")
    with open(out, "wb") as f, open(os.path.join(tmp, "chromium.log"), "wb") as log:
        proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
             "--user-data-dir=" + os.path.join(tmp, "profile"),
             "--virtual-time-budget=10000", "--dump-dom", url],
            stdout=f, stderr=log, start_new_session=True)
        try:
            proc.wait(timeout=BROWSER_S)
        except subprocess.TimeoutExpired:
            fail("chromium did not finish within %d s" % BROWSER_S)
        finally:
            kill_group(proc)  # also its helper processes
    return open(out, encoding="utf-8").read()


def read_report(dom):
    m = re.search(r'<pre id="report"[^>]*>(.*?)</pre>', dom, re.S)
    if not m or not m.group(1).strip():
        sys.exit("the page wrote no report (did admin.js run?)")
    return json.loads(html.unescape(m.group(1)))


def shown_text(value):
    """How the form shows a value: yes/no lists say true/false."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return USE_DEFAULT
    return str(value)


def walk(schema, value, path, fields, row=False):
    """Check the field at path, then its children; value is what the form
    should show there (the config's, else the default; absent: None)."""
    here = [f for f in fields if f["path"] == path]
    if not here:
        fail("%s is not rendered" % path)
        return
    title = schema.get("title")
    desc = schema.get("description")
    if not title:
        fail("%s has no title in plugin.json" % path)
    elif not any(f["title"] == title or (row and f["title"] == "%s %d" % (title, int(path.rsplit(".", 1)[1]) + 1))
                 for f in here):  # a row is titled "Reader 2"
        fail("%s: title %r not shown (shown: %r)" % (path, title, [f["title"] for f in here]))
    if not desc:
        fail("%s has no description in plugin.json" % path)
    elif not any(f["description"] == desc for f in here):
        fail("%s: description not shown (shown: %r)" % (path, [f["description"] for f in here]))
    # A field the config sets shows the config's value, so the default must
    # be in the words the admin reads.
    if desc and "default" in schema and schema.get("type") not in ("object", "array") \
            and "Default:" not in desc:
        fail("%s: description does not say the default" % path)
    absent = value is MISSING
    if absent:
        value = None
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            v = value.get(name, sub.get("default", MISSING)) if isinstance(value, dict) else sub.get("default", MISSING)
            walk(sub, v, path + "." + name, fields)
        return
    if schema.get("type") == "array":
        rows = value or []
        for i, item in enumerate(rows):
            walk(schema["items"], item, "%s.%d" % (path, i), fields, row=True)
        return
    if absent:
        # nothing to show: an empty field; json-editor starts a number with
        # no default at 0 (the Nexudus location id until one is typed)
        wants = ("", "0") if schema.get("type") in ("integer", "number") else ("",)
    else:
        wants = (shown_text(value),)
    want = wants[0]
    if not any(f["shown"] in wants for f in here):
        fail("%s shows %r, not %r" % (path, [f["shown"] for f in here if f["shown"] is not None], want))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_admin_page.py SOURCE_DIR PORTER_ADMIN")
    src, admin = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    chromium = shutil.which("chromium")
    if not chromium:
        print("SKIP: chromium is not installed (deps/ensure.sh browser installs it)")
        return 77
    global jsonschema
    import jsonschema  # python3-jsonschema (browser: tag): a standard validator
    schema = json.load(open(os.path.join(src, "plugin.json")))["config_schema"]
    example = json.load(open(os.path.join(src, "examples", "config-local.json")))

    tmp = tempfile.mkdtemp(prefix="porter-admin-page.")
    server = None
    try:
        server, port = start_server(src, tmp)
        dom = dump_dom(chromium, "http://127.0.0.1:%d/?test=1" % port, tmp)
        report = read_report(dom)
        if "load_error" in report:
            sys.exit("the page could not load: " + report["load_error"])

        # What the form should show: the example config plus the row it added.
        added = report["added_row"]
        expected = json.loads(json.dumps(example))
        if added != len(expected.get("readers", [])):
            fail("the new reader row is row %d, not the last" % added)
        row = {"id": "side-door"}
        for name, sub in schema["properties"]["readers"]["items"]["properties"].items():
            if name not in row:
                row[name] = sub.get("default", MISSING)
        expected.setdefault("readers", []).append(row)
        walk(schema, expected, "root", report["fields"])

        if report["errors"]:
            fail("saving the form gave errors: %s" % report["errors"])
        saved = report["saved"]
        print("saved reader row: %s" % json.dumps(saved["readers"][added]))
        # A standard draft-07 validator agrees with porter on the schema and
        # on what the form saved.
        jsonschema.Draft7Validator.check_schema(schema)
        for e in jsonschema.Draft7Validator(schema).iter_errors(saved):
            fail("a standard validator refuses the saved config at %s: %s"
                 % ("/".join(map(str, e.absolute_path)), e.message))

        # Point the saved config's files at a real site and let porter judge it.
        site_parent = os.path.join(tmp, "site")
        os.mkdir(site_parent)
        subprocess.run([os.path.join(src, "examples", "demo-setup.sh"), admin], cwd=site_parent,
                       check=True, stdout=subprocess.DEVNULL, timeout=60)
        site = os.path.join(site_parent, "demo")
        saved["local"] = {"directory": os.path.join(site, "directory.json"),
                          "database": os.path.join(site, "presence.db"),
                          "pin_key_file": os.path.join(site, "pin.key")}
        config = os.path.join(tmp, "saved-config.json")
        with open(config, "w") as f:
            json.dump(saved, f, indent=2)
        check = subprocess.run([admin, "check", "--config", config], capture_output=True,
                               text=True, timeout=60)
        if check.returncode != 0:
            fail("porter-admin check --config refuses the saved config (exit %d):\n%s%s"
                 % (check.returncode, check.stdout, check.stderr))
    finally:
        if server:
            kill_group(server)
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d problem(s) with the admin page" % len(failures), file=sys.stderr)
        return 1
    print("admin page: every field rendered with its title, description and value; saved config accepted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
