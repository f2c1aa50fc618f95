/* SPDX-License-Identifier: MIT */
/*
 * scan_fixture.h: a scan decoder fed report by report, recording every scan
 * and error, for the decoder's unit tests (test_scan_decoder.c,
 * test_scan_layouts.c, test_scan_hid_pos.c). Time moves 1 ms per report,
 * as a scanner polled every millisecond sends them.
 */
#ifndef PORTER_TEST_SCAN_FIXTURE_H
#define PORTER_TEST_SCAN_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scan_decoder.h"

/* Modifier bits and the usages the tests type. */
#define LCTRL  0x01
#define LSHIFT 0x02
#define LALT   0x04
#define LGUI   0x08
#define RCTRL  0x10
#define RSHIFT 0x20
#define RALT   0x40

#define K_ENTER    0x28
#define K_ESC      0x29
#define K_TAB      0x2B
#define K_SPACE    0x2C
#define K_CAPS     0x39
#define K_KP_ENTER 0x58
#define K_KP_DOT   0x63
#define K_ROLLOVER 0x01
/* a-z, 1-9 0 (top row), keypad 1-9 0 */
#define K_(c) ((uint8_t)(0x04 + ((c) - 'a')))
#define K_1   0x1E
#define KD(d) ((uint8_t)((d) == 0 ? 0x27 : 0x1E + (d)-1))
#define KP(d) ((uint8_t)((d) == 0 ? 0x62 : 0x59 + (d)-1))

#define MAX_SCANS  16
#define MAX_ERRORS 16

struct scan_env {
	struct scan_decoder *decoder;
	struct scan_decoder_options options;
	uint64_t now_us;
	size_t n_scans, n_errors;
	uint8_t scans[MAX_SCANS][SCAN_MAX_BYTES + 1];
	size_t lens[MAX_SCANS];
	char errors[MAX_ERRORS][160];
};

static void scan_env_done(void *userdata, const uint8_t *data, size_t len)
{
	struct scan_env *env = userdata;
	assert_true(len >= 1 && len <= SCAN_MAX_BYTES);
	assert_true(env->n_scans < MAX_SCANS);
	memcpy(env->scans[env->n_scans], data, len);
	env->scans[env->n_scans][len] = '\0';
	env->lens[env->n_scans++] = len;
}

static void scan_env_error(void *userdata, const char *what)
{
	struct scan_env *env = userdata;
	assert_true(env->n_errors < MAX_ERRORS);
	snprintf(env->errors[env->n_errors++], sizeof(env->errors[0]), "%s", what);
}

/* A decoder with these options, at t = 1 s. */
static inline struct scan_env *scan_env_new(struct scan_decoder_options options)
{
	struct scan_env *env = calloc(1, sizeof(*env));
	assert_non_null(env);
	env->options = options;
	env->now_us = 1000000;
	env->decoder = scan_decoder_new(&options, scan_env_done, scan_env_error, env);
	assert_non_null(env->decoder);
	return env;
}

static inline void scan_env_free(struct scan_env *env)
{
	scan_decoder_free(env->decoder);
	free(env);
}

static inline void feed(struct scan_env *env, const uint8_t *report, size_t len)
{
	env->now_us += 1000;
	scan_decoder_feed(env->decoder, report, len, env->now_us);
}

/* A boot keyboard report: modifiers, reserved byte, up to six usages. */
#define KEYS(env, mods, ...)                                   \
	do {                                                   \
		uint8_t report_[8] = {(mods), 0, __VA_ARGS__}; \
		feed((env), report_, sizeof(report_));         \
	} while (0)
#define UP(env)                                        \
	do {                                           \
		uint8_t report_[8] = {0};              \
		feed((env), report_, sizeof(report_)); \
	} while (0)
/* One key tapped: key-down report, then all keys up. */
#define TAP(env, mods, usage)                 \
	do {                                  \
		KEYS((env), (mods), (usage)); \
		UP(env);                      \
	} while (0)

/* The only scan so far is `expected` (a C string). */
#define assert_one_scan(env, expected)                                              \
	do {                                                                        \
		assert_int_equal((env)->n_errors, 0);                               \
		assert_int_equal((env)->n_scans, 1);                                \
		assert_int_equal((env)->lens[0], strlen(expected));                 \
		assert_memory_equal((env)->scans[0], (expected), strlen(expected)); \
	} while (0)

/* Types a string of lower-case letters, digits and spaces on any layout
 * that keeps them where US has them (the tests' filler). */
static inline void type_plain(struct scan_env *env, const char *s)
{
	for (; *s; s++) {
		uint8_t usage = *s == ' '                  ? K_SPACE
		                : (*s >= '0' && *s <= '9') ? KD(*s - '0')
		                                           : K_(*s);
		TAP(env, 0, usage);
	}
}

#endif
