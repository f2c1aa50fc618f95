#!/usr/bin/env python3
"""Embed plugin.json into porter.so as a C string, so the plugin validates
config with exactly the schema a host's admin UI reads."""
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
json_text = data.decode('utf-8')  # fail the build on a non-UTF-8 manifest
with open(dst, 'w') as out:
    out.write('/* Generated from plugin.json by embed_manifest.py. Do not edit. */\n')
    out.write('#include <stddef.h>\n')
    out.write('extern const char porter_manifest_json[];\n')
    out.write('extern const size_t porter_manifest_json_len;\n')
    out.write('const char porter_manifest_json[] = {\n')
    for i in range(0, len(data), 16):
        out.write('  ' + ', '.join('0x%02x' % b for b in data[i:i + 16]) + ',\n')
    out.write('  0x00\n};\n')
    out.write('const size_t porter_manifest_json_len = %d;\n' % len(data))
