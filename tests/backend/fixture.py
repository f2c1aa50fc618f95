#!/usr/bin/python3
"""Run a command with porter's HTTPS test servers up, then take them down, always.

    fixture.py [--nexudus] [--webhook] [--nexudus-arg=ARG ...] [--] COMMAND [ARG...]

Makes a throwaway CA and a server certificate (SAN 127.0.0.1, localhost and
*.spaces.nexudus.com) in a fresh temp dir, starts the asked servers on port 0, waits
for their port files, and runs COMMAND with (for the servers asked):
  MOCK_CA                  the CA certificate (PEM) to verify the servers with
  MOCK_PUBKEY_SHA256       sha256//<base64> of the server key, for public-key pinning
  MOCK_NEXUDUS_URL         https://127.0.0.1:PORT (the API is under /api, control under /_control)
  MOCK_NEXUDUS_USER, MOCK_NEXUDUS_PASSWORD   the account the mock accepts
  MOCK_WEBHOOK_URL         https://127.0.0.1:PORT/hook (any path is accepted)
  MOCK_WEBHOOK_CONTROL     https://127.0.0.1:PORT/_control
  MOCK_WEBHOOK_SECRET      whsec_<base64>, fresh each run
  MOCK_DIR                 the temp dir (certs, keys, server logs)
COMMAND's exit status is the fixture's (77 = skip passes through to meson). The servers
are stopped by PID (SIGTERM, then SIGKILL) and the temp dir removed, whatever happens;
they also die with the fixture if it is killed outright (PR_SET_PDEATHSIG).
"""

import base64
import ctypes
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PR_SET_PDEATHSIG = 1


class Stop(Exception):
    pass


def openssl(*args, cwd):
    subprocess.run(("openssl",) + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certs(d):
    """CA and server key pair (EC P-256: quick to make, and libcurl/OpenSSL take it)."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=porter test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.spaces.nexudus.com\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    der = subprocess.run(["openssl", "x509", "-in", "server.pem", "-pubkey", "-noout"], cwd=d, check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=der, cwd=d, check=True,
                         capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(d, name, script, args, env):
    port_file = os.path.join(d, name + ".port")
    log = open(os.path.join(d, name + ".log"), "w")
    cmd = [PYTHON, os.path.join(HERE, script), "--cert", os.path.join(d, "server.pem"),
           "--key", os.path.join(d, "server.key"), "--port-file", port_file] + args
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent)
    log.close()
    return proc, port_file


def wait_port(proc, port_file, name, d):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                return int(f.read())
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    with open(os.path.join(d, name + ".log")) as f:
        sys.stderr.write(f.read())
    raise RuntimeError("fixture: %s did not start (exit %s)" % (name, proc.poll()))


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv):
    want, nexudus_args = set(), []
    while argv and argv[0].startswith("--"):
        arg = argv.pop(0)
        if arg == "--":
            break
        if arg == "--nexudus":
            want.add("nexudus")
        elif arg == "--webhook":
            want.add("webhook")
        elif arg.startswith("--nexudus-arg="):
            nexudus_args.append(arg.split("=", 1)[1])
        else:
            sys.exit("fixture: unknown option %s (see the header of %s)" % (arg, __file__))
    if not argv:
        sys.exit("fixture: no command to run")
    want = want or {"nexudus", "webhook"}

    def on_signal(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    d = tempfile.mkdtemp(prefix="porter-backend-")
    procs = []
    try:
        env = dict(os.environ, MOCK_DIR=d, MOCK_CA=os.path.join(d, "ca.pem"))
        env["MOCK_PUBKEY_SHA256"] = make_certs(d)
        started = []
        if "nexudus" in want:
            user, password = "porter@example.com", "pw-" + secrets.token_hex(8)
            env.update(MOCK_NEXUDUS_USER=user, MOCK_NEXUDUS_PASSWORD=password)
            proc, pf = start(d, "nexudus", "mock_nexudus.py", ["--user", user] + nexudus_args, env)
            procs.append(proc)
            started.append(("nexudus", proc, pf))
        if "webhook" in want:
            secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
            env["MOCK_WEBHOOK_SECRET"] = secret
            proc, pf = start(d, "webhook", "webhook_receiver.py", [], env)
            procs.append(proc)
            started.append(("webhook", proc, pf))
        for name, proc, pf in started:
            port = wait_port(proc, pf, name, d)
            if name == "nexudus":
                env["MOCK_NEXUDUS_URL"] = "https://127.0.0.1:%d" % port
            else:
                env["MOCK_WEBHOOK_URL"] = "https://127.0.0.1:%d/hook" % port
                env["MOCK_WEBHOOK_CONTROL"] = "https://127.0.0.1:%d/_control" % port
        child = subprocess.Popen(argv, env=env)
        try:
            return child.wait()
        except Stop:
            child.terminate()
            child.wait()
            return 1
    except Stop:
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in procs:
            stop(proc)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
