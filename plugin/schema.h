/* SPDX-License-Identifier: MIT */
/*
 * schema.h: validation of JSON against the subset of JSON Schema used by the
 * config schema in plugin.json.
 *
 * Supported keywords: type (object, array, string, integer, number, boolean),
 * properties, required, additionalProperties (false only), items, enum,
 * minimum, maximum, minLength, maxLength, minItems, maxItems, pattern is NOT
 * supported, default, description, title (annotations). Unknown keywords in
 * the schema are a build-time bug and are reported as such.
 */
#ifndef PORTER_SCHEMA_H
#define PORTER_SCHEMA_H

#include <stddef.h>

#include <json-c/json.h>

#include "porter.h"

/* plugin.json as embedded at build time (generated manifest_data.c). */
extern const char porter_manifest_json[];
extern const size_t porter_manifest_json_len;

/*
 * Validate `instance` against `schema`. Missing properties that have a
 * "default" in the schema are inserted into `instance` (so the caller reads
 * one complete document). Each violation is reported with its JSON path
 * ("$.readers[2].direction") and severity ERROR. Returns the number of
 * violations.
 */
int schema_validate(json_object *schema, json_object *instance, porter_report_fn report,
                    void *userdata);

#endif
