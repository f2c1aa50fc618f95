/* SPDX-License-Identifier: MIT */
/*
 * schema.h: validation of JSON against the JSON Schema (draft-07) keywords
 * porter supports, enough for the config schema in plugin.json.
 *
 * schema_keywords below is THE list: the validator refuses a schema using
 * any other keyword (a build-time bug, code PORTER-SCHEMA), and the official
 * JSON-Schema-Test-Suite test (tests/unit/test_schema_suite.c) runs every
 * draft-07 case whose schema uses only these keywords. Each listed keyword
 * behaves as draft-07 says: "type" as a name or an array of names, "null"
 * included; true/false as schemas; additionalProperties as a boolean or a
 * schema; items as a schema or an array of schemas; lengths in characters
 * (code points); enum/const by JSON equality (1.0 equals 1); integer means
 * "no fractional part" (1.0 is one) with no implied width.
 *
 * porter's own rule, not part of any keyword: a number json-c cannot hold
 * exactly (a whole number beyond -9223372036854775807..18446744073709551614,
 * which json-c saturates, or a decimal beyond a double) is refused with code
 * PORTER-CFG-NUMBER at its path rather than judged as a different number.
 */
#ifndef PORTER_SCHEMA_H
#define PORTER_SCHEMA_H

#include <stddef.h>

#include <json-c/json.h>

#include "porter.h"

/* plugin.json as embedded at build time (generated manifest_data.c). */
extern const char porter_manifest_json[];
extern const size_t porter_manifest_json_len;

/* The supported keywords, NULL-terminated. */
extern const char *const schema_keywords[];

/* The keywords of schema_keywords that only annotate ($schema, title,
 * description, default, examples): accepted, never checked. NULL-terminated. */
extern const char *const schema_annotations[];

/*
 * Validate `instance` against `schema` (an object or a boolean schema),
 * without changing it. Each violation is reported with its JSON path
 * ("$.readers[2].direction") and severity ERROR. Returns the number of
 * violations.
 */
int schema_validate(json_object *schema, json_object *instance, porter_report_fn report,
                    void *userdata);

/*
 * Insert a copy of each missing property's "default" into `instance`,
 * recursively (a filled-in {} gets its own properties' defaults), and into
 * each element of an array whose "items" is a schema. Call it after
 * schema_validate(): a default is an annotation and is never validated.
 * Returns 0 or -ENOMEM.
 */
int schema_fill_defaults(json_object *schema, json_object *instance);

#endif
