#!/usr/bin/python3
"""A mock of the Nexudus REST API endpoints porter uses, over real HTTPS on loopback.

It answers the way ../shared/REFERENCE.md says the real API does (form-encoded token
grant, bearer auth, paging, ?Entity_Field= filters, the write envelope, 409 +
Retry-After when throttled) and can be told to misbehave (faults) through
/_control/*. Behaviour nobody documented is marked (inferred) here and in README.md.

    MOCK_NEXUDUS_PASSWORD=P mock_nexudus.py --cert server.pem --key server.key --port-file PORT \
        [--user U] [--expires-in S] [--rate-limits on|off] [--time-scale X]
"""

import argparse
import bisect
import datetime
import json
import math
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mockserver  # noqa: E402
from mockserver import jreply  # noqa: E402

DENIED = {"Message": "Authorization has been denied for this request."}
REFRESH_LIFETIME = 15 * 86400  # refresh tokens last 15 days
MAX_PAGE_SIZE = 1000  # (inferred) the real cap is not published

# The published budgets: count requests per window (seconds); "writes" rules count
# only POST/PUT/DELETE. One bucket per account (the bearer token's user), (inferred).
PUBLISHED_LIMITS = {
    "interval": {"count": 1, "window": 0.1, "writes": False},
    "minute": {"count": 120, "window": 60.0, "writes": False},
    "hour": {"count": 5000, "window": 3600.0, "writes": False},
    "write_minute": {"count": 60, "window": 60.0, "writes": True},
    "write_day": {"count": 5000, "window": 86400.0, "writes": True},
}

COWORKER_DEFAULTS = {
    "FullName": "",
    "Email": None,
    "AccessPincode": None,
    "AccessCardId": None,
    "KeyFobNumber": None,
    "Active": True,
    "HasValidPass": True,  # mock only: the public check-in needs a valid pass
}
VISITOR_DEFAULTS = {
    "FullName": "",
    "Email": None,
    "CoworkerId": None,
    "BusinessId": None,
    "ExpectedArrival": None,
    "VisitorCode": None,
    "Arrived": False,
    "ArrivalDate": None,
    "DepartureDate": None,
}
# The writable fields of a check-in record. (A record the public check-in makes for a
# visitor also carries VisitorId: mock only, the real schema has no such field.)
CHECKIN_FIELDS = (
    "BusinessId",
    "CoworkerId",
    "Source",
    "FromTime",
    "ToTime",
    "AutoCheckout",
    "CountsTowardsPlanLimits",
    "MacAddresses",
    "Notes",
)
DATE_FIELDS = {"FromTime", "ToTime", "ExpectedArrival", "ArrivalDate", "DepartureDate", "CreatedOn", "UpdatedOn"}
LIST_PARAMS = {"page", "size", "orderBy", "dir"}


def now_iso():
    """UTC now as Nexudus prints it, to the millisecond ((inferred) precision)."""
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_time(value):
    """An ISO 8601 time as an aware datetime (no zone means UTC), or None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


def envelope(ok, message, value=None, errors=None, status=200):
    return {"Status": status, "Message": message, "Value": value, "WasSuccessful": ok, "Errors": errors}


def field_error(prop, message, attempted=None):
    return {"AttemptedValue": attempted, "Message": message, "PropertyName": prop}


class State:
    """Everything the mock knows, behind one lock."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.users = {self.opts.user: self.opts.password}
            self.businesses = {self.opts.business_id: {"Id": self.opts.business_id, "Name": "Test Space"}}
            self.spaces = {self.opts.space: self.opts.business_id}
            self.coworkers, self.visitors, self.checkins, self.failed = {}, {}, {}, {}
            self.next_id = 1000
            self.access, self.refresh = {}, {}
            self.expires_in = self.opts.expires_in
            self.max_page_size = MAX_PAGE_SIZE
            self.limits = {k: dict(v) for k, v in PUBLISHED_LIMITS.items()}
            self.limits_on = self.opts.rate_limits == "on"
            self.time_scale = self.opts.time_scale
            self.hits = {}

    def new_id(self):
        self.next_id += 1
        return self.next_id

    # --- tokens -----------------------------------------------------------
    def issue(self, user, client_id):
        now = time.time()
        access, refresh = secrets.token_hex(24), secrets.token_hex(24)
        self.access[access] = {"user": user, "expires": now + self.expires_in, "client_id": client_id}
        self.refresh[refresh] = {"user": user, "expires": now + REFRESH_LIFETIME, "client_id": client_id}
        return {"access_token": access, "token_type": "bearer", "expires_in": self.expires_in, "refresh_token": refresh}

    def user_of(self, token):
        with self.lock:
            t = self.access.get(token)
            if t and t["expires"] > time.time():
                return t["user"]
        return None

    # --- rate limits --------------------------------------------------------
    def throttle(self, account, is_write):
        """None if the request may go on (and it is counted), else (rule, seconds to wait)."""
        with self.lock:
            if not self.limits_on:
                return None
            now = time.monotonic()
            # Two lists per account, all requests and writes, each kept only as long as
            # its longest window, so a long benchmark does not slow every request down.
            lists = self.hits.setdefault(account, {False: [], True: []})
            for writes, hits in lists.items():
                longest = max(r["window"] for r in self.limits.values() if r["writes"] == writes) / self.time_scale
                drop = bisect.bisect_left(hits, now - longest)
                del hits[:drop]
            for name, rule in self.limits.items():
                if rule["writes"] and not is_write:
                    continue
                hits = lists[rule["writes"]]
                window = rule["window"] / self.time_scale
                inside = len(hits) - bisect.bisect_left(hits, now - window)
                if inside >= rule["count"]:
                    return name, hits[len(hits) - rule["count"]] + window - now
            lists[False].append(now)
            if is_write:
                lists[True].append(now)
            return None


class NexudusHandler(mockserver.Handler):
    server_version = "porter-mock-nexudus"

    @property
    def state(self):
        return self.server.state

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth[:7].lower() == "bearer " else None

    def log_extra(self):
        token = self.bearer()
        extra = {"auth": mockserver.token_tag(token) if token else None}
        if self.headers.get("client_id"):
            extra["client_id"] = self.headers.get("client_id")
        return extra

    def fault_unauthorized(self):
        # A 401 fault means "your token expired": make it so, so a retry must refresh.
        token = self.bearer()
        with self.state.lock:
            if token in self.state.access:
                self.state.access[token]["expires"] = 0

    # --- routing --------------------------------------------------------------
    def route(self, method, path, body):
        parts = urllib.parse.urlsplit(path)
        bare, query = parts.path.rstrip("/") or "/", urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        token = self.bearer()
        user = self.state.user_of(token) if token else None
        is_write = method in ("POST", "PUT", "DELETE") and bare != "/api/token"
        account = user or self.token_account(bare, body) or "anon:" + self.client_address[0]
        limited = self.state.throttle(account, is_write)
        if limited:
            rule, wait = limited
            # Retry-After is whole seconds; never 0, or a client would spin.
            return jreply(
                409,
                {"Message": "Too many requests. Try again later."},
                {"Retry-After": str(max(1, math.ceil(wait))), "X-Mock-Limit": rule},
            )
        if bare == "/api/token" and method == "POST":
            return self.token(body)
        space, public = self.public_space(bare)
        if public:
            if method != "POST":
                return jreply(405, {"Message": "The requested resource does not support http method '%s'." % method})
            return self.public_checkin(space, body)
        if not bare.startswith("/api/"):
            return jreply(404, {"Message": "No HTTP resource was found that matches the request URI."})
        if not user:
            return jreply(401, DENIED, {"WWW-Authenticate": "Bearer"})
        m = re.fullmatch(r"/api/spaces/(coworkers|visitors|checkins|failedcheckins)(?:/(\d+))?", bare)
        if not m:
            return jreply(404, {"Message": "No HTTP resource was found that matches the request URI."})
        entity, rid = m.group(1), int(m.group(2)) if m.group(2) else None
        table = {
            "coworkers": (self.state.coworkers, "Coworker"),
            "visitors": (self.state.visitors, "Visitor"),
            "checkins": (self.state.checkins, "Checkin"),
            "failedcheckins": (self.state.failed, "FailedCheckin"),
        }[entity]
        if method == "GET":
            with self.state.lock:
                if rid is not None:
                    rec = table[0].get(rid)
                    if rec is None:
                        return jreply(404, {"Message": "No %s with Id %d." % (table[1], rid)})
                    return jreply(200, rec)
                return self.list(table[0], table[1], query)
        if entity == "visitors" and method == "PUT":
            return self.visitor_put(body, rid)
        if entity != "checkins":
            return jreply(405, {"Message": "The requested resource does not support http method '%s'." % method})
        if method == "POST" and rid is None:
            return self.checkin_write(body, None)
        if method == "PUT":
            return self.checkin_write(body, rid, put=True)
        if method == "DELETE" and rid is not None:
            with self.state.lock:
                if self.state.checkins.pop(rid, None) is None:
                    return jreply(404, envelope(False, "No Checkin with Id %d." % rid, status=404))
            return jreply(200, envelope(True, "Checkin was successfully deleted.", {"Id": rid}))
        return jreply(405, {"Message": "The requested resource does not support http method '%s'." % method})

    def token_account(self, bare, body):
        """The account a token request spends the budget of: (inferred) the same bucket
        as the requests made with the token."""
        if bare != "/api/token":
            return None
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if form.get("grant_type") == "refresh_token":
            with self.state.lock:
                old = self.state.refresh.get(form.get("refresh_token", ""))
                return old["user"] if old else None
        return form.get("username")

    # --- token ------------------------------------------------------------------
    def token(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return jreply(400, {"error": "unsupported_grant_type"})
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant = form.get("grant_type")
        client_id = self.headers.get("client_id")
        with self.state.lock:
            if grant == "password":
                user, password = form.get("username"), form.get("password")
                if user is None or self.state.users.get(user) != password:
                    return jreply(
                        400, {"error": "invalid_grant", "error_description": "The user name or password is incorrect."}
                    )
                return jreply(200, self.state.issue(user, client_id))
            if grant == "refresh_token":
                old = self.state.refresh.get(form.get("refresh_token", ""))
                # (inferred) a refresh token issued to a client_id only works with that
                # client_id, and is used up when it is exchanged.
                if not old or old["expires"] <= time.time() or old["client_id"] != client_id:
                    return jreply(400, {"error": "invalid_grant"})
                del self.state.refresh[form["refresh_token"]]
                return jreply(200, self.state.issue(old["user"], client_id))
        return jreply(400, {"error": "unsupported_grant_type"})

    # --- lists ------------------------------------------------------------------
    def list(self, table, entity, query):
        """Paging, ordering and ?Entity_Field= / from_Entity_Field= / to_Entity_Field= filters."""
        params = dict(query)
        try:
            page = int(params.get("page", 1))
            size = int(params.get("size", 25))
            direction = int(params.get("dir", 1))
        except ValueError as e:
            return jreply(400, {"Message": "The request is invalid: %s" % e})
        if page < 1 or size < 1 or direction not in (1, -1):
            return jreply(400, {"Message": "The request is invalid: page and size start at 1, dir is 1 or -1."})
        size = min(size, self.state.max_page_size)
        records = list(table.values())
        sample = self.sample(entity)
        for key, value in query:
            if key in LIST_PARAMS:
                continue
            m = re.fullmatch(r"(from_|to_)?%s_(\w+)" % entity, key)
            field = self.field_for(sample, m.group(2)) if m else None
            if field is None:
                # (mock strictness) the real API may ignore an unknown filter; here it is
                # an error so a typo in porter cannot pass unnoticed.
                return jreply(400, {"Message": "The request is invalid: unknown filter %s." % key})
            records = [r for r in records if self.matches(r.get(field), value, m.group(1), field)]
        order = params.get("orderBy", "Id")
        field = self.field_for(sample, order)
        if field is None:
            return jreply(400, {"Message": "The request is invalid: unknown orderBy %s." % order})

        def key(r):
            v = r.get(field)
            if field in DATE_FIELDS:
                v = parse_time(v)
                v = v.timestamp() if v else None
            return (v is not None, v if v is not None else 0, r["Id"])

        records.sort(key=key, reverse=direction == -1)
        total = len(records)
        pages = max(1, math.ceil(total / size)) if total else 0
        chunk = records[(page - 1) * size : page * size]
        first = (page - 1) * size + 1 if chunk else 0
        return jreply(
            200,
            {
                "Records": chunk,
                "CurrentPage": page,
                "CurrentPageSize": size,
                "CurrentOrderField": order,
                "CurrentSortDirection": direction,
                "FirstItem": first,
                "LastItem": first + len(chunk) - 1 if chunk else 0,
                "TotalItems": total,
                "TotalPages": pages,
                "HasNextPage": page < pages,
                "HasPreviousPage": page > 1 and total > 0,
            },
        )

    def sample(self, entity):
        return {
            "Coworker": dict(COWORKER_DEFAULTS, Id=0, CreatedOn=None, UpdatedOn=None),
            "Visitor": dict(VISITOR_DEFAULTS, Id=0, CreatedOn=None, UpdatedOn=None),
            "Checkin": dict({f: None for f in CHECKIN_FIELDS}, Id=0, VisitorId=None, CreatedOn=None, UpdatedOn=None),
            "FailedCheckin": {"Id": 0, "BusinessId": 0, "CoworkerId": 0, "Description": 0, "CreatedOn": None},
        }[entity]

    @staticmethod
    def field_for(sample, name):
        """The record field a filter names: the field itself, or an id ("Coworker" -> CoworkerId)."""
        for candidate in (name, name + "Id"):
            for f in sample:
                if f.lower() == candidate.lower():
                    return f
        return None

    @staticmethod
    def matches(actual, wanted, bound, field):
        if field in DATE_FIELDS and bound:
            a, w = parse_time(actual), parse_time(wanted)
            if a is None or w is None:
                return False
            return a >= w if bound == "from_" else a <= w
        if wanted.lower() == "null":  # (inferred) how a null is asked for
            return actual is None
        if isinstance(actual, bool):
            return str(actual).lower() == wanted.lower()
        if isinstance(actual, (int, float)) and not bound:
            return str(actual) == wanted
        if bound:
            try:
                return float(actual) >= float(wanted) if bound == "from_" else float(actual) <= float(wanted)
            except (TypeError, ValueError):
                return False
        return actual is not None and str(actual).lower() == wanted.lower()

    # --- check-in records -------------------------------------------------------
    def checkin_write(self, body, rid, put=False):
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            return jreply(400, envelope(False, "The request is invalid.", status=400))
        with self.state.lock:
            if put:
                rid = data.get("Id", rid)
                if not isinstance(rid, int) or rid not in self.state.checkins:
                    err = [field_error("Id", "No Checkin with this Id.", rid)]
                    status = 400 if rid is None else 404
                    return jreply(status, envelope(False, "Checkin could not be updated.", errors=err, status=status))
            errors = self.validate_checkin(data)
            if errors:
                verb = "updated" if put else "created"
                return jreply(400, envelope(False, "Checkin could not be %s." % verb, errors=errors, status=400))
            stamp = now_iso()
            old = self.state.checkins.get(rid) if put else None
            rec = {f: data.get(f) for f in CHECKIN_FIELDS}  # PUT replaces the whole record
            rec["Source"] = rec["Source"] if rec["Source"] is not None else 0
            rec["Id"] = rid if put else self.state.new_id()
            rec["UniqueId"] = old["UniqueId"] if old else str(uuid.uuid4())
            rec["CreatedOn"] = old["CreatedOn"] if old else stamp
            rec["UpdatedOn"] = stamp
            rec["BusinessName"] = self.state.businesses[rec["BusinessId"]]["Name"]
            cw = self.state.coworkers.get(rec["CoworkerId"])
            rec["CoworkerFullName"] = cw["FullName"] if cw else None
            self.state.checkins[rec["Id"]] = rec
            if put:
                return jreply(200, envelope(True, "Checkin was successfully updated.", dict(rec)))
            return jreply(200, envelope(True, "Checkin was successfully created.", dict(rec)))

    def validate_checkin(self, data):
        errors = []
        bid = data.get("BusinessId")
        if bid is None:
            errors.append(field_error("BusinessId", "Business is a required field.", None))
        elif bid not in self.state.businesses:
            errors.append(field_error("BusinessId", "Business does not exist.", bid))
        start = data.get("FromTime")
        if start is None:
            errors.append(field_error("FromTime", "From Time is a required field.", None))
        elif parse_time(start) is None:
            errors.append(field_error("FromTime", "From Time is not a valid date.", start))
        end = data.get("ToTime")
        if end is not None:
            if parse_time(end) is None:
                errors.append(field_error("ToTime", "To Time is not a valid date.", end))
            elif parse_time(start) and parse_time(end) < parse_time(start):
                errors.append(field_error("ToTime", "To Time must be after From Time.", end))
        cid = data.get("CoworkerId")
        if cid is not None and cid not in self.state.coworkers:
            errors.append(field_error("CoworkerId", "Coworker does not exist.", cid))
        src = data.get("Source")
        if src is not None and src not in range(6):
            errors.append(field_error("Source", "Source is not valid.", src))
        return errors

    def visitor_put(self, body, rid):
        """PUT a whole visitor back, e.g. Arrived/ArrivalDate when the visitor is at the door."""
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            return jreply(400, envelope(False, "The request is invalid.", status=400))
        with self.state.lock:
            rid = data.get("Id", rid)
            old = self.state.visitors.get(rid) if isinstance(rid, int) else None
            if old is None:
                err = [field_error("Id", "No Visitor with this Id.", rid)]
                status = 400 if rid is None else 404
                return jreply(status, envelope(False, "Visitor could not be updated.", errors=err, status=status))
            errors = []
            if not data.get("FullName"):  # (inferred) the one required field
                errors.append(field_error("FullName", "Full Name is a required field.", data.get("FullName")))
            cid = data.get("CoworkerId")
            if cid is not None and cid not in self.state.coworkers:
                errors.append(field_error("CoworkerId", "Coworker does not exist.", cid))
            for f in ("ExpectedArrival", "ArrivalDate", "DepartureDate"):
                if data.get(f) is not None and parse_time(data[f]) is None:
                    errors.append(field_error(f, "%s is not a valid date." % f, data[f]))
            if errors:
                return jreply(400, envelope(False, "Visitor could not be updated.", errors=errors, status=400))
            rec = {f: data.get(f, VISITOR_DEFAULTS[f]) for f in VISITOR_DEFAULTS}  # whole record
            rec.update(Id=rid, UniqueId=old["UniqueId"], CreatedOn=old["CreatedOn"], UpdatedOn=now_iso())
            self.state.visitors[rid] = rec
            return jreply(200, envelope(True, "Visitor was successfully updated.", dict(rec)))

    # --- public check-in ----------------------------------------------------------
    def public_space(self, bare):
        """(space, True) for the public check-in: the space from a /s/{space} prefix,
        else from the Host header {space}.spaces.nexudus.com."""
        m = re.fullmatch(r"/s/([\w-]+)/api/public/checkin", bare)
        if m:
            return m.group(1), True
        if bare == "/api/public/checkin":
            host = self.headers.get("Host", "").split(":")[0].lower()
            m = re.fullmatch(r"([\w-]+)\.spaces\.nexudus\.com", host)
            return (m.group(1) if m else None), True
        return None, False

    def public_checkin(self, space, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            if ctype == "application/json":
                data = json.loads(body)
            else:
                data = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        except ValueError:
            return jreply(400, envelope(False, "The request is invalid.", status=400))
        with self.state.lock:
            bid = self.state.spaces.get(space)
            if bid is None:
                return jreply(404, envelope(False, "Unknown space %r." % space, status=404))
            flag = lambda k: str(data.get(k, "false")).lower() == "true"  # noqa: E731
            who, visitor = self.find_credential(data)
            if who is None:
                return self.failed_checkin(bid, None, "Unknown credentials.")
            if not visitor and (not who["Active"] or not who["HasValidPass"]):
                return self.failed_checkin(bid, who["Id"], "No valid pass.")
            key = "VisitorId" if visitor else "CoworkerId"
            open_rec = next(
                (r for r in self.state.checkins.values() if r.get(key) == who["Id"] and r["BusinessId"] == bid and r["ToTime"] is None),
                None,
            )
            value = {key: who["Id"], "FullName": who["FullName"], "CheckedIn": open_rec is not None}
            if flag("doNotCheckIn"):
                return jreply(200, envelope(True, "Valid credentials.", value))
            stamp = now_iso()
            if open_rec and flag("toggle"):
                open_rec["ToTime"], open_rec["UpdatedOn"] = stamp, stamp
                if visitor:
                    who["DepartureDate"], who["UpdatedOn"] = stamp, stamp
                value["CheckedIn"] = False
                return jreply(200, envelope(True, "%s checked out." % who["FullName"], value))
            if open_rec:
                return jreply(200, envelope(True, "%s is already checked in." % who["FullName"], value))
            rec = {f: None for f in CHECKIN_FIELDS}
            rec.update(VisitorId=None, BusinessId=bid, Source=2, FromTime=stamp, Id=self.state.new_id(), UniqueId=str(uuid.uuid4()))
            rec.update(CreatedOn=stamp, UpdatedOn=stamp, BusinessName=self.state.businesses[bid]["Name"])
            rec[key] = who["Id"]
            rec["CoworkerFullName"] = None if visitor else who["FullName"]
            self.state.checkins[rec["Id"]] = rec
            if visitor:
                who["Arrived"], who["ArrivalDate"], who["UpdatedOn"] = True, stamp, stamp
            value["CheckedIn"] = True
            value["CheckinId"] = rec["Id"]
            return jreply(200, envelope(True, "%s checked in." % who["FullName"], value))

    def find_credential(self, data):
        """(record, is_visitor) for the pincode / accessCardId / token given, or (None, False)."""
        for field, value in (("AccessPincode", data.get("pincode")), ("AccessCardId", data.get("accessCardId"))):
            if value:
                for c in self.state.coworkers.values():
                    if c.get(field) and str(c[field]) == str(value):
                        return c, False
        code = data.get("token")
        if code:
            for v in self.state.visitors.values():
                if v.get("VisitorCode") and str(v["VisitorCode"]) == str(code):
                    return v, True
        return None, False

    def failed_checkin(self, bid, cid, why):
        # (inferred) a refused public check-in is HTTP 400 with the envelope, and is
        # listed under /api/spaces/failedcheckins.
        fid = self.state.new_id()
        self.state.failed[fid] = {"Id": fid, "BusinessId": bid, "CoworkerId": cid, "Description": why, "CreatedOn": now_iso()}
        return jreply(400, envelope(False, why, errors=[field_error("Credentials", why)], status=400))

    # --- control --------------------------------------------------------------------
    def control_more(self, method, bare, data):
        st = self.state
        if bare == "/_control/seed" and method == "POST":
            return self.seed(data)
        m = re.fullmatch(r"/_control/(coworkers|visitors|checkins)/(\d+)", bare)
        if m:
            table = {"coworkers": st.coworkers, "visitors": st.visitors, "checkins": st.checkins}[m.group(1)]
            rid = int(m.group(2))
            with st.lock:
                if rid not in table:
                    return jreply(404, {"error": "no %s %d" % (m.group(1), rid)})
                if method == "DELETE":
                    del table[rid]
                    return jreply(200, {"deleted": rid})
                if method == "POST":  # a change made at the backend (reception, app)
                    table[rid].update(data)
                    table[rid]["UpdatedOn"] = data.get("UpdatedOn", now_iso())
                    return jreply(200, table[rid])
                if method == "GET":
                    return jreply(200, table[rid])
        with st.lock:
            if bare == "/_control/checkins" and method == "GET":
                return jreply(200, {"checkins": sorted(st.checkins.values(), key=lambda r: r["Id"])})
            if bare == "/_control/state" and method == "GET":
                return jreply(
                    200,
                    {
                        "coworkers": sorted(st.coworkers.values(), key=lambda r: r["Id"]),
                        "visitors": sorted(st.visitors.values(), key=lambda r: r["Id"]),
                        "checkins": sorted(st.checkins.values(), key=lambda r: r["Id"]),
                        "failedcheckins": sorted(st.failed.values(), key=lambda r: r["Id"]),
                        "businesses": list(st.businesses.values()),
                        "spaces": st.spaces,
                    },
                )
            if bare == "/_control/tokens/expire" and method == "POST":
                for t in st.access.values():
                    t["expires"] = 0
                if data.get("refresh"):
                    for t in st.refresh.values():
                        t["expires"] = 0
                return jreply(200, {"expired": len(st.access)})
            if bare == "/_control/config":
                if method == "POST":
                    try:
                        self.configure(data)
                    except (ValueError, TypeError, KeyError) as e:
                        return jreply(400, {"error": "bad config: %s" % e})
                if method in ("GET", "POST"):
                    return jreply(
                        200,
                        {
                            "expires_in": st.expires_in,
                            "max_page_size": st.max_page_size,
                            "rate_limits": {"enabled": st.limits_on, "time_scale": st.time_scale, "limits": st.limits},
                            "users": sorted(st.users),
                        },
                    )
        return super().control_more(method, bare, data)

    def configure(self, data):
        st = self.state
        if "expires_in" in data:
            st.expires_in = int(data["expires_in"])
        if "max_page_size" in data:
            st.max_page_size = int(data["max_page_size"])
        if "users" in data:  # {"name": "password"}: e.g. a password reset at the backend
            st.users = {str(k): str(v) for k, v in data["users"].items()}
        rl = data.get("rate_limits")
        if rl is not None:
            if "enabled" in rl:
                st.limits_on = bool(rl["enabled"])
            if "time_scale" in rl:
                if float(rl["time_scale"]) <= 0:
                    raise ValueError("time_scale must be > 0")
                st.time_scale = float(rl["time_scale"])
            if rl.get("published"):
                st.limits = {k: dict(v) for k, v in PUBLISHED_LIMITS.items()}
            for name, rule in rl.get("limits", {}).items():
                if name not in st.limits:
                    raise KeyError("no rate limit named %r (%s)" % (name, ", ".join(st.limits)))
                for k in ("count", "window"):
                    if k in rule:
                        st.limits[name][k] = type(st.limits[name][k])(rule[k])
            st.hits = {}

    def seed(self, data):
        """Upsert coworkers, visitors, check-ins and businesses; missing fields get defaults."""
        st = self.state
        stamp = now_iso()
        ids = {}
        with st.lock:
            for b in data.get("businesses", []):
                st.businesses[int(b["Id"])] = {"Id": int(b["Id"]), "Name": b.get("Name", "Space %s" % b["Id"])}
                if b.get("Space"):
                    st.spaces[b["Space"]] = int(b["Id"])
            for kind, table, defaults in (
                ("coworkers", st.coworkers, COWORKER_DEFAULTS),
                ("visitors", st.visitors, VISITOR_DEFAULTS),
                ("checkins", st.checkins, dict({f: None for f in CHECKIN_FIELDS}, Source=0)),
            ):
                ids[kind] = []
                for rec in data.get(kind, []):
                    rid = int(rec.get("Id") or st.new_id())
                    st.next_id = max(st.next_id, rid)
                    full = dict(defaults, **table.get(rid, {}))
                    full.update(rec)
                    full["Id"] = rid
                    full.setdefault("UniqueId", str(uuid.uuid4()))
                    full.setdefault("CreatedOn", stamp)
                    full["UpdatedOn"] = rec.get("UpdatedOn", stamp)
                    table[rid] = full
                    ids[kind].append(rid)
        return jreply(200, ids)


class NexudusServer(mockserver.Server):
    def __init__(self, opts):
        super().__init__(NexudusHandler, opts.cert, opts.key)
        self.state = State(opts)

    def reset_state(self):
        self.state.reset()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user", default="porter@example.com")
    # The password comes from the environment so it is not in `ps` output.
    ap.add_argument("--password", default=os.environ.get("MOCK_NEXUDUS_PASSWORD", "correct horse"))
    ap.add_argument("--expires-in", type=int, default=604799)
    ap.add_argument("--business-id", type=int, default=1)
    ap.add_argument("--space", default="testspace")
    ap.add_argument("--rate-limits", choices=("on", "off"), default="on")
    ap.add_argument("--time-scale", type=float, default=1.0, help="divide every rate-limit window by this")
    opts = ap.parse_args()
    mockserver.serve(NexudusServer(opts), opts.port_file, "mock_nexudus")


if __name__ == "__main__":
    main()
