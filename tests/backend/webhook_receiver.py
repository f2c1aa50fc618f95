#!/usr/bin/python3
"""An HTTPS webhook receiver that verifies Standard Webhooks signatures, for porter's tests.

Verification follows https://www.standardwebhooks.com, written from the spec rather than
taken from a library so the test needs nothing outside the stdlib:
  signed = "{webhook-id}.{webhook-timestamp}.{body}"
  webhook-signature = space-separated "v1,<base64 HMAC-SHA256(key, signed)>" entries
  key = base64-decoded secret after "whsec_"; timestamp within 5 minutes of now.
Verified deliveries are recorded once per webhook-id (duplicates are counted and still
answered 2xx, as a receiver should); bad signatures get 401. Faults and the request log
come from mockserver.py.

    MOCK_WEBHOOK_SECRET=whsec_... webhook_receiver.py --cert server.pem --key server.key --port-file PORT
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mockserver  # noqa: E402
from mockserver import jreply  # noqa: E402

TOLERANCE = 5 * 60  # seconds either side of now, as the spec recommends


def secret_key(secret):
    """The HMAC key of a "whsec_<base64>" secret; ValueError names what is wrong."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        return base64.b64decode(secret[6:], validate=True)
    except ValueError:
        raise ValueError("the part after whsec_ is not base64") from None


def sign(key, msg_id, timestamp, body):
    """The v1 signature of one message (also what a test uses to forge or replay)."""
    signed = b"%s.%s.%s" % (msg_id.encode(), str(timestamp).encode(), body)
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(keys, headers, body, now, tolerance=TOLERANCE):
    """None if the message is authentic, else the reason it is not."""
    msg_id, ts, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", ts), ("webhook-signature", sigs)):
        if not value:
            return "missing %s header" % name
    try:
        ts_int = int(ts)
    except ValueError:
        return "webhook-timestamp is not an integer"
    if abs(now - ts_int) > tolerance:
        return "webhook-timestamp is more than %d s away from now" % tolerance
    for key in keys:
        expected = sign(key, msg_id, ts, body)
        for candidate in sigs.split():
            if candidate.startswith("v1,") and hmac.compare_digest(candidate, expected):
                return None
    return "no valid v1 signature"


class ReceiverState:
    def __init__(self, secrets_):
        self.lock = threading.Lock()
        self.initial = list(secrets_)
        self.reset()

    def reset(self):
        with self.lock:
            self.secrets = list(self.initial)
            self.keys = [secret_key(s) for s in self.secrets]
            self.tolerance = TOLERANCE
            self.deliveries = {}  # webhook-id -> record, in arrival order
            self.rejected = 0


class ReceiverHandler(mockserver.Handler):
    server_version = "porter-mock-webhook"

    def log_extra(self):
        return {"webhook_id": self.headers.get("webhook-id")}

    def route(self, method, path, body):
        if method != "POST":
            return jreply(405, {"error": "webhooks are POSTed"})
        st = self.server.state
        with st.lock:
            keys, tolerance = list(st.keys), st.tolerance
        why = verify(keys, self.headers, body, time.time(), tolerance)
        if why:
            with st.lock:
                st.rejected += 1
            return jreply(401, {"error": why})
        try:
            payload = json.loads(body)
        except ValueError:
            return jreply(400, {"error": "the body is not JSON"})
        msg_id = self.headers["webhook-id"]
        with st.lock:
            seen = st.deliveries.get(msg_id)
            if seen:
                seen["count"] += 1
                return jreply(200, {"duplicate": True, "count": seen["count"]})
            st.deliveries[msg_id] = {
                "id": msg_id,
                "timestamp": int(self.headers["webhook-timestamp"]),
                "path": path,
                "payload": payload,
                "received": time.time(),
                "count": 1,
            }
        return jreply(200, {"duplicate": False, "count": 1})

    def control_more(self, method, bare, data):
        st = self.server.state
        with st.lock:
            if bare == "/_control/deliveries":
                if method == "GET":
                    return jreply(200, {"deliveries": list(st.deliveries.values()), "rejected": st.rejected})
                if method == "DELETE":
                    st.deliveries, st.rejected = {}, 0
                    return jreply(200, {"deliveries": []})
            if bare == "/_control/config":
                if method == "POST":
                    try:
                        if "secrets" in data:  # rotation: every listed secret verifies
                            keys = [secret_key(s) for s in data["secrets"]]
                            st.secrets, st.keys = list(data["secrets"]), keys
                        if "tolerance" in data:
                            st.tolerance = int(data["tolerance"])
                    except (ValueError, TypeError) as e:
                        return jreply(400, {"error": "bad config: %s" % e})
                if method in ("GET", "POST"):
                    return jreply(200, {"tolerance": st.tolerance, "secrets": len(st.keys)})
        return super().control_more(method, bare, data)


class ReceiverServer(mockserver.Server):
    def __init__(self, opts):
        super().__init__(ReceiverHandler, opts.cert, opts.key)
        self.state = ReceiverState(opts.secret)

    def reset_state(self):
        self.state.reset()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--secret", action="append", help="whsec_<base64>; repeat for rotation")
    opts = ap.parse_args()
    # Secrets come from the environment by preference, so they are not in `ps` output.
    opts.secret = opts.secret or os.environ.get("MOCK_WEBHOOK_SECRET", "").split()
    if not opts.secret:
        ap.error("no secret: set MOCK_WEBHOOK_SECRET (space-separated) or give --secret")
    try:
        for s in opts.secret:
            secret_key(s)
    except ValueError as e:
        ap.error("--secret: %s" % e)
    mockserver.serve(ReceiverServer(opts), opts.port_file, "webhook_receiver")


if __name__ == "__main__":
    main()
