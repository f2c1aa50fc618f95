#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""gen_configs.py: the configs of the differential test (compare.py).

Every config is examples/config-local.json with one mutation, its @DEMO_DIR@
paths pointing at a real site (porter_verdicts --make-site), so porter's file
checks pass and only the mutation decides. Mutations walk plugin.json's
config_schema, so a property added there is mutated without editing this
file: every property to every JSON type, integer bounds (each bound, bound
+-1, 1.0 for 1, 1.5, 2^31, 2^53, 1e20, number spellings), enums (each value,
case changes, numbers), unknown and missing keys at every level, array
lengths, string lengths at maxLength and maxLength+1 in ASCII and in 2-, 3-
and 4-byte UTF-8, JSON escapes, whitespace, and text that is not JSON.

No randomness beyond random.Random(SEED): the same tree gives the same
configs, in the same order, with the same names.

    gen_configs.py SITE_DIR SOURCE_DIR OUT   writes "<bytes>\\n<config>\\n"
                                             records and OUT.names
"""
import copy
import json
import os
import random
import sys

SEED = 20261126

# File names with multi-byte characters, hard links to the site's real files
# (prepare_site), so a path of maxLength characters can hold them and still
# name a usable file.
MULTIBYTE = {
    "2-byte": "äöüßéñ",
    "3-byte": "日本語の入口",
    "4-byte": "😀🚪🔑📒",
    "german": "Haupteingang Süd – Tür",
}
SITE_FILES = {"directory": "directory.json", "database": "presence.db", "pin_key_file": "pin.key"}


class Raw:
    """JSON text written as is (a number spelled 5e3, 1.0, -0, 2^53+1)."""

    def __init__(self, text):
        self.text = text


def prepare_site(site):
    """Hard links with multi-byte names to the key and directory (a link,
    not a copy: the key keeps its owner and mode). The database need not
    exist: check_config only checks its folder."""
    for kind, chars in MULTIBYTE.items():
        for field in ("directory", "pin_key_file"):
            link = os.path.join(site, chars + "-" + SITE_FILES[field])
            if not os.path.exists(link):
                os.link(os.path.join(site, SITE_FILES[field]), link)


def site_path(site, field, length=None, kind=None):
    """An absolute path to the site's file for `field`, `length` characters
    long (padded with "./", which names the same file), its name in `kind`
    characters when given."""
    name = SITE_FILES[field]
    if kind:
        name = MULTIBYTE[kind] + "-" + name
    base = site + "/" + name
    if length is None:
        return base
    pad = length - len(base)
    assert pad >= 0, "site path too long for the length mutation"
    return site + "/" + "/" * (pad % 2) + "./" * (pad // 2) + name


def render(doc, indent=2):
    """JSON text for `doc`; Raw values spliced in as written."""
    raws = []

    def swap(v):
        if isinstance(v, Raw):
            raws.append(v.text)
            return "\x00RAW%d\x00" % (len(raws) - 1)
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(doc), indent=indent, ensure_ascii=False)
    for i, r in enumerate(raws):
        text = text.replace('"\\u0000RAW%d\\u0000"' % i, r)
    return text


def has_type(schema, name):
    """Whether `schema` allows JSON type `name` ("type" a name or a list)."""
    t = schema.get("type")
    return name == t or (isinstance(t, list) and name in t)


def schema_walk(schema, path=()):
    """(path, schema) for every property the schema describes; an array's
    items at index 0."""
    for name, sub in schema.get("properties", {}).items():
        p = path + (name,)
        yield p, sub
        if has_type(sub, "object"):
            yield from schema_walk(sub, p)
        elif has_type(sub, "array") and isinstance(sub.get("items"), dict):
            yield p + (0,), sub["items"]
            if has_type(sub["items"], "object"):
                yield from schema_walk(sub["items"], p + (0,))


def objects(schema, path=()):
    """(path, schema) of every object level, the root included."""
    yield path, schema
    for p, sub in schema_walk(schema, path):
        if has_type(sub, "object"):
            yield p, sub


def name_of(path):
    out = "$"
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else "." + p
    return out


def set_at(doc, path, value):
    """Set doc[path] = value, making the objects and array slot on the way."""
    for i, p in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(p, int):
            while len(doc) <= p:
                doc.append({})
            doc = doc[p]
        else:
            if p not in doc or not isinstance(doc[p], (dict, list)):
                doc[p] = [] if isinstance(nxt, int) else {}
            doc = doc[p]
    last = path[-1]
    if isinstance(last, int):
        while len(doc) <= last:
            doc.append({})
    doc[last] = value


def delete_at(doc, path):
    for p in path[:-1]:
        doc = doc[p]
    del doc[path[-1]]


def exists_at(doc, path):
    for p in path:
        if isinstance(p, int):
            if not isinstance(doc, list) or len(doc) <= p:
                return False
        elif not isinstance(doc, dict) or p not in doc:
            return False
        doc = doc[p]
    return True


class Generator:
    def __init__(self, site, source_dir):
        self.site = site
        with open(os.path.join(source_dir, "plugin.json"), encoding="utf-8") as f:
            self.schema = json.load(f)["config_schema"]
        with open(os.path.join(source_dir, "examples", "config-local.json"), encoding="utf-8") as f:
            text = f.read()
        self.base = json.loads(text.replace("@DEMO_DIR@", site))
        self.rng = random.Random(SEED)
        self.out = []
        self.singles = []  # (path, value) of each one-value mutation, for combos()

    def add(self, name, doc_or_text, indent=2):
        if isinstance(doc_or_text, bytes):
            data = doc_or_text
        elif isinstance(doc_or_text, str):
            data = doc_or_text.encode("utf-8", "surrogatepass")
        else:
            data = render(doc_or_text, indent).encode("utf-8")
        self.out.append((name, data))

    def with_value(self, path, value):
        self.singles.append((path, value))
        doc = copy.deepcopy(self.base)
        set_at(doc, path, value)
        return doc

    # ---- mutations ------------------------------------------------------

    def types(self):
        values = [
            ("null", None), ("true", True), ("false", False), ("0", 0), ("-1", -1),
            ("1.5", 1.5), ("empty-string", ""), ("string", "5000"), ("array", []),
            ("array-1", ["x"]), ("object", {}),
        ]
        for label, v in values:
            self.add("type/$/%s" % label, render(v))
        for path, sub in schema_walk(self.schema):
            for label, v in values:
                self.add("type/%s/%s" % (name_of(path), label), self.with_value(path, v))

    def integer_values(self, lo, hi):
        vals = []
        if lo is not None:
            vals += [("min", Raw(str(lo))), ("min-1", Raw(str(lo - 1))),
                     ("min+1", Raw(str(lo + 1))), ("min.0", Raw("%d.0" % lo)),
                     ("min+0.5", Raw("%d.5" % lo)), ("min-exp", Raw("%de0" % lo))]
        if hi is not None:
            vals += [("max", Raw(str(hi))), ("max+1", Raw(str(hi + 1))),
                     ("max-1", Raw(str(hi - 1))), ("max.0", Raw("%d.0" % hi)),
                     ("max-E", Raw("%dE0" % hi))]
        vals += [("2^31-1", Raw("2147483647")), ("2^31", Raw("2147483648")),
                 ("-2^31-1", Raw("-2147483649")), ("2^53", Raw("9007199254740992")),
                 ("2^53+1", Raw("9007199254740993")), ("2^64", Raw("18446744073709551616")),
                 ("1e20", Raw("1e20")), ("-1e20", Raw("-1e20")), ("-0", Raw("-0")),
                 ("0.0", Raw("0.0")), ("1.5", Raw("1.5")), ("tiny", Raw("1e-300"))]
        return vals

    def ranges(self):
        for path, sub in schema_walk(self.schema):
            if not (has_type(sub, "integer") or has_type(sub, "number")):
                continue
            for label, v in self.integer_values(sub.get("minimum"), sub.get("maximum")):
                self.add("range/%s/%s" % (name_of(path), label), self.with_value(path, v))
        # Spellings of one in-range value (door.unlock_ms 5000).
        for text in ["5e3", "5E3", "5e+3", "5.0e3", "50000e-1", "5000.000", "0.5e4"]:
            self.add("range/$.door.unlock_ms/spelled %s" % text,
                     self.with_value(("door", "unlock_ms"), Raw(text)))

    def enums(self):
        for path, sub in schema_walk(self.schema):
            if "enum" not in sub:
                continue
            n = name_of(path)
            for v in sub["enum"]:
                self.add("enum/%s/%s" % (n, v), self.with_value(path, v))
                if isinstance(v, str):
                    self.add("enum/%s/%s-upper" % (n, v), self.with_value(path, v.upper()))
                    self.add("enum/%s/%s-capital" % (n, v), self.with_value(path, v.capitalize()))
                    self.add("enum/%s/%s-space" % (n, v), self.with_value(path, v + " "))
            for label, v in [("0", 0), ("1", 1), ("1.0", Raw("1.0")), ("empty", "")]:
                self.add("enum/%s/number-%s" % (n, label), self.with_value(path, v))

    def keys(self):
        for path, sub in objects(self.schema):
            n = name_of(path)
            for key in ["unknown_key", "ünknown", "with space", "$schema"]:
                doc = copy.deepcopy(self.base)
                if path and not exists_at(doc, path):
                    set_at(doc, path, {})
                target = doc
                for p in path:
                    target = target[p]
                target[key] = 1
                self.add("unknown/%s/%s" % (n, key), doc)
            props = list(sub.get("properties", {}))
            if props:
                # A property's name in another case is another (unknown) key.
                doc = copy.deepcopy(self.base)
                if path:
                    set_at(doc, path + (props[0].capitalize(),), 1)
                else:
                    doc["Local"] = doc.pop("local")
                self.add("unknown/%s/case-of-%s" % (n, props[0] if path else "local"), doc)
            if path:
                self.add("missing/%s/empty-object" % n, self.with_value(path, {}))
            for name in props:
                p = path + (name,)
                doc = copy.deepcopy(self.base)
                if not exists_at(doc, p):
                    continue
                delete_at(doc, p)
                self.add("missing/%s" % name_of(p), doc)
        # The texts object, absent from the example: one text set, then its
        # neighbours unknown and its required-less emptiness.
        self.add("missing/$.texts/one-text", self.with_value(("texts", "busy"), "Einen Moment."))

    def arrays(self):
        for count in [0, 1, 2, 63, 64, 65, 100]:
            doc = copy.deepcopy(self.base)
            doc["readers"] = [{"id": "r%d" % i} for i in range(count)]
            self.add("array/$.readers/%d-items" % count, doc)
        doc = copy.deepcopy(self.base)
        doc["readers"] = [{"id": "front"}, {"id": "front"}]
        self.add("array/$.readers/duplicate-ids", doc)
        doc = copy.deepcopy(self.base)
        doc["readers"] = [{"id": "a"}, {"direction": "entry"}]
        self.add("array/$.readers/second-without-id", doc)
        doc = copy.deepcopy(self.base)
        doc["readers"] = [{"id": "r%d" % i, "unlock_ms": 100} for i in range(3)]
        self.add("array/$.readers/3-out-of-range", doc)

    def text_of(self, kind, length):
        """`length` characters: ASCII, or mostly `kind` characters (no
        braces, no control characters: porter's own text rules)."""
        if kind == "ascii":
            unit = "Door-text "
        else:
            unit = MULTIBYTE[kind]
        return (unit * (length // len(unit) + 1))[:length]

    def lengths(self):
        kinds = ["ascii"] + list(MULTIBYTE)
        for path, sub in schema_walk(self.schema):
            if not has_type(sub, "string") or "enum" in sub:
                continue
            lo, hi = sub.get("minLength"), sub.get("maxLength")
            n = name_of(path)
            for kind in kinds:
                for label, length in [("max", hi), ("max+1", None if hi is None else hi + 1),
                                      ("min", lo), ("min-1", None if not lo else lo - 1)]:
                    if length is None:
                        continue
                    if len(path) == 2 and path[0] == "local":
                        if length < len(site_path(self.site, path[1], None,
                                                  None if kind == "ascii" else kind)):
                            continue  # a real file's path cannot be that short
                        v = site_path(self.site, path[1], length,
                                      None if kind == "ascii" else kind)
                    else:
                        v = self.text_of(kind, length)
                    self.add("length/%s/%s/%s" % (n, kind, label), self.with_value(path, v))
        # Real zone names at the bound: 32 characters, and 36 (a real file).
        for zone in ["America/Argentina/ComodRivadavia", "right/America/Argentina/Buenos_Aires"]:
            self.add("length/$.daily_checkout.time_zone/%d-real" % len(zone),
                     self.with_value(("daily_checkout", "time_zone"), zone))
        # The examples: 64 characters in 70 bytes, and 22 Japanese
        # characters in 66 bytes.
        for label, rid in [("german-64", "Haupteingang Süd – Tastatur links neben der Tür zum Großraumbüro"),
                           ("japanese-22", "正面玄関の左側にあるテンキー付きの読み取り機")]:
            self.add("length/$.readers[0].id/%s" % label, self.with_value(("readers", 0, "id"), rid))
        for t in ["12:30", "1:30", "12:300", "１２:３０", "12：30"]:
            self.add("length/$.daily_checkout.time/%s" % t,
                     self.with_value(("daily_checkout", "time"), t))

    def escapes(self):
        base = render(self.base)
        cases = {
            "id-u00e9": ('"front"', '"caf\\u00e9"'),
            "id-u00E9": ('"front"', '"caf\\u00E9"'),
            "id-surrogate-pair": ('"front"', '"door-\\ud83d\\ude00"'),
            "id-newline": ('"front"', '"fr\\nont"'),
            "id-tab": ('"front"', '"fr\\tont"'),
            "id-u0001": ('"front"', '"fr\\u0001ont"'),
            "id-quote-backslash": ('"front"', '"fr\\"o\\\\nt"'),
            "enum-escaped": ('"deny"', '"\\u0064eny"'),
            "key-escaped": ('"local": {', '"\\u006cocal": {'),
            "key-u0000": ('"local": {', '"local\\u0000x": {'),
            "value-u0000": ('"pin_collision": "deny"', '"texts": {"busy": "a\\u0000b"}, "pin_collision": "deny"'),
            "slash-path": (json.dumps(site_path(self.site, "directory")),
                           json.dumps(site_path(self.site, "directory")).replace("/", "\\/")),
        }
        for label, (old, new) in cases.items():
            assert old in base, label
            self.add("escape/%s" % label, base.replace(old, new, 1))
        # A text at maxLength whose last character is written as an escape:
        # 160 characters, 159 + one \u00e9 (2 bytes) or one pair (4 bytes).
        for label, esc in [("u00e9", "\\u00e9"), ("pair", "\\ud83d\\ude00")]:
            for length in (160, 161):
                doc = self.with_value(("texts", "busy"), "@ESC@")
                text = render(doc).replace('"@ESC@"', '"' + "x" * (length - 1) + esc + '"')
                self.add("escape/texts-%s/%d" % (label, length), text)

    def whitespace(self):
        self.add("whitespace/minified", json.dumps(self.base, separators=(",", ":")))
        self.add("whitespace/tabs", render(self.base, "\t"))
        self.add("whitespace/crlf", render(self.base).replace("\n", "\r\n"))
        self.add("whitespace/wide",
                 json.dumps(self.base, indent=12, separators=(",   ", "   :   "), ensure_ascii=False))
        self.add("whitespace/leading-trailing", "\n\t \r\n" + render(self.base) + "\n\n  \t")
        self.add("whitespace/no-final-newline", render(self.base).rstrip())
        # porter's size limit (256 KiB, CONFIG_MAX_TEXT in plugin/config.h):
        # whitespace up to it, and one byte past it.
        text = render(self.base)
        limit = 256 * 1024
        self.add("whitespace/size-at-limit", text + " " * (limit - len(text.encode())))
        self.add("whitespace/size-over-limit", text + " " * (limit + 1 - len(text.encode())))
        # Not JSON whitespace: both sides must refuse.
        for label, ch in [("form-feed", "\f"), ("vertical-tab", "\v"), ("nbsp", "\u00a0"),
                          ("ideographic-space", "\u3000")]:
            self.add("whitespace/%s" % label, render(self.base).replace("\n", "\n" + ch, 1))

    def not_json(self):
        base = render(self.base)
        rw = '"repeat_window_ms": 3000'
        assert rw in base

        def number(text):
            return base.replace(rw, '"repeat_window_ms": ' + text, 1)

        cases = {
            "number-trailing-dot": number("3000."),
            "number-leading-dot": number(".3000"),
            "number-leading-zero": number("03000"),
            "number-plus": number("+3000"),
            "number-hex": number("0x0BB8"),
            "number-exponent-only": number("3e"),
            "NaN": number("NaN"),
            "Infinity": number("Infinity"),
            "single-quoted-key": base.replace('"backend"', "'backend'", 1),
            "single-quoted-value": base.replace('"deny"', "'deny'", 1),
            "unquoted-key": base.replace('"backend"', "backend", 1),
            "double-comma": base.replace('"deny",', '"deny",,', 1),
            "trailing-comma-object": base[: base.rindex("}")].rstrip() + ",\n}",
            "comment": base.replace("{", "{ // porter\n", 1),
            "truncated": base[: len(base) // 2],
            "two-documents": base + base,
            "empty": "",
            "raw-newline-in-string": base.replace('"deny"', '"de\nny"', 1),
            "raw-tab-in-string": base.replace('"deny"', '"de\tny"', 1),
            "bad-escape": base.replace('"deny"', '"de\\xny"', 1),
        }
        for label, text in cases.items():
            self.add("not-json/%s" % label, text)
        raw = base.encode("utf-8")
        for label, seq in [("overlong-C0AF", b"\xc0\xaf"), ("utf8-surrogate-EDA080", b"\xed\xa0\x80"),
                           ("lone-continuation", b"\x80"), ("truncated-3byte", b"\xe6\x97"),
                           ("FF", b"\xff")]:
            self.add("not-json/%s" % label, raw.replace(b'"front"', b'"fr' + seq + b'ont"', 1))
        # Duplicate keys: valid JSON text (RFC 8259: names SHOULD be unique);
        # porter refuses them (a porter rule).
        self.add("duplicate/root-backend", base.replace('"backend": "local",',
                                                        '"backend": "local", "backend": "local",', 1))
        self.add("duplicate/repeat_window_ms",
                 base.replace(rw, rw + ', "repeat_window_ms": 2000', 1))

    def combos(self, count=80):
        """Three one-value mutations at once (at unrelated paths): every
        error must still be reported, each at its own path."""
        for i in range(count):
            picked = []
            while len(picked) < 3:
                path, value = self.rng.choice(self.singles)
                if all(path[: len(q)] != q and q[: len(path)] != path for q, _ in picked):
                    picked.append((path, value))
            doc = copy.deepcopy(self.base)
            for path, value in picked:
                set_at(doc, path, value)
            self.add("combo/%d/%s" % (i, "+".join(name_of(p) for p, _ in picked)), doc)

    def generate(self):
        self.add("base", self.base)
        self.types()
        self.ranges()
        self.enums()
        self.keys()
        self.arrays()
        self.lengths()
        self.escapes()
        self.whitespace()
        self.not_json()
        self.combos()
        names = [n for n, _ in self.out]
        assert len(names) == len(set(names)), "mutation names must be unique"
        return self.out


def write(configs, out):
    with open(out, "wb") as f:
        for _, data in configs:
            f.write(b"%d\n" % len(data) + data + b"\n")
    with open(out + ".names", "w", encoding="utf-8") as f:
        for name, _ in configs:
            f.write(name + "\n")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    prepare_site(sys.argv[1])
    configs = Generator(sys.argv[1], sys.argv[2]).generate()
    write(configs, sys.argv[3])
    print("%d configs" % len(configs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
