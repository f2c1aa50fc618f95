#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""compare.py: the differential test. porter's check_config against a standard
JSON Schema validator (python3-jsonschema's Draft7Validator on plugin.json's
config_schema) on every config gen_configs.py makes.

For each config both sides give a verdict (valid or not) and the JSON paths
of their errors, in one notation (a tuple of keys and indexes). They must
agree, except where porter reports one of its own documented rules
(PORTER_RULES below, the one list of them): a schema cannot say those, so
the standard validator does not know them. Everything else is a
disagreement:
  - the verdicts differ (a standard parser refuses text porter accepts,
    porter refuses a config the schema accepts with a code not in the list);
  - an error at a path one side reports and the other does not;
  - check_config returns something porter.h does not promise (0, -EINVAL,
    -E2BIG with PORTER-CFG-SIZE),
    or its return value and its reports disagree.

    compare.py --source-dir DIR --verdicts PORTER_VERDICTS [--keep DIR]
(PORTER_SO and PORTER_ADMIN in the environment, as meson sets them.)
Exit 0 when they agree on every config, 1 listing each disagreement.

    compare.py --self-test --source-dir DIR
The comparison itself, on made-up porter answers: each kind of
disagreement is caught, porter's rules are let through.
"""
import argparse
import collections
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_configs  # noqa: E402

# porter's rules beyond the schema, each documented (README "Configuration",
# porter.h) and each with its own code. A config the schema accepts may be
# refused with these, at any path, and only with these. `when`: the rule
# applies only to configs whose text contains this (None: any config).
PORTER_RULES = {
    "PORTER-CFG-PATH": ("local.* paths are absolute, without control characters", None),
    "PORTER-CFG-MIN-MAX": ("pin_min_length <= pin_max_length, base_lockout_s <= max_lockout_s",
                           None),
    "PORTER-CFG-DUPLICATE": ("reader ids are unique; a key appears once per object", None),
    "PORTER-CFG-ID": ("reader ids hold no control characters", None),
    "PORTER-CFG-TEXT": ("a text uses only its own placeholders, {{ }} for braces", None),
    "PORTER-CFG-TIME": ("daily_checkout.time is \"HH:MM\", 00:00 to 23:59", None),
    "PORTER-CFG-TIME-ZONE": ("daily_checkout.time_zone is a known zone", None),
    "PORTER-KEY": ("local.pin_key_file is a usable key (files are checked)", None),
    "PORTER-DIRECTORY": ("local.directory is a usable directory file", None),
    "PORTER-DATABASE": ("local.database's folder is usable", None),
    # CONFIG_MAX_TEXT: config text over 256 KiB is refused unread, and
    # check_config returns -E2BIG (porter.h).
    "PORTER-CFG-SIZE": ("config text is at most 256 KiB", None),
    # C strings end at NUL, and numbers must fit a double (json_strict.h,
    # README "Configuration").
    "PORTER-CFG-TEXT-RULE": ("no \\u0000 inside a string or key; numbers fit a double", None),
    "PORTER-CFG-BYTES": ("a path is at most 1023 bytes (PATH_MAX), whatever its characters",
                         None),
    "PORTER-CFG-NUMBER": ("integers porter's JSON reader can hold exactly", None),
    "PORTER-CFG-URL": ("webhook.url and nexudus.url are https:// addresses", None),
    "PORTER-CFG-PIN": ("a pinned key is sha256// and the base64 of 32 bytes", None),
    "PORTER-CFG-BACKEND": ("the chosen backend's settings are present", None),
    "PORTER-CFG-USB-READER": ("a USB scanner's reader_id is a reader listed in readers", None),
    "PORTER-CFG-USB-PORT": ("a USB scanner's port is a path as Linux writes it (\"1-1.4\", 7 ports at most)", None),
}
# What porter may say about text a standard JSON parser refuses.
SYNTAX_CODES = {"PORTER-CFG-SYNTAX", "PORTER-CFG-SIZE"}

# porter.h: check_config "Returns 0 when the config is usable, -EINVAL when
# it has errors."
PROMISED_RC = {0, -errno.EINVAL, -errno.E2BIG}


# ---- The standard side --------------------------------------------------

class NotJson(Exception):
    pass


def strict_pairs(pairs):
    """Last value wins, as RFC 8259 parsers commonly do (porter refuses
    duplicate keys: a porter rule)."""
    return dict(pairs)


def refuse_constant(name):
    raise NotJson("%s is not JSON" % name)


def standard_parse(data):
    """The document, or NotJson: UTF-8 (RFC 8259 section 8.1) and JSON
    text (Python's json with NaN/Infinity refused)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NotJson("not UTF-8: %s" % e)
    try:
        return json.loads(text, object_pairs_hook=strict_pairs, parse_constant=refuse_constant)
    except ValueError as e:
        raise NotJson(str(e))


def standard_errors(validator, schema, doc):
    """The set of error paths (tuples) Draft7Validator reports. A missing
    required property and an unknown property are named by their own path
    (parent + name), the way porter names them; jsonschema reports both at
    the parent object."""
    paths = set()
    for err in validator.iter_errors(doc):
        base = tuple(err.absolute_path)
        if err.validator == "required":
            for name in err.validator_value:
                if isinstance(err.instance, dict) and name not in err.instance:
                    paths.add(base + (name,))
        elif err.validator == "additionalProperties":
            known = set(err.schema.get("properties", {}))
            for key in err.instance:
                if key not in known:
                    paths.add(base + (key,))
        else:
            paths.add(base)
    return paths


# ---- porter's side ------------------------------------------------------

def parse_porter_path(text):
    """porter's "$.readers[0].id" / '$["with space"]' as a tuple."""
    if text is None:
        return None
    if not text.startswith("$"):
        raise ValueError("porter path without $: %r" % text)
    out, i = [], 1
    while i < len(text):
        if text[i] == ".":
            j = i + 1
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(text[i + 1:j])
            i = j
        elif text.startswith('["', i):
            # a JSON string (porter escapes quotes, backslashes and control
            # bytes the JSON way), then "]"
            decoded, end = json.JSONDecoder().raw_decode(text, i + 1)
            out.append(decoded)
            if not text.startswith("]", end):
                raise ValueError("porter path: no ] after a quoted key: %r" % text)
            i = end + 1
        elif text[i] == "[":
            j = text.index("]", i)
            out.append(int(text[i + 1:j]))
            i = j + 1
        else:
            raise ValueError("porter path: unexpected %r in %r" % (text[i], text))
    return tuple(out)


def path_text(path):
    if path is None:
        return "(no path)"
    out = "$"
    for p in path:
        if isinstance(p, int):
            out += "[%d]" % p
        elif p.isidentifier() and p.isascii():
            out += "." + p
        else:
            out += "[%s]" % json.dumps(p, ensure_ascii=True)
    return out


def porter_rule_applies(code, data):
    rule = PORTER_RULES.get(code)
    return rule is not None and (rule[1] is None or rule[1] in data)


# ---- The comparison -----------------------------------------------------

def compare_one(name, data, validator, schema, porter):
    """None when both sides agree, else (class, detail)."""
    rc = porter["rc"]
    try:
        errors = [(r["code"], parse_porter_path(r["path"]))
                  for r in porter["reports"] if r["severity"] == 1]
    except ValueError as e:
        return ("porter reports a path not in its notation ($, .key, [n], [\"JSON string\"])",
                "%s: %s" % (e, ", ".join(str(r["path"]) for r in porter["reports"])))
    codes = sorted({c for c, _ in errors})
    porter_says = "rc %d %s" % (rc, ", ".join("%s %s" % (c, path_text(p)) for c, p in errors)
                                if errors else "no errors")
    if rc not in PROMISED_RC or (rc == -errno.E2BIG and codes != ["PORTER-CFG-SIZE"]):
        return ("check_config returns %d (porter.h: 0, -EINVAL, or -E2BIG for text over "
                "the size limit)" % rc, porter_says)
    if (rc == 0) != (not errors):
        return ("return value and reports disagree", porter_says)
    try:
        doc = standard_parse(data)
    except NotJson as e:
        if rc == 0:
            return ("porter accepts text a JSON parser refuses", "standard: %s" % e)
        if not set(codes) & SYNTAX_CODES:
            return ("porter refuses non-JSON text without a syntax code",
                    "standard: %s; porter: %s" % (e, porter_says))
        return None
    want = standard_errors(validator, schema, doc)
    standard_says = ("valid" if not want else
                     "invalid at " + ", ".join(sorted(path_text(p) for p in want)))
    ours = [(c, p) for c, p in errors if not porter_rule_applies(c, data)]
    reported = {p for _, p in errors}
    unexpected = sorted({(c, path_text(p)) for c, p in ours if p not in want})
    missing = sorted(path_text(p) for p in want if p not in reported)
    if not want and rc != 0 and not ours:
        return None  # porter's own rules only: allowed
    detail = "standard: %s; porter: %s" % (standard_says, porter_says)
    if not want and rc != 0:
        return ("porter refuses what the schema accepts: %s" %
                ", ".join(sorted({c for c, _ in unexpected})), detail)
    if want and rc == 0:
        return ("porter accepts what the schema refuses", detail)
    if unexpected:
        return ("porter reports a path the standard does not: %s" %
                ", ".join(sorted({c for c, _ in unexpected})), detail)
    # A text rule (json_strict.h) refuses the text before the schema reads
    # the document: the schema's findings are not reported then.
    if missing and "PORTER-CFG-TEXT-RULE" not in codes:
        return ("porter misses a path the standard reports", detail)
    return None


def self_test(source_dir):
    """compare_one on made-up porter answers for small configs."""
    with open(os.path.join(source_dir, "plugin.json"), encoding="utf-8") as f:
        schema = json.load(f)["config_schema"]
    validator = jsonschema.Draft7Validator(schema)
    ok = {"local": {"directory": "/d", "database": "/b", "pin_key_file": "/k"}}
    bad_two = dict(ok, door={"unlock_ms": 1}, keypad={"pin_min_length": "4"})
    unknown = dict(ok, **{"with space": 1})

    def porter(rc, *reports):
        return {"rc": rc, "reports": [{"severity": 1, "code": c, "path": p} for c, p in reports]}

    cases = [
        # (name, config, porter's answer, expected class prefix or None)
        ("agree valid", ok, porter(0), None),
        ("porter rule", ok, porter(-22, ("PORTER-CFG-MIN-MAX", "$.keypad.pin_min_length")), None),
        ("warning only", ok, {"rc": 0, "reports": [{"severity": 2, "code": "PORTER-D001",
                                                    "path": None}]}, None),
        ("extra refusal", ok, porter(-22, ("PORTER-CFG-LENGTH", "$.local.directory")),
         "porter refuses what the schema accepts"),
        ("accepts invalid", bad_two, porter(0), "porter accepts what the schema refuses"),
        ("agree invalid", bad_two, porter(-22, ("PORTER-CFG-RANGE", "$.door.unlock_ms"),
                                          ("PORTER-CFG-TYPE", "$.keypad.pin_min_length")), None),
        ("misses a path", bad_two, porter(-22, ("PORTER-CFG-RANGE", "$.door.unlock_ms")),
         "porter misses a path"),
        ("path elsewhere", bad_two, porter(-22, ("PORTER-CFG-RANGE", "$.door.unlock_ms"),
                                           ("PORTER-CFG-TYPE", "$.keypad"),
                                           ("PORTER-CFG-TYPE", "$.keypad.pin_min_length")),
         "porter reports a path the standard does not"),
        ("quoted key", unknown, porter(-22, ("PORTER-CFG-UNKNOWN", '$["with space"]')), None),
        ("missing required", {}, porter(-22, ("PORTER-CFG-REQUIRED", "$.local")), None),
        ("rc not promised", ok, porter(-5, ("PORTER-CFG-SIZE", "$")), "check_config returns -5"),
        ("E2BIG for size", ok, porter(-7, ("PORTER-CFG-SIZE", "$")), None),
        ("E2BIG for other", ok, porter(-7, ("PORTER-CFG-TYPE", "$")), "check_config returns -7"),
        ("rc without reports", ok, porter(-22), "return value and reports disagree"),
        ("not JSON accepted", b'{"local": 5000.}', porter(0), "porter accepts text"),
        ("not JSON refused", b'{"local": 5000.}', porter(-22, ("PORTER-CFG-SYNTAX", "$.local")),
         None),
        ("not JSON, other code", b"{'local': 1}", porter(-22, ("PORTER-CFG-TYPE", "$")),
         "porter refuses non-JSON text without a syntax code"),
        ("NUL rule", b'{"local": {"directory": "/d\\u0000", "database": "/b", '
                     b'"pin_key_file": "/k"}}',
         porter(-22, ("PORTER-CFG-TEXT-RULE", "$.local.directory")), None),
        ("NUL in a key", b'{"local\\u0000x": {}}',
         porter(-22, ("PORTER-CFG-TEXT-RULE", '$["local\\u0000x"]')), None),
        ("SYNTAX is no rule", ok, porter(-22, ("PORTER-CFG-SYNTAX", "$")),
         "porter refuses what the schema accepts"),
    ]
    failed = 0
    for name, config, answer, expected in cases:
        data = config if isinstance(config, bytes) else json.dumps(config).encode()
        got = compare_one(name, data, validator, schema, answer)
        if (got is None) != (expected is None) or (got and not got[0].startswith(expected)):
            print("self-test %s: expected %s, got %s" % (name, expected, got))
            failed += 1
    bad = compare_one("x", json.dumps(ok).encode(), validator, schema,
                      porter(-22, ("PORTER-CFG-UNKNOWN", '$["local\\x00x"]')))
    if not bad or not bad[0].startswith("porter reports a path not in its notation"):
        print("self-test bad path notation: got %s" % (bad,))
        failed += 1
    assert parse_porter_path('$["with space"].a[3]') == ("with space", "a", 3)
    assert parse_porter_path('$["q\\"\\u0001"]') == ('q"\x01',)
    print("self-test: %d cases, %d failed" % (len(cases), failed))
    return 1 if failed else 0


def run(args):
    work = args.keep or tempfile.mkdtemp(prefix="porter-differential-")
    site = os.path.join(work, "site")
    try:
        os.makedirs(site, mode=0o700, exist_ok=True)
        subprocess.run([args.verdicts, "--make-site", site], check=True)
        gen_configs.prepare_site(site)
        configs = gen_configs.Generator(site, args.source_dir).generate()
        configs_file = os.path.join(work, "configs")
        gen_configs.write(configs, configs_file)
        out = subprocess.run([args.verdicts, configs_file], check=True, stdout=subprocess.PIPE)
        verdicts = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if len(verdicts) != len(configs):
        print("porter_verdicts answered %d of %d configs" % (len(verdicts), len(configs)))
        return 1

    with open(os.path.join(args.source_dir, "plugin.json"), encoding="utf-8") as f:
        schema = json.load(f)["config_schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    classes = collections.Counter()
    standard = collections.Counter()
    failures = []
    for (name, data), porter in zip(configs, verdicts):
        try:
            verdict = "invalid" if standard_errors(validator, schema, standard_parse(data)) \
                else "valid"
        except NotJson:
            verdict = "not JSON"
        standard[verdict] += 1
        d = compare_one(name, data, validator, schema, porter)
        if d:
            classes[(name.split("/")[0], d[0])] += 1
            failures.append((name, d))
    for name, (cls, detail) in failures:
        print("DISAGREE %s: %s\n    %s" % (name, cls, detail))
    print("\n%d configs (standard: %s), %d agree, %d disagree" %
          (len(configs), ", ".join("%d %s" % (n, v) for v, n in sorted(standard.items())),
           len(configs) - len(failures), len(failures)))
    if classes:
        print("disagreements by mutation kind and class:")
        for (kind, cls), n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0])):
            print("  %4d  %-10s %s" % (n, kind, cls))
    print("porter's own rules (allowed): " + "; ".join(
        "%s: %s" % (c, d) for c, (d, _) in PORTER_RULES.items()))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--verdicts", help="the built porter_verdicts")
    ap.add_argument("--keep", help="work in this directory and keep it (configs, site)")
    ap.add_argument("--self-test", action="store_true", help="test the comparison itself")
    args = ap.parse_args()
    if args.self_test:
        return self_test(args.source_dir)
    if not args.verdicts:
        ap.error("--verdicts is required")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
