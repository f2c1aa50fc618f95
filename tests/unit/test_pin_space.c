/* SPDX-License-Identifier: MIT */
/*
 * test_pin_space.c: PORTER-D002, a random PIN guess too likely to match
 * someone: N people, PINs of at least L digits, a chance of N / 10^L a guess.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "diagnostics.h"

struct seen {
	int n;
	uint32_t severity;
	char code[32], path[64], message[1024], fix[1024];
};

static void collect(void *userdata, const struct porter_report *r)
{
	struct seen *s = userdata;
	s->n++;
	s->severity = r->severity;
	snprintf(s->code, sizeof(s->code), "%s", r->code);
	snprintf(s->path, sizeof(s->path), "%s", r->path);
	snprintf(s->message, sizeof(s->message), "%s", r->message);
	snprintf(s->fix, sizeof(s->fix), "%s", r->fix ? r->fix : "");
}

static struct seen check(uint32_t pin_min_length, size_t people)
{
	struct config c;
	struct seen s = {0};
	memset(&c, 0, sizeof(c));
	c.pin_min_length = pin_min_length;
	int n = diagnostics_pin_space(&c, people, collect, &s);
	assert_int_equal(n, s.n);
	return s;
}

static void test_four_digits_and_500_people_warn_of_5_percent_a_guess(void **state)
{
	struct seen s = check(4, 500);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.severity, PORTER_SEVERITY_WARNING);
	assert_string_equal(s.code, "PORTER-D002");
	assert_string_equal(s.path, "$.keypad.pin_min_length");
	assert_non_null(strstr(s.message, "5.00 %"));
	assert_non_null(strstr(s.message, "500 people"));
	assert_non_null(strstr(s.fix, "at least 5 digits"));
	assert_non_null(strstr(s.fix, "pin_min_length to 5"));
}

static void test_one_percent_a_guess_is_already_too_likely(void **state)
{
	struct seen s = check(4, 100);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.message, "1.00 %"));
	assert_int_equal(check(4, 99).n, 0);
}

static void test_longer_pins_make_the_same_directory_safe(void **state)
{
	assert_int_equal(check(5, 500).n, 0); /* 0.5 % */
	assert_int_equal(check(6, 2000).n, 0);
	struct seen s = check(5, 2000); /* 2 % */
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.message, "2.00 %"));
	assert_non_null(strstr(s.fix, "at least 6 digits"));
}

static void test_no_report_callback_still_counts(void **state)
{
	struct config c;
	memset(&c, 0, sizeof(c));
	c.pin_min_length = 4;
	assert_int_equal(diagnostics_pin_space(&c, 20000, NULL, NULL), 1);
	assert_int_equal(diagnostics_pin_space(NULL, 20000, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_four_digits_and_500_people_warn_of_5_percent_a_guess),
	        cmocka_unit_test(test_one_percent_a_guess_is_already_too_likely),
	        cmocka_unit_test(test_longer_pins_make_the_same_directory_safe),
	        cmocka_unit_test(test_no_report_callback_still_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
