#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check_codes.py: every feedback/result code porter's sources can emit is
listed in porter.h's "Codes:" vocabulary (V7 of issue 5).

A host acts on codes, so one missing from porter.h is a contract hole. The
code argument of each call that carries one (engine_feedback, deny,
complete, refuse_real_pin, refuse_person's callers through *ret_code) is
read from the C source; string literals in it (ternaries included) are the
codes it can emit. Usage: check_codes.py PORTER_H SOURCE_OR_DIR...
(a directory stands for its *.c files).
"""
import glob
import os
import re
import sys

# Function -> index of its code argument.
CODE_ARG = {"engine_feedback": 4, "deny": 2, "complete": 4, "refuse_real_pin": 3,
            "engine_refuse_credential": 3, "refuse": 2}
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def split_args(text, start):
    """Top-level arguments of the call whose '(' is at text[start]."""
    args, depth, cur, i = [], 0, [], start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            m = LITERAL.match(text, i)
            cur.append(m.group(0))
            i = m.end()
            continue
        if c == "'":
            j = text.index("'", i + 2 if text[i + 1] == "\\" else i + 1)
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


def emitted(source):
    text = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    codes = set()
    for name, index in CODE_ARG.items():
        for m in re.finditer(r"\b%s\s*\(" % name, text):
            before = text[max(0, m.start() - 40):m.start()]
            if re.search(r"(void|int|bool)\s*\**\s*$", before):
                continue  # a definition or declaration, not a call
            args = split_args(text, m.end() - 1)
            if len(args) > index:
                codes.update(LITERAL.findall(args[index]))
    for m in re.finditer(r"\bret_code\s*=\s*([^;]*);", text):
        codes.update(LITERAL.findall(m.group(1)))
    return codes


def listed(header):
    """Codes named at the start of an entry of porter.h's "Codes:" block."""
    if " * Codes:" not in header:
        return set()
    block = header.split(" * Codes:", 1)[1].split("*/", 1)[0]
    words = set()
    for lead in re.findall(r'^ \*   ((?:"[a-z_]+",?[ \t]*)+)', block, re.M):
        words.update(re.findall(r'"([a-z_]+)"', lead))
    return words


def main():
    header = open(sys.argv[1], encoding="utf-8").read()
    vocabulary = listed(header)
    found = {}
    paths = []
    for arg in sys.argv[2:]:
        paths += sorted(glob.glob(os.path.join(arg, "*.c"))) if os.path.isdir(arg) else [arg]
    for path in paths:
        for code in emitted(open(path, encoding="utf-8").read()):
            found.setdefault(code, path)
    missing = sorted(c for c in found if c not in vocabulary)
    for code in missing:
        print("%s: code \"%s\" is not listed in porter.h's Codes:" % (found[code], code))
    # The scan itself must work: these are emitted from known places.
    for sure in ("checked_in", "already_out", "unknown_pin", "busy", "door_failed",
                 "pin_too_long", "entry_timeout", "ambiguous_pin", "wrong_keypad"):
        if sure not in found:
            print("the scan did not find \"%s\": check_codes.py is out of date" % sure)
            missing.append(sure)
    print("%d codes emitted, %d listed" % (len(found), len(vocabulary)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
