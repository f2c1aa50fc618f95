#!/usr/bin/python3
"""The webhook receiver accepts exactly the Standard Webhooks signatures it should,
records each delivery once (counting duplicates), and injects faults. Runs under
fixture.py (meson does that; run by hand, it wraps itself)."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testlib  # noqa: E402


def spec_signature(secret, msg_id, timestamp, body):
    """The signature as the spec defines it, written out here independently of the
    receiver so the two check each other."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, ("%s.%s." % (msg_id, timestamp)).encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class WebhookCase(unittest.TestCase):
    def setUp(self):
        self.url = os.environ["MOCK_WEBHOOK_URL"]
        self.secret = os.environ["MOCK_WEBHOOK_SECRET"]
        self.hook = testlib.Client(self.url)
        self.ctl = testlib.Client(os.environ["MOCK_WEBHOOK_CONTROL"])
        self.assertEqual(self.ctl.post("/reset").status, 200)

    def tearDown(self):
        self.hook.close()
        self.ctl.close()

    def control(self, what, body=None, method="POST"):
        reply = self.ctl.request(method, "/" + what, body)
        self.assertEqual(reply.status, 200, reply)
        return reply.json()

    def deliver(self, payload=None, msg_id=None, timestamp=None, secret=None, signature=None, body=None, drop=()):
        body = body if body is not None else json.dumps(payload or {"type": "presence.checked_in"}).encode()
        msg_id = msg_id or "msg_" + secrets.token_hex(8)
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or spec_signature(secret or self.secret, msg_id, timestamp, body)
        headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": sig,
                   "Content-Type": "application/json"}
        for h in drop:
            del headers[h]
        return self.hook.request("POST", "", body, headers=headers)

    def deliveries(self):
        return self.control("deliveries", method="GET")


class TestSignatures(WebhookCase):
    def test_a_valid_signature_is_accepted_and_recorded(self):
        reply = self.deliver({"type": "presence.checked_in", "event_key": "k1"}, msg_id="msg_1")
        self.assertEqual(reply.status, 200, reply)
        got = self.deliveries()["deliveries"]
        self.assertEqual([(d["id"], d["payload"]["event_key"], d["count"]) for d in got], [("msg_1", "k1", 1)])

    def test_one_valid_among_several_signatures_is_enough(self):
        body = b'{"a":1}'
        good = spec_signature(self.secret, "msg_2", int(time.time()), body)
        bad = "v1," + base64.b64encode(b"x" * 32).decode()
        self.assertEqual(self.deliver(msg_id="msg_2", body=body, signature="v1a,xyz %s %s" % (bad, good)).status, 200)

    def test_wrong_secret_is_401(self):
        other = "whsec_" + base64.b64encode(b"k" * 32).decode()
        reply = self.deliver(secret=other)
        self.assertEqual(reply.status, 401)
        self.assertIn("signature", reply.json()["error"])
        self.assertEqual(self.deliveries(), {"deliveries": [], "rejected": 1})

    def test_tampered_body_is_401(self):
        body = b'{"event_key":"k1"}'
        sig = spec_signature(self.secret, "msg_3", int(time.time()), body)
        self.assertEqual(self.deliver(msg_id="msg_3", body=b'{"event_key":"k2"}', signature=sig).status, 401)

    def test_timestamps_outside_5_minutes_are_401(self):
        # 30 s either side of the 300 s tolerance: a slow machine must not
        # carry a request across the edge while it is being answered
        now = int(time.time())
        self.assertEqual(self.deliver(timestamp=now - 330).status, 401)
        self.assertEqual(self.deliver(timestamp=now + 330).status, 401)
        self.assertEqual(self.deliver(timestamp=now - 270).status, 200)

    def test_missing_headers_are_401_naming_the_header(self):
        for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            reply = self.deliver(drop=[header])
            self.assertEqual(reply.status, 401)
            self.assertIn(header, reply.json()["error"])

    def test_rotated_secrets_both_verify(self):
        new = "whsec_" + base64.b64encode(b"n" * 32).decode()
        self.control("config", {"secrets": [new, self.secret]})
        self.assertEqual(self.deliver(secret=new).status, 200)
        self.assertEqual(self.deliver().status, 200)
        reply = self.ctl.post("/config", {"secrets": ["nope"]})
        self.assertEqual(reply.status, 400)
        self.assertIn("whsec_", reply.json()["error"])

    def test_duplicates_are_acknowledged_and_counted(self):
        body = b'{"event_key":"k9"}'
        for _ in range(3):
            self.assertEqual(self.deliver(msg_id="msg_dup", body=body).status, 200)
        got = self.deliveries()["deliveries"]
        self.assertEqual([(d["id"], d["count"]) for d in got], [("msg_dup", 3)])


class TestFaults(WebhookCase):
    def test_500_then_the_retry_is_recorded(self):
        self.control("faults", {"kind": "500", "count": 1})
        self.assertEqual(self.deliver(msg_id="msg_r").status, 500)
        self.assertEqual(self.deliveries()["deliveries"], [])
        self.assertEqual(self.deliver(msg_id="msg_r").status, 200)
        self.assertEqual(len(self.deliveries()["deliveries"]), 1)

    def test_429_with_retry_after(self):
        self.control("faults", {"kind": "status", "status": 429, "retry_after": 3})
        reply = self.deliver()
        self.assertEqual((reply.status, reply.headers["Retry-After"]), (429, "3"))

    def test_reply_lost_after_recording_then_the_retry_is_a_duplicate(self):
        self.control("faults", {"kind": "lost_reply"})
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError)):
            self.deliver(msg_id="msg_lost", body=b"{}")
        self.assertEqual(self.deliver(msg_id="msg_lost", body=b"{}").json(), {"duplicate": True, "count": 2})

    def test_reset_records_nothing(self):
        self.control("faults", {"kind": "reset"})
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError)):
            self.deliver()
        self.assertEqual(self.deliveries()["deliveries"], [])

    def test_slow_reply(self):
        self.control("faults", {"kind": "slow", "delay": 0.6})
        self.hook.connect(timeout=0.2)
        with self.assertRaises(TimeoutError):
            self.deliver()
        self.assertTrue(testlib.wait_for(lambda: self.deliveries()["deliveries"]))

    def test_request_log_holds_no_signature_or_secret(self):
        self.deliver(msg_id="msg_log")
        log = self.control("requests", method="GET")["requests"]
        self.assertEqual([(e["method"], e["status"], e["webhook_id"]) for e in log], [("POST", 200, "msg_log")])
        text = json.dumps(log)
        self.assertNotIn("v1,", text)
        self.assertNotIn(self.secret[6:], text)


if __name__ == "__main__":
    testlib.ensure_fixture("MOCK_WEBHOOK_URL", ["--webhook"])
    unittest.main(verbosity=2)
