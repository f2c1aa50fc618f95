#!/usr/bin/python3
"""The mock Nexudus server behaves as REFERENCE.md says the real API does, and injects
every fault porter's tests will ask for. Runs under fixture.py (meson does that; run by
hand, it wraps itself)."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testlib  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class MockNexudusCase(unittest.TestCase):
    def setUp(self):
        self.api = testlib.Client(os.environ["MOCK_NEXUDUS_URL"])
        self.ctl = testlib.Client(os.environ["MOCK_NEXUDUS_URL"])
        self.assertEqual(self.ctl.post("/_control/reset").status, 200)
        self.control("config", {"rate_limits": {"enabled": False}})
        self.token = None

    def tearDown(self):
        self.api.close()
        self.ctl.close()

    def control(self, what, body=None, method="POST"):
        reply = self.ctl.request(method, "/_control/" + what, body)
        self.assertEqual(reply.status, 200, reply)
        return reply.json()

    def grant(self, client_id=None, **fields):
        form = {"grant_type": "password", "username": os.environ["MOCK_NEXUDUS_USER"],
                "password": os.environ["MOCK_NEXUDUS_PASSWORD"]}
        form.update(fields)
        headers = dict(FORM)
        if client_id:
            headers["client_id"] = client_id
        return self.api.post("/api/token", urllib.parse.urlencode(form), headers=headers)

    def login(self):
        reply = self.grant()
        self.assertEqual(reply.status, 200, reply)
        self.token = reply.json()["access_token"]
        return reply.json()

    def authed(self, method, path, body=None, **kw):
        if self.token is None:
            self.login()
        headers = {"Authorization": "Bearer " + self.token}
        return self.api.request(method, path, body, headers=headers, **kw)

    def seed_members(self, n, **extra):
        people = [dict({"FullName": "Member %02d" % i, "AccessPincode": "%04d" % (1000 + i)}, **extra)
                  for i in range(n)]
        return self.control("seed", {"coworkers": people})["coworkers"]

    def checkin(self, timeout=None, **fields):
        body = {"BusinessId": 1, "FromTime": "2026-11-26T08:00:00Z"}
        body.update(fields)
        return self.authed("POST", "/api/spaces/checkins", body, timeout=timeout)


class TestToken(MockNexudusCase):
    def test_password_grant_form_encoded_gives_a_bearer_token(self):
        reply = self.grant()
        self.assertEqual(reply.status, 200)
        body = reply.json()
        self.assertEqual(body["token_type"], "bearer")
        self.assertEqual(body["expires_in"], 604799)
        self.assertTrue(body["access_token"] and body["refresh_token"])

    def test_json_token_body_is_unsupported_grant_type(self):
        reply = self.api.post("/api/token", {"grant_type": "password", "username": os.environ["MOCK_NEXUDUS_USER"],
                                             "password": os.environ["MOCK_NEXUDUS_PASSWORD"]})
        self.assertEqual((reply.status, reply.json()), (400, {"error": "unsupported_grant_type"}))

    def test_bad_password_is_invalid_grant(self):
        reply = self.grant(password="wrong")
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json()["error"], "invalid_grant")

    def test_refresh_token_is_scoped_to_its_client_id_and_used_once(self):
        first = self.grant(client_id="door-1").json()
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
        other = self.api.post("/api/token", form, headers=dict(FORM, client_id="door-2"))
        self.assertEqual((other.status, other.json()["error"]), (400, "invalid_grant"))
        renewed = self.api.post("/api/token", form, headers=dict(FORM, client_id="door-1"))
        self.assertEqual(renewed.status, 200, renewed)
        self.assertNotEqual(renewed.json()["access_token"], first["access_token"])
        again = self.api.post("/api/token", form, headers=dict(FORM, client_id="door-1"))
        self.assertEqual(again.status, 400)

    def test_expires_in_is_configurable_and_an_expired_token_gets_401(self):
        self.control("config", {"expires_in": 0})
        body = self.login()
        self.assertEqual(body["expires_in"], 0)
        reply = self.authed("GET", "/api/spaces/coworkers")
        self.assertEqual(reply.status, 401)
        self.assertIn("denied", reply.json()["Message"])

    def test_missing_or_unknown_token_gets_401(self):
        self.assertEqual(self.api.get("/api/spaces/coworkers").status, 401)
        reply = self.api.get("/api/spaces/checkins", headers={"Authorization": "Bearer nonsense"})
        self.assertEqual(reply.status, 401)

    def test_expiring_tokens_at_the_backend_forces_a_refresh(self):
        body = self.login()
        self.control("tokens/expire")
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 401)
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
        self.assertEqual(self.api.post("/api/token", form, headers=FORM).status, 200)


class TestLists(MockNexudusCase):
    def test_coworkers_are_paged_from_page_1(self):
        self.seed_members(60)
        first = self.authed("GET", "/api/spaces/coworkers?page=1&size=25").json()
        self.assertEqual((first["TotalItems"], first["TotalPages"], first["HasNextPage"]), (60, 3, True))
        self.assertEqual((first["FirstItem"], first["LastItem"], len(first["Records"])), (1, 25, 25))
        self.assertFalse(first["HasPreviousPage"])
        last = self.authed("GET", "/api/spaces/coworkers?page=3&size=25").json()
        self.assertEqual((len(last["Records"]), last["HasNextPage"], last["HasPreviousPage"]), (10, False, True))
        default = self.authed("GET", "/api/spaces/coworkers").json()
        self.assertEqual(default["CurrentPageSize"], 25)
        seen = {r["Id"] for p in (1, 2, 3)
                for r in self.authed("GET", "/api/spaces/coworkers?page=%d&size=25" % p).json()["Records"]}
        self.assertEqual(len(seen), 60)

    def test_order_by_and_dir(self):
        self.seed_members(5)
        reply = self.authed("GET", "/api/spaces/coworkers?orderBy=FullName&dir=-1").json()
        names = [r["FullName"] for r in reply["Records"]]
        self.assertEqual(names, sorted(names, reverse=True))
        self.assertEqual(reply["CurrentOrderField"], "FullName")

    def test_members_carry_pincode_and_card_and_filter_by_entity_field(self):
        self.control("seed", {"coworkers": [{"FullName": "Ada", "AccessPincode": "4711", "AccessCardId": "C-1"},
                                            {"FullName": "Bob", "AccessPincode": "0815"}]})
        records = self.authed("GET", "/api/spaces/coworkers?Coworker_AccessPincode=4711").json()["Records"]
        self.assertEqual([(r["FullName"], r["AccessCardId"]) for r in records], [("Ada", "C-1")])
        self.assertIn("KeyFobNumber", records[0])
        # The PIN in the query never reaches the request log in clear.
        log = json.dumps(self.control("requests", method="GET"))
        self.assertNotIn("4711", log)
        self.assertIn("Coworker_AccessPincode=%2A%2A%2A", log)

    def test_incremental_sync_by_updated_on(self):
        ids = self.control("seed", {"coworkers": [
            {"FullName": "Old", "UpdatedOn": "2026-01-01T00:00:00Z"},
            {"FullName": "New", "UpdatedOn": "2026-06-01T00:00:00Z"}]})["coworkers"]
        reply = self.authed("GET", "/api/spaces/coworkers?from_Coworker_UpdatedOn=2026-03-01T00:00:00Z").json()
        self.assertEqual([r["FullName"] for r in reply["Records"]], ["New"])
        # A change at the backend stamps UpdatedOn, so the next incremental pull sees it.
        self.control("coworkers/%d" % ids[0], {"AccessPincode": "9999"})
        reply = self.authed("GET", "/api/spaces/coworkers?from_Coworker_UpdatedOn=2026-03-01T00:00:00Z").json()
        self.assertEqual(sorted(r["FullName"] for r in reply["Records"]), ["New", "Old"])

    def test_unknown_filter_or_order_is_400_naming_it(self):
        reply = self.authed("GET", "/api/spaces/coworkers?Coworker_Pincode=1")
        self.assertEqual(reply.status, 400)
        self.assertIn("Coworker_Pincode", reply.json()["Message"])
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers?orderBy=Nope").status, 400)
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers?page=0").status, 400)

    def test_visitors_carry_their_fields(self):
        host = self.seed_members(1)[0]
        self.control("seed", {"visitors": [{"FullName": "Vera Visitor", "Email": "v@example.com", "CoworkerId": host,
                                            "ExpectedArrival": "2026-11-26T10:00:00Z", "VisitorCode": "V-77"}]})
        reply = self.authed("GET", "/api/spaces/visitors?Visitor_VisitorCode=V-77").json()
        rec = reply["Records"][0]
        for field in ("FullName", "Email", "CoworkerId", "ExpectedArrival", "VisitorCode", "Arrived", "ArrivalDate",
                      "DepartureDate"):
            self.assertIn(field, rec)
        self.assertEqual((rec["CoworkerId"], rec["Arrived"]), (host, False))

    def test_removed_member_is_gone_from_the_list(self):
        ids = self.seed_members(2)
        self.control("coworkers/%d" % ids[0], method="DELETE")
        records = self.authed("GET", "/api/spaces/coworkers").json()["Records"]
        self.assertEqual([r["Id"] for r in records], [ids[1]])


class TestCheckins(MockNexudusCase):
    def test_post_returns_the_envelope_and_get_by_id_finds_it(self):
        member = self.seed_members(1)[0]
        reply = self.checkin(CoworkerId=member, Source=2)
        self.assertEqual(reply.status, 200, reply)
        env = reply.json()
        self.assertEqual(set(env), {"Status", "Message", "Value", "WasSuccessful", "Errors"})
        self.assertTrue(env["WasSuccessful"])
        rid = env["Value"]["Id"]
        rec = self.authed("GET", "/api/spaces/checkins/%d" % rid).json()
        self.assertEqual((rec["CoworkerId"], rec["FromTime"], rec["ToTime"], rec["Source"]),
                         (member, "2026-11-26T08:00:00Z", None, 2))
        self.assertEqual(self.authed("GET", "/api/spaces/checkins/999999").status, 404)

    def test_missing_business_and_from_time_is_400_with_errors(self):
        reply = self.authed("POST", "/api/spaces/checkins", {"CoworkerId": None})
        self.assertEqual(reply.status, 400)
        env = reply.json()
        self.assertFalse(env["WasSuccessful"])
        self.assertEqual(sorted(e["PropertyName"] for e in env["Errors"]), ["BusinessId", "FromTime"])
        for e in env["Errors"]:
            self.assertEqual(set(e), {"AttemptedValue", "Message", "PropertyName"})
        self.assertEqual(self.control("checkins", method="GET")["checkins"], [])

    def test_unknown_coworker_is_400(self):
        reply = self.checkin(CoworkerId=424242)
        self.assertEqual(reply.status, 400)
        err = reply.json()["Errors"][0]
        self.assertEqual((err["PropertyName"], err["AttemptedValue"]), ("CoworkerId", 424242))

    def test_not_json_is_400(self):
        reply = self.authed("POST", "/api/spaces/checkins", "BusinessId=1")
        self.assertEqual(reply.status, 400)
        self.assertFalse(reply.json()["WasSuccessful"])

    def test_put_replaces_the_whole_record(self):
        member = self.seed_members(1)[0]
        rec = self.checkin(CoworkerId=member).json()["Value"]
        partial = self.authed("PUT", "/api/spaces/checkins", {"Id": rec["Id"], "ToTime": "2026-11-26T17:00:00Z"})
        self.assertEqual(partial.status, 400)  # no PATCH: BusinessId and FromTime are gone
        rec["ToTime"] = "2026-11-26T17:00:00Z"
        whole = self.authed("PUT", "/api/spaces/checkins", rec)
        self.assertEqual(whole.status, 200, whole)
        stored = self.control("checkins", method="GET")["checkins"]
        self.assertEqual([(r["Id"], r["ToTime"]) for r in stored], [(rec["Id"], "2026-11-26T17:00:00Z")])
        self.assertEqual(self.authed("PUT", "/api/spaces/checkins", dict(rec, Id=5)).status, 404)

    def test_open_checkin_found_by_coworker_and_null_to_time(self):
        a, b = self.seed_members(2)
        self.checkin(CoworkerId=a, FromTime="2026-11-25T08:00:00Z", ToTime="2026-11-25T17:00:00Z")
        self.checkin(CoworkerId=a, FromTime="2026-11-26T08:00:00Z")
        self.checkin(CoworkerId=b, FromTime="2026-11-26T09:00:00Z")
        q = "/api/spaces/checkins?Checkin_Coworker=%d&Checkin_ToTime=null&orderBy=FromTime&dir=-1&size=1" % a
        reply = self.authed("GET", q).json()
        self.assertEqual(reply["TotalItems"], 1)
        self.assertEqual(reply["Records"][0]["FromTime"], "2026-11-26T08:00:00Z")
        q = "/api/spaces/checkins?from_Checkin_FromTime=2026-11-26T00:00:00Z&orderBy=FromTime"
        self.assertEqual(self.authed("GET", q).json()["TotalItems"], 2)

    def test_changes_made_elsewhere_are_found_by_updated_on(self):
        # How one door learns what another door (or reception) did since its last look.
        member = self.seed_members(1)[0]
        rec = self.checkin(CoworkerId=member).json()["Value"]
        mark = rec["UpdatedOn"]
        time.sleep(0.01)
        q = "/api/spaces/checkins?from_Checkin_UpdatedOn=%s&orderBy=UpdatedOn" % mark
        self.assertEqual([r["Id"] for r in self.authed("GET", q).json()["Records"]], [rec["Id"]])
        rec["ToTime"] = "2026-11-26T12:00:00Z"
        self.authed("PUT", "/api/spaces/checkins", rec)
        later = self.authed("GET", q).json()["Records"]
        self.assertEqual([(r["Id"], r["ToTime"]) for r in later], [(rec["Id"], "2026-11-26T12:00:00Z")])
        self.assertGreater(later[0]["UpdatedOn"], mark)

    def test_delete(self):
        rid = self.checkin().json()["Value"]["Id"]
        self.assertTrue(self.authed("DELETE", "/api/spaces/checkins/%d" % rid).json()["WasSuccessful"])
        self.assertEqual(self.authed("DELETE", "/api/spaces/checkins/%d" % rid).status, 404)


class TestVisitorWrites(MockNexudusCase):
    def test_put_marks_a_visitor_arrived_and_needs_the_whole_record(self):
        vid = self.control("seed", {"visitors": [{"FullName": "Vera", "VisitorCode": "V-1"}]})["visitors"][0]
        rec = self.authed("GET", "/api/spaces/visitors/%d" % vid).json()
        partial = self.authed("PUT", "/api/spaces/visitors", {"Id": vid, "Arrived": True})
        self.assertEqual(partial.status, 400)
        self.assertEqual(partial.json()["Errors"][0]["PropertyName"], "FullName")
        rec.update(Arrived=True, ArrivalDate="2026-11-26T09:58:00Z")
        reply = self.authed("PUT", "/api/spaces/visitors", rec)
        self.assertEqual(reply.status, 200, reply)
        stored = self.control("state", method="GET")["visitors"][0]
        self.assertEqual((stored["Arrived"], stored["ArrivalDate"], stored["VisitorCode"]),
                         (True, "2026-11-26T09:58:00Z", "V-1"))


class TestPublicCheckin(MockNexudusCase):
    def public(self, body, host=None, prefix=""):
        headers = {"Host": host} if host else {}
        return self.api.post(prefix + "/api/public/checkin", body, headers=headers)

    def test_toggle_by_pincode_with_the_space_in_the_host_name(self):
        member = self.seed_members(1)[0]
        first = self.public({"pincode": "1000", "toggle": True}, host="testspace.spaces.nexudus.com")
        self.assertEqual(first.status, 200, first)
        self.assertTrue(first.json()["Value"]["CheckedIn"])
        second = self.public({"pincode": "1000", "toggle": True}, prefix="/s/testspace")
        self.assertFalse(second.json()["Value"]["CheckedIn"])
        recs = self.control("checkins", method="GET")["checkins"]
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["CoworkerId"], member)
        self.assertIsNotNone(recs[0]["ToTime"])

    def test_unknown_pin_or_no_pass_is_a_failed_checkin(self):
        self.seed_members(1, HasValidPass=False)
        self.assertEqual(self.public({"pincode": "0000"}, prefix="/s/testspace").status, 400)
        reply = self.public({"pincode": "1000"}, prefix="/s/testspace")
        self.assertEqual(reply.status, 400)
        self.assertFalse(reply.json()["WasSuccessful"])
        failed = self.control("state", method="GET")["failedcheckins"]
        self.assertEqual([f["Description"] for f in failed], ["Unknown credentials.", "No valid pass."])
        self.assertEqual(self.public({"pincode": "1000"}, prefix="/s/nowhere").status, 404)

    def test_visitor_code_marks_the_visitor_arrived(self):
        self.control("seed", {"visitors": [{"FullName": "Vera", "VisitorCode": "V-1"}]})
        reply = self.public({"token": "V-1", "toggle": True}, prefix="/s/testspace")
        self.assertTrue(reply.json()["WasSuccessful"], reply)
        visitor = self.control("state", method="GET")["visitors"][0]
        self.assertTrue(visitor["Arrived"])
        self.assertIsNotNone(visitor["ArrivalDate"])

    def test_do_not_check_in_only_validates(self):
        self.seed_members(1)
        reply = self.public({"pincode": "1000", "doNotCheckIn": True}, prefix="/s/testspace")
        self.assertTrue(reply.json()["WasSuccessful"])
        self.assertEqual(self.control("checkins", method="GET")["checkins"], [])


class TestRateLimits(MockNexudusCase):
    def limits(self, **rules):
        base = {"interval": {"count": 1000}, "minute": {"count": 1000}, "hour": {"count": 1000},
                "write_minute": {"count": 1000}, "write_day": {"count": 1000}}
        base.update(rules)
        self.control("config", {"rate_limits": {"enabled": True, "published": True, "limits": base}})

    def assert_throttled(self, reply, rule, at_least=1):
        self.assertEqual(reply.status, 409, reply)
        self.assertEqual(reply.headers["X-Mock-Limit"], rule)
        self.assertGreaterEqual(int(reply.headers["Retry-After"]), at_least)

    def test_published_limits_are_the_default(self):
        self.control("config", {"rate_limits": {"enabled": True, "published": True}})
        limits = self.control("config", method="GET")["rate_limits"]["limits"]
        self.assertEqual((limits["interval"]["count"], limits["interval"]["window"]), (1, 0.1))
        self.assertEqual(limits["minute"]["count"], 120)
        self.assertEqual(limits["hour"]["count"], 5000)
        self.assertEqual(limits["write_minute"]["count"], 60)
        self.assertEqual((limits["write_day"]["count"], limits["write_day"]["window"]), (5000, 86400))

    def test_one_request_per_interval(self):
        # The published interval is 100 ms; 500 ms here so a loaded machine cannot
        # space the two requests out past it.
        self.login()
        self.limits(interval={"count": 1, "window": 0.5})
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)
        self.assert_throttled(self.authed("GET", "/api/spaces/coworkers"), "interval")
        time.sleep(0.55)
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)

    def test_requests_per_minute(self):
        self.login()
        self.limits(minute={"count": 3})
        for _ in range(3):
            self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)
        self.assert_throttled(self.authed("GET", "/api/spaces/coworkers"), "minute", at_least=55)

    def test_requests_per_hour(self):
        self.login()
        self.limits(hour={"count": 2})
        for _ in range(2):
            self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)
        self.assert_throttled(self.authed("GET", "/api/spaces/coworkers"), "hour", at_least=3500)

    def test_writes_per_minute_leave_reads_alone(self):
        self.login()
        self.limits(write_minute={"count": 2})
        for _ in range(2):
            self.assertEqual(self.checkin().status, 200)
        self.assert_throttled(self.checkin(), "write_minute", at_least=55)
        self.assertEqual(self.authed("GET", "/api/spaces/checkins").status, 200)

    def test_writes_per_day(self):
        self.login()
        self.limits(write_day={"count": 1})
        self.assertEqual(self.checkin().status, 200)
        self.assert_throttled(self.checkin(), "write_day", at_least=86000)

    def test_a_throttled_request_is_not_applied(self):
        self.login()
        self.limits(write_minute={"count": 1})
        self.checkin()
        self.checkin()
        self.assertEqual(len(self.control("checkins", method="GET")["checkins"]), 1)

    def test_time_scale_shrinks_the_windows(self):
        self.login()
        self.control("config", {"rate_limits": {"enabled": True, "time_scale": 120,
                                                "limits": {"minute": {"count": 2}, "interval": {"count": 100}}}})
        self.authed("GET", "/api/spaces/coworkers")
        self.authed("GET", "/api/spaces/coworkers")
        self.assert_throttled(self.authed("GET", "/api/spaces/coworkers"), "minute")
        time.sleep(0.55)  # 60 s / 120
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)

    def test_disabled_limits_never_throttle(self):
        self.login()
        statuses = {self.authed("GET", "/api/spaces/coworkers").status for _ in range(30)}
        self.assertEqual(statuses, {200})


class TestFaults(MockNexudusCase):
    def fault(self, **spec):
        self.control("faults", spec)

    def test_500_for_the_next_n_matching_requests(self):
        self.login()
        self.fault(kind="500", count=2, method="GET", path="^/api/spaces/checkins$")
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)  # does not match
        self.assertEqual(self.authed("GET", "/api/spaces/checkins").status, 500)
        self.assertEqual(self.authed("GET", "/api/spaces/checkins").status, 500)
        self.assertEqual(self.authed("GET", "/api/spaces/checkins").status, 200)
        self.assertEqual(self.control("faults", method="GET")["faults"], [])

    def test_409_with_retry_after(self):
        self.login()
        self.fault(kind="409", retry_after=7)
        reply = self.checkin()
        self.assertEqual((reply.status, reply.headers["Retry-After"]), (409, "7"))
        self.assertEqual(self.control("checkins", method="GET")["checkins"], [])

    def test_401_expires_the_token(self):
        self.login()
        self.fault(kind="401")
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 401)
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 401)  # still expired
        self.login()
        self.assertEqual(self.authed("GET", "/api/spaces/coworkers").status, 200)

    def test_slow_reply_past_the_client_timeout_after_applying_the_write(self):
        self.login()
        self.fault(kind="slow", delay=1.0, method="POST")
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.checkin(timeout=0.3)
        self.assertTrue(testlib.wait_for(lambda: self.control("checkins", method="GET")["checkins"]))

    def test_slow_before_applying(self):
        self.login()
        self.fault(kind="slow", delay=1.5, apply_first=False, method="POST")
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.checkin(timeout=0.2)
        self.assertEqual(self.control("checkins", method="GET")["checkins"], [])
        self.assertTrue(testlib.wait_for(lambda: self.control("checkins", method="GET")["checkins"]))

    def test_connection_reset_before_replying_applies_nothing(self):
        self.login()
        self.fault(kind="reset", method="POST")
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError)):
            self.checkin()
        self.assertEqual(self.control("checkins", method="GET")["checkins"], [])

    def test_reply_lost_after_the_write_was_applied(self):
        self.login()
        self.fault(kind="lost_reply", method="POST", path="checkins")
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError)):
            self.checkin()
        self.assertEqual(len(self.control("checkins", method="GET")["checkins"]), 1)
        log = self.control("requests", method="GET")["requests"]
        self.assertEqual((log[-1]["fault"], log[-1]["status"]), ("lost_reply", "lost(200)"))

    def test_malformed_json(self):
        self.login()
        self.fault(kind="malformed")
        reply = self.authed("GET", "/api/spaces/coworkers")
        self.assertEqual(reply.status, 200)
        with self.assertRaises(ValueError):
            json.loads(reply.body)

    def test_oversized_json_announced_by_content_length(self):
        self.login()
        self.fault(kind="oversized")  # 50 MB by default
        resp = self.authed("GET", "/api/spaces/coworkers", stream=True)
        self.assertGreaterEqual(int(resp.headers["Content-Length"]), 50 * 1024 * 1024 - 100)
        self.assertEqual(len(resp.read(1 << 20)), 1 << 20)
        self.api.close()  # hang up mid-stream, as a client with a size cap would

    def test_oversized_json_chunked_is_well_formed(self):
        self.login()
        self.fault(kind="oversized", size=2 * 1024 * 1024, chunked=True)
        resp = self.authed("GET", "/api/spaces/coworkers", stream=True)
        self.assertIsNone(resp.headers["Content-Length"])
        body = resp.read()
        self.assertGreater(len(body), 2 * 1024 * 1024 - 100)
        self.assertGreater(len(json.loads(body)["Records"]), 1000)
        self.api.close()

    def test_bad_fault_is_refused_naming_the_problem(self):
        reply = self.ctl.post("/_control/faults", {"kind": "explode"})
        self.assertEqual(reply.status, 400)
        self.assertIn("explode", reply.json()["error"])


class TestServer(MockNexudusCase):
    def test_request_log_has_method_path_time_status_and_no_secrets(self):
        body = self.login()
        self.authed("GET", "/api/spaces/coworkers?page=1")
        log = self.control("requests", method="GET")["requests"]
        self.assertEqual([(e["method"], e["path"], e["status"]) for e in log],
                         [("POST", "/api/token", 200), ("GET", "/api/spaces/coworkers?page=1", 200)])
        self.assertLess(abs(log[0]["time"] - time.time()), 60)
        text = json.dumps(log)
        for secret in (os.environ["MOCK_NEXUDUS_PASSWORD"], body["access_token"], body["refresh_token"]):
            self.assertNotIn(secret, text)

    def test_bad_control_input_is_400_naming_the_problem(self):
        reply = self.ctl.post("/_control/seed", {"coworkers": [{"Id": "seven"}]})
        self.assertEqual(reply.status, 400)
        self.assertIn("seven", reply.json()["error"])
        reply = self.ctl.post("/_control/config", {"rate_limits": {"limits": {"per_second": {"count": 1}}}})
        self.assertEqual(reply.status, 400)
        self.assertIn("per_second", reply.json()["error"])

    def test_keep_alive_reuses_the_connection(self):
        self.login()
        sock = self.api.conn.sock
        self.authed("GET", "/api/spaces/coworkers")
        self.assertIs(self.api.conn.sock, sock)

    def test_verified_by_the_ca_for_localhost_too(self):
        port = urllib.parse.urlsplit(os.environ["MOCK_NEXUDUS_URL"]).port
        client = testlib.Client("https://localhost:%d" % port)
        self.assertEqual(client.post("/_control/reset").status, 200)
        client.close()
        untrusted = ssl.create_default_context()
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=untrusted, timeout=5)
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("GET", "/api/spaces/coworkers")
        conn.close()

    def test_libcurl_verifies_pins_reuses_the_connection_and_may_chunk(self):
        # The curl CLI is libcurl 7.88 with OpenSSL, the client porter embeds.
        if not shutil.which("curl"):
            self.skipTest("no curl CLI")
        base = os.environ["MOCK_NEXUDUS_URL"]
        form = urllib.parse.urlencode({"grant_type": "password", "username": os.environ["MOCK_NEXUDUS_USER"],
                                       "password": os.environ["MOCK_NEXUDUS_PASSWORD"]})
        # A backup pin that matches nothing, then the server's own: either may match.
        tls = ["--cacert", os.environ["MOCK_CA"], "--pinnedpubkey",
               "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;" + os.environ["MOCK_PUBKEY_SHA256"]]
        run = subprocess.run(
            ["curl", "-sS", "-v"] + tls + ["--data", form, base + "/api/token", "--next"] + tls
            + ["-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/json",
               "--data", '{"coworkers":[{"Id":7,"FullName":"Chunked"}]}', base + "/_control/seed"],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(run.returncode, 0, run.stderr)
        # assertTrue, not assertIn: a failure must not print the token in stdout.
        self.assertTrue("access_token" in run.stdout, "no token in the grant's reply")
        self.assertTrue('{"coworkers": [7]' in run.stdout, "the chunked seed was not read")
        self.assertIn("Re-using existing connection", run.stderr)
        wrong = subprocess.run(["curl", "-sS", "--cacert", os.environ["MOCK_CA"], "--pinnedpubkey",
                                "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", base + "/api/token"],
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(wrong.returncode, 90)  # CURLE_SSL_PINNEDPUBKEYNOTMATCH

    def test_sigterm_exits_cleanly_after_writing_the_port_file(self):
        d = os.environ["MOCK_DIR"]
        port_file = os.path.join(d, "sigterm-test.port")
        proc = subprocess.Popen([sys.executable, os.path.join(testlib.HERE, "mock_nexudus.py"),
                                 "--cert", os.path.join(d, "server.pem"), "--key", os.path.join(d, "server.key"),
                                 "--port-file", port_file], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(port_file) and time.monotonic() < deadline:
                time.sleep(0.02)
            with open(port_file) as f:
                port = int(f.read())
            self.assertGreater(port, 0)
            client = testlib.Client("https://127.0.0.1:%d" % port)
            self.assertEqual(client.post("/_control/reset").status, 200)
            client.close()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=5), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    testlib.ensure_fixture("MOCK_NEXUDUS_URL", ["--nexudus"])
    unittest.main(verbosity=2)
