/* SPDX-License-Identifier: MIT */
/*
 * test_nexudus_reply.c: the Nexudus reply parsers take what the real API
 * sends, refuse every malformed shape with the member and place named, and
 * never put a token or PIN into an error text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nexudus_reply.h"

#define TOKEN   "k9Xb2-QpVt_7LmNc.Zr4wYe8sAuHd0Ff"
#define REFRESH "rf_4b1c9d2e7f0a83b6c5d4e3f2a1b0c9d8"

static char err[512];

/* ---- Token -------------------------------------------------------------- */

static int token(const char *text, struct nexudus_token *t)
{
	err[0] = '\0';
	return nexudus_token_parse(text, strlen(text), t, err, sizeof(err));
}

static void test_a_token_reply_gives_both_tokens_and_the_lifetime(void **state)
{
	struct nexudus_token t;
	/* OWIN's reply: the members porter does not use are skipped. */
	assert_int_equal(token("{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\","
	                       "\"expires_in\":604799,\"refresh_token\":\"" REFRESH "\","
	                       "\".issued\":\"Wed, 25 Nov 2026 08:00:00 GMT\","
	                       "\".expires\":\"Wed, 02 Dec 2026 08:00:00 GMT\"}",
	                       &t),
	                 0);
	assert_string_equal(t.access_token, TOKEN);
	assert_string_equal(t.refresh_token, REFRESH);
	assert_int_equal(t.expires_in, 604799);
	nexudus_token_clear(&t);
	assert_null(t.access_token);
	assert_null(t.refresh_token);
	nexudus_token_clear(NULL);
}

static void test_a_refresh_reply_may_come_without_a_refresh_token(void **state)
{
	struct nexudus_token t;
	assert_int_equal(token("{\"token_type\":\"Bearer\",\"access_token\":\"" TOKEN "\","
	                       "\"expires_in\":3600,\"refresh_token\":null}",
	                       &t),
	                 0);
	assert_null(t.refresh_token);
	nexudus_token_clear(&t);
}

static void test_invalid_grant_is_a_refusal_of_the_credentials(void **state)
{
	struct nexudus_token t;
	assert_int_equal(token("{\"error\":\"invalid_grant\",\"error_description\":"
	                       "\"The user name or password is incorrect.\"}",
	                       &t),
	                 -EACCES);
	assert_non_null(strstr(err, "invalid_grant"));
	assert_non_null(strstr(err, "password is incorrect"));
	assert_null(t.access_token);
}

static void test_unsupported_grant_type_is_a_protocol_error(void **state)
{
	struct nexudus_token t;
	assert_int_equal(token("{\"error\":\"unsupported_grant_type\"}", &t), -EPROTO);
	assert_non_null(strstr(err, "unsupported_grant_type"));
}

static void test_malformed_token_replies_name_the_member(void **state)
{
	static const struct {
		const char *text, *named;
	} cases[] = {
	        {"{\"token_type\":\"bearer\",\"expires_in\":60}", "access_token: missing"},
	        {"{\"access_token\":\"" TOKEN "\",\"expires_in\":60}", "token_type"},
	        {"{\"access_token\":\"" TOKEN "\",\"token_type\":\"mac\",\"expires_in\":60}",
	         "token_type"},
	        {"{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\"}",
	         "expires_in: missing"},
	        {"{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\",\"expires_in\":\"60\"}",
	         "expires_in: must be a whole number"},
	        {"{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\",\"expires_in\":0}",
	         "expires_in"},
	        {"{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\",\"expires_in\":1.5}",
	         "expires_in"},
	        {"{\"access_token\":42,\"token_type\":\"bearer\",\"expires_in\":60}",
	         "access_token: must be"},
	        {"{\"access_token\":\"\",\"token_type\":\"bearer\",\"expires_in\":60}",
	         "access_token: must be"},
	        {"{\"access_token\":\"" TOKEN "\\r\\nX-Evil: 1\",\"token_type\":\"bearer\","
	         "\"expires_in\":60}",
	         "access_token: must be 1-4096 printable characters without spaces"},
	        {"{\"access_token\":\"" TOKEN "\",\"refresh_token\":\"a b\",\"token_type\":"
	         "\"bearer\",\"expires_in\":60}",
	         "refresh_token: must be"},
	        {"[\"" TOKEN "\"]", "must be a JSON object"},
	        {"{\"access_token\":\"" TOKEN "\",\"access_token\":\"" TOKEN "\"}", "twice"},
	        {"{\"error\":7}", "error: must be a string"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nexudus_token t;
		int r = token(cases[i].text, &t);
		if (r != -EINVAL || !strstr(err, cases[i].named) || strstr(err, TOKEN))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err,
			         cases[i].named);
		assert_null(t.access_token);
	}
}

static void test_a_token_reply_cut_short_is_refused_at_every_byte(void **state)
{
	const char *text = "{\"access_token\":\"" TOKEN "\",\"token_type\":\"bearer\","
	                   "\"expires_in\":604799,\"refresh_token\":\"" REFRESH "\"}";
	for (size_t n = 0; n < strlen(text); n++) {
		struct nexudus_token t;
		int r = nexudus_token_parse(text, n, &t, err, sizeof(err));
		if (r != -EINVAL || strstr(err, TOKEN) || strstr(err, REFRESH))
			fail_msg("cut at %zu: r=%d err=\"%s\"", n, r, err);
		assert_null(t.access_token);
	}
}

static void test_an_oversized_or_deep_token_reply_is_refused(void **state)
{
	size_t len = NEXUDUS_TOKEN_REPLY_MAX + 1;
	char *big = malloc(len);
	struct nexudus_token t;
	memset(big, ' ', len);
	assert_int_equal(nexudus_token_parse(big, len, &t, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "at most 65536"));
	free(big);

	char deep[256] = "{\"x\":";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	assert_int_equal(token(deep, &t), -EINVAL);
	assert_non_null(strstr(err, "nested deeper than 16"));
}

/* ---- Envelope ----------------------------------------------------------- */

static int envelope(const char *text, struct nexudus_envelope *e)
{
	err[0] = '\0';
	return nexudus_envelope_parse(text, strlen(text), e, err, sizeof(err));
}

static void test_a_successful_write_gives_the_new_record_id(void **state)
{
	struct nexudus_envelope e;
	assert_int_equal(
	        envelope("{\"Status\":200,\"Message\":\"CheckIn was successfully created.\","
	                 "\"Value\":{\"Id\":87654321,\"Name\":null},\"OpenInDialog\":false,"
	                 "\"RedirectURL\":null,\"WasSuccessful\":true,\"Errors\":null}",
	                 &e),
	        0);
	assert_true(e.was_successful);
	assert_int_equal(e.status, 200);
	assert_int_equal(e.value_id, 87654321);
	assert_int_equal(e.n_errors, 0);
	assert_string_equal(e.reason, "CheckIn was successfully created.");
}

static void test_a_refused_write_gives_a_reason_without_the_attempted_value(void **state)
{
	struct nexudus_envelope e;
	assert_int_equal(
	        envelope("{\"Status\":400,\"Message\":\"The record could not be saved.\","
	                 "\"Value\":null,\"WasSuccessful\":false,\"Errors\":["
	                 "{\"AttemptedValue\":\"482913\",\"Message\":\"Pin '482913' is already "
	                 "used\",\"PropertyName\":\"AccessPincode\"},"
	                 "{\"AttemptedValue\":null,\"Message\":\"The FromTime field is required.\","
	                 "\"PropertyName\":\"FromTime\"},"
	                 "{\"AttemptedValue\":99001,\"Message\":\"No coworker 99001\","
	                 "\"PropertyName\":\"CoworkerId\"}]}",
	                 &e),
	        0);
	assert_false(e.was_successful);
	assert_int_equal(e.status, 400);
	assert_int_equal(e.n_errors, 3);
	assert_string_equal(e.reason, "The record could not be saved.; "
	                              "AccessPincode: Pin '***' is already used; "
	                              "FromTime: The FromTime field is required.; "
	                              "CoworkerId: No coworker ***");
}

static void test_a_reason_holds_no_control_or_bidi_characters(void **state)
{
	struct nexudus_envelope e;
	assert_int_equal(envelope("{\"WasSuccessful\":false,\"Message\":\"bad\\n\\u001b[2Jline "
	                          "\\u202eevil\\u2028x\",\"Errors\":[{\"PropertyName\":"
	                          "\"Na\\tme\",\"Message\":null}]}",
	                          &e),
	                 0);
	assert_string_equal(e.reason, "bad  [2Jline  evil x; Na me: refused");
}

static void test_many_errors_are_counted_and_the_reason_stays_bounded(void **state)
{
	char text[16384] = "{\"WasSuccessful\":false,\"Errors\":[";
	for (int i = 0; i < 30; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		         "%s{\"PropertyName\":\"Field%d\",\"Message\":\"%0200d\"}", i ? "," : "", i,
		         0);
	strcat(text, "]}");
	struct nexudus_envelope e;
	assert_int_equal(envelope(text, &e), 0);
	assert_int_equal(e.n_errors, 30);
	assert_true(strlen(e.reason) < NEXUDUS_REASON_MAX);
	assert_non_null(strstr(e.reason, "Field0: 000"));
	assert_int_equal(envelope("{\"WasSuccessful\":false,\"Errors\":["
	                          "{},{},{},{},{},{},{},{},{},{}]}",
	                          &e),
	                 0);
	assert_non_null(strstr(e.reason, "; and 2 more"));
}

static void test_malformed_envelopes_name_the_member(void **state)
{
	static const struct {
		const char *text, *named;
	} cases[] = {
	        {"{\"Status\":400}", "WasSuccessful: missing"},
	        {"{\"WasSuccessful\":\"true\"}", "WasSuccessful: must be true or false"},
	        {"{\"WasSuccessful\":false,\"Status\":\"400\"}", "Status: must be a whole number"},
	        {"{\"WasSuccessful\":false,\"Message\":12}", "Message: must be a string or null"},
	        {"{\"WasSuccessful\":false,\"Errors\":{}}", "Errors: must be an array or null"},
	        {"{\"WasSuccessful\":false,\"Errors\":[{},3]}", "Errors[1]: must be an object"},
	        {"{\"WasSuccessful\":false,\"Errors\":[{},{\"PropertyName\":[]}]}",
	         "Errors[1].PropertyName: must be a string or null"},
	        {"{\"WasSuccessful\":false,\"Errors\":[{\"Message\":true}]}",
	         "Errors[0].Message: must be a string or null"},
	        {"{\"WasSuccessful\":true,\"Value\":{\"Id\":\"abc\"}}",
	         "Value.Id: must be a whole"},
	        {"{\"WasSuccessful\":true,\"WasSuccessful\":false}", "twice"},
	        {"\"WasSuccessful\"", "must be a JSON object"},
	        {"{\"WasSuccessful\":true} {}", "not valid JSON"},
	        {"{\"WasSuccessful\":tru}", "not valid JSON"},
	        {"", "ends early"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nexudus_envelope e;
		int r = envelope(cases[i].text, &e);
		if (r != -EINVAL || !strstr(err, cases[i].named))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err,
			         cases[i].named);
	}
}

static void test_an_envelope_cut_short_or_too_big_or_deep_is_refused(void **state)
{
	const char *text =
	        "{\"Status\":400,\"Message\":\"x\",\"WasSuccessful\":false,\"Errors\":"
	        "[{\"AttemptedValue\":\"4821\",\"Message\":\"m\",\"PropertyName\":\"p\"}]}";
	struct nexudus_envelope e;
	for (size_t n = 0; n < strlen(text); n++)
		if (nexudus_envelope_parse(text, n, &e, err, sizeof(err)) != -EINVAL ||
		    strstr(err, "4821"))
			fail_msg("cut at %zu: err=\"%s\"", n, err);
	size_t len = NEXUDUS_ENVELOPE_REPLY_MAX + 1;
	char *big = malloc(len);
	memset(big, ' ', len);
	assert_int_equal(nexudus_envelope_parse(big, len, &e, err, sizeof(err)), -E2BIG);
	free(big);
	char deep[256] = "{\"WasSuccessful\":true,\"Value\":";
	for (int i = 0; i < 30; i++)
		strcat(deep, "{\"a\":");
	assert_int_equal(envelope(deep, &e), -EINVAL);
	assert_non_null(strstr(err, "nested deeper"));
}

/* ---- Pages -------------------------------------------------------------- */

struct got {
	size_t n;
	struct nexudus_record records[8];
	int stop_at; /* return -ECANCELED at this record (-1: never) */
};

static int collect(void *userdata, const struct nexudus_record *record)
{
	struct got *g = userdata;
	if ((int)g->n == g->stop_at)
		return -ECANCELED;
	if (g->n < 8)
		g->records[g->n] = *record;
	g->n++;
	return 0;
}

static int page(const char *text, enum nexudus_kind kind, struct got *g, struct nexudus_page *p)
{
	memset(g, 0, sizeof(*g));
	g->stop_at = -1;
	err[0] = '\0';
	return nexudus_page_parse(text, strlen(text), kind, collect, g, p, err, sizeof(err));
}

#define PAGE(records)                                                                      \
	"{\"Records\":[" records "],\"CurrentPageSize\":25,\"CurrentPage\":1,"             \
	"\"CurrentOrderField\":\"Id\",\"CurrentSortDirection\":1,\"FirstItem\":1,"         \
	"\"HasPreviousPage\":false,\"HasNextPage\":true,\"LastItem\":2,\"TotalItems\":40," \
	"\"TotalPages\":2}"

static const char coworkers[] = PAGE(
        "{\"Id\":1001,\"CoworkerType\":1,\"Businesses\":[7],\"Teams\":[],\"FullName\":\"Ana "
        "Souza\",\"Email\":\"ana@example.com\",\"AccessPincode\":\"482913\","
        "\"AccessCardId\":\"04A1B2C3\",\"KeyFobNumber\":null,\"Active\":true,"
        "\"CustomFields\":{\"Data\":[{\"Name\":\"x\",\"Value\":null}]},"
        "\"UpdatedOn\":\"2026-11-20T10:30:00.4170000Z\",\"CreatedOn\":\"2025-01-10T08:00:00Z\"},"
        "{\"Id\":1002,\"FullName\":null,\"AccessPincode\":null,\"AccessCardId\":null,"
        "\"Archived\":true,\"Active\":null,\"UpdatedOn\":null}");

static void test_a_coworker_page_gives_each_record_and_the_paging(void **state)
{
	struct got g;
	struct nexudus_page p;
	assert_int_equal(page(coworkers, NEXUDUS_COWORKERS, &g, &p), 0);
	assert_int_equal(p.records, 2);
	assert_int_equal(p.total_items, 40);
	assert_int_equal(p.total_pages, 2);
	assert_int_equal(p.current_page, 1);
	assert_true(p.has_next_page);
	const struct nexudus_coworker *a = &g.records[0].coworker, *b = &g.records[1].coworker;
	assert_int_equal(g.records[1].index, 1);
	assert_int_equal(a->id, 1001);
	assert_string_equal(a->full_name, "Ana Souza");
	assert_string_equal(a->pin, "482913");
	assert_string_equal(a->access_card_id, "04A1B2C3");
	assert_true(a->active);
	assert_false(a->archived);
	assert_int_equal(a->updated_on, 1795170600); /* 2026-11-20T10:30:00Z */
	assert_int_equal(b->id, 1002);
	assert_string_equal(b->full_name, "");
	assert_string_equal(b->pin, "");
	assert_true(b->active); /* null keeps the default */
	assert_true(b->archived);
	assert_true(b->updated_on == INT64_MIN);
}

static void test_a_visitor_page_gives_codes_and_times(void **state)
{
	struct got g;
	struct nexudus_page p;
	assert_int_equal(
	        page("{\"Records\":[{\"Id\":2001,\"FullName\":\"Vera "
	             "Visitor\",\"Email\":\"v@x.io\","
	             "\"CoworkerId\":1001,\"ExpectedArrival\":\"2026-11-25T09:00:00+01:00\","
	             "\"VisitorCode\":\"731406\",\"Arrived\":true,"
	             "\"ArrivalDate\":\"2026-11-25T08:05:00Z\",\"DepartureDate\":null},"
	             "{\"Id\":2002,\"FullName\":\"No Date\",\"CoworkerId\":null,"
	             "\"ExpectedArrival\":null,\"VisitorCode\":null}],"
	             "\"TotalItems\":2,\"TotalPages\":1,\"HasNextPage\":false}",
	             NEXUDUS_VISITORS, &g, &p),
	        0);
	assert_false(p.has_next_page);
	assert_int_equal(p.current_page, 0);
	const struct nexudus_visitor *v = &g.records[0].visitor, *w = &g.records[1].visitor;
	assert_int_equal(v->id, 2001);
	assert_int_equal(v->coworker_id, 1001);
	assert_string_equal(v->visitor_code, "731406");
	assert_int_equal(v->expected_arrival, 1795593600); /* 2026-11-25T08:00:00Z */
	assert_true(v->arrived);
	assert_int_equal(v->arrival_date, 1795593900);
	assert_true(v->departure_date == INT64_MIN);
	assert_int_equal(w->coworker_id, 0);
	assert_true(w->expected_arrival == INT64_MIN);
	assert_false(w->arrived);
}

static void test_a_checkin_page_tells_open_from_closed(void **state)
{
	struct got g;
	struct nexudus_page p;
	assert_int_equal(
	        page(PAGE("{\"Id\":5,\"BusinessId\":7,\"CoworkerId\":1001,\"Source\":2,"
	                  "\"FromTime\":\"2026-11-25T08:00:00Z\",\"ToTime\":null},"
	                  "{\"Id\":6,\"CoworkerId\":1002,\"FromTime\":"
	                  "\"2026-11-25T08:00:00.5Z\",\"ToTime\":\"2026-11-25T17:30:00Z\"}"),
	             NEXUDUS_CHECKINS, &g, &p),
	        0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.records[0].checkin.from_time, 1795593600);
	assert_true(g.records[0].checkin.to_time == INT64_MIN);
	assert_int_equal(g.records[1].checkin.from_time, 1795593600);
	assert_int_equal(g.records[1].checkin.to_time, 1795593600 + 9 * 3600 + 1800);
	assert_int_equal(g.records[1].checkin.coworker_id, 1002);
}

static void test_an_empty_page_is_fine(void **state)
{
	struct got g;
	struct nexudus_page p;
	assert_int_equal(page("{\"Records\":[],\"TotalItems\":0,\"TotalPages\":0,"
	                      "\"HasNextPage\":false}",
	                      NEXUDUS_CHECKINS, &g, &p),
	                 0);
	assert_int_equal(g.n, 0);
}

static void test_malformed_pages_name_the_record_and_member(void **state)
{
	static const struct {
		enum nexudus_kind kind;
		const char *text, *named;
	} cases[] = {
	        {NEXUDUS_CHECKINS,
	         PAGE("{\"Id\":1,\"FromTime\":\"2026-11-25T08:00:00Z\"},{\"Id\":2,\"FromTime\":"
	              "\"2026-11-25T08:00:00Z\"},{\"Id\":3,\"FromTime\":\"2026-11-25T08:00:00Z\"},"
	              "{\"Id\":4,\"FromTime\":\"yesterday\"}"),
	         "Records[3].FromTime: not a time"},
	        {NEXUDUS_CHECKINS, PAGE("{\"Id\":4,\"FromTime\":\"2026-11-25T08:00:00\"}"),
	         "Records[0].FromTime: not a time"}, /* no zone */
	        {NEXUDUS_CHECKINS, PAGE("{\"Id\":4,\"FromTime\":\"2026-02-30T08:00:00Z\"}"),
	         "Records[0].FromTime: not a time"},
	        {NEXUDUS_CHECKINS, PAGE("{\"Id\":4,\"FromTime\":null}"),
	         "Records[0].FromTime: not a time"},
	        {NEXUDUS_CHECKINS, PAGE("{\"Id\":4}"), "Records[0].FromTime: missing"},
	        {NEXUDUS_CHECKINS,
	         PAGE("{\"Id\":4,\"FromTime\":\"2026-11-25T08:00:00Z\","
	              "\"ToTime\":17}"),
	         "Records[0].ToTime: not a time"},
	        {NEXUDUS_CHECKINS,
	         PAGE("{\"Id\":4,\"FromTime\":\"2026-11-25T08:00:00Z\","
	              "\"CoworkerId\":\"1001\"}"),
	         "Records[0].CoworkerId: must be a whole number"},
	        {NEXUDUS_COWORKERS, PAGE("{\"FullName\":\"x\"}"), "Records[0].Id: missing"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":\"1001\"}"), "Records[0].Id: must be a whole"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":0}"), "Records[0].Id: must be a whole"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":-3}"), "Records[0].Id"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1.5}"), "Records[0].Id"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1e3}"), "Records[0].Id"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":99999999999999999999}"), "Records[0].Id"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1,\"FullName\":[\"a\"]}"),
	         "Records[0].FullName: must be a string or null"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1,\"Active\":\"yes\"}"),
	         "Records[0].Active: must be true or false"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1,\"AccessPincode\":\"12\\u00003\"}"),
	         "$.Records[0].AccessPincode: \\u0000 (NUL)"},
	        {NEXUDUS_VISITORS, PAGE("{\"Id\":1,\"Arrived\":1}"),
	         "Records[0].Arrived: must be true or false"},
	        {NEXUDUS_VISITORS, PAGE("{\"Id\":1,\"ExpectedArrival\":\"2026-11-25\"}"),
	         "Records[0].ExpectedArrival: not a time"},
	        {NEXUDUS_VISITORS, PAGE("{\"Id\":1},7"), "Records[1]: must be an object"},
	        {NEXUDUS_VISITORS, "{\"Records\":{},\"TotalItems\":0}",
	         "Records: must be an array"},
	        {NEXUDUS_VISITORS, "{\"Records\":null}", "Records: must be an array"},
	        {NEXUDUS_VISITORS, "{\"Records\":[],\"TotalPages\":0,\"HasNextPage\":false}",
	         "TotalItems: missing"},
	        {NEXUDUS_VISITORS, "{\"TotalItems\":0,\"TotalPages\":0,\"HasNextPage\":false}",
	         "Records: missing"},
	        {NEXUDUS_VISITORS,
	         "{\"Records\":[],\"TotalItems\":0,\"TotalPages\":0,\"HasNextPage\":\"no\"}",
	         "HasNextPage: must be true or false"},
	        {NEXUDUS_VISITORS,
	         "{\"Records\":[],\"TotalItems\":-1,\"TotalPages\":0,\"HasNextPage\":false}",
	         "TotalItems: must be a whole number"},
	        {NEXUDUS_VISITORS, "[]", "must be a JSON object"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1,\"Id\":2}"), "twice"},
	        {NEXUDUS_COWORKERS, PAGE("{\"Id\":1,\"FullName\":\"\xc0\xaf\"}"), "not valid JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g;
		struct nexudus_page p;
		int r = page(cases[i].text, cases[i].kind, &g, &p);
		if (r != -EINVAL || !strstr(err, cases[i].named))
			fail_msg("case %zu: r=%d err=\"%s\", wanted \"%s\"", i, r, err,
			         cases[i].named);
	}
}

static void test_a_pin_of_the_wrong_type_or_length_is_never_echoed(void **state)
{
	struct got g;
	struct nexudus_page p;
	assert_int_equal(
	        page(PAGE("{\"Id\":1,\"AccessPincode\":482913}"), NEXUDUS_COWORKERS, &g, &p),
	        -EINVAL);
	assert_non_null(strstr(err, "Records[0].AccessPincode: must be a string or null"));
	assert_null(strstr(err, "482913"));
	/* Too long for a credential: kept out, flagged, not an error. */
	assert_int_equal(
	        page(PAGE("{\"Id\":1,\"AccessPincode\":"
	                  "\"12345678901234567890123456789012345678901234567890123456789012"
	                  "345\",\"VisitorCode\":\"x\"}"),
	             NEXUDUS_COWORKERS, &g, &p),
	        0);
	assert_true(g.records[0].coworker.pin_too_long);
	assert_string_equal(g.records[0].coworker.pin, "");
	/* An error after a PIN does not carry it. */
	assert_int_equal(page(PAGE("{\"Id\":1,\"AccessPincode\":\"482913\",\"Active\":0}"),
	                      NEXUDUS_COWORKERS, &g, &p),
	                 -EINVAL);
	assert_null(strstr(err, "482913"));
}

static void test_a_long_name_is_cut_at_a_character(void **state)
{
	char text[2048], name[600] = "";
	for (int i = 0; i < 200; i++)
		strcat(name, "\xc3\xa9"); /* 400 bytes of e-acute */
	snprintf(text, sizeof(text), PAGE("{\"Id\":1,\"FullName\":\"a%s\"}"), name);
	struct got g;
	struct nexudus_page p;
	assert_int_equal(page(text, NEXUDUS_COWORKERS, &g, &p), 0);
	assert_int_equal(strlen(g.records[0].coworker.full_name), NEXUDUS_NAME_MAX - 1);
}

static void test_the_callback_can_stop_the_page(void **state)
{
	struct got g = {.stop_at = 1};
	struct nexudus_page p;
	assert_int_equal(nexudus_page_parse(coworkers, strlen(coworkers), NEXUDUS_COWORKERS,
	                                    collect, &g, &p, err, sizeof(err)),
	                 -ECANCELED);
	assert_int_equal(g.n, 1);
	assert_string_equal(err, "Records[1]: not taken: Operation canceled");
	assert_int_equal(nexudus_page_parse(coworkers, strlen(coworkers), 7, collect, &g, &p, err,
	                                    sizeof(err)),
	                 -EINVAL);
}

static void test_a_page_cut_short_is_refused_at_every_byte(void **state)
{
	for (size_t n = 0; n < strlen(coworkers); n++) {
		struct got g = {.stop_at = -1};
		struct nexudus_page p;
		int r = nexudus_page_parse(coworkers, n, NEXUDUS_COWORKERS, collect, &g, &p, err,
		                           sizeof(err));
		if (r != -EINVAL || strstr(err, "482913") || strstr(err, "04A1B2C3"))
			fail_msg("cut at %zu: r=%d err=\"%s\"", n, r, err);
	}
}

static void test_an_oversized_or_deep_page_is_refused(void **state)
{
	size_t len = NEXUDUS_PAGE_REPLY_MAX + 1;
	char *big = malloc(len);
	struct got g = {.stop_at = -1};
	struct nexudus_page p;
	memset(big, ' ', len);
	assert_int_equal(
	        nexudus_page_parse(big, len, NEXUDUS_VISITORS, collect, &g, &p, err, sizeof(err)),
	        -E2BIG);
	assert_non_null(strstr(err, "at most 8388608"));
	free(big);
	char deep[512] = "{\"Records\":[{\"Id\":1,\"CustomFields\":";
	for (int i = 0; i < 20; i++)
		strcat(deep, "[");
	for (int i = 0; i < 20; i++)
		strcat(deep, "]");
	strcat(deep, "}],\"TotalItems\":1,\"TotalPages\":1,\"HasNextPage\":false}");
	assert_int_equal(page(deep, NEXUDUS_VISITORS, &g, &p), -EINVAL);
	assert_non_null(strstr(err, "Records[0].CustomFields"));
	assert_non_null(strstr(err, "nested deeper than 16"));
}

static void test_times_with_fractions_and_offsets(void **state)
{
	static const struct {
		const char *text;
		int64_t want; /* INT64_MIN: refused */
	} cases[] = {
	        {"2026-11-25T08:00:00Z", 1795593600},
	        {"2026-11-25T08:00:00.1234567Z", 1795593600},
	        {"2026-11-25T09:30:00+01:30", 1795593600},
	        {"2026-11-25T03:00:00-05:00", 1795593600},
	        {"2026-11-25T08:00:00", INT64_MIN},
	        {"2026-11-25T08:00:00.Z", INT64_MIN},
	        {"2026-11-25T08:00:00.12345678Z", INT64_MIN},
	        {"2026-11-25T08:00:00+0100", INT64_MIN},
	        {"2026-11-25T08:00:00+24:00", INT64_MIN},
	        {"2026-11-25T08:00:00z", INT64_MIN},
	        {"2026-11-25 08:00:00Z", INT64_MIN},
	        {"2026-11-25T08:00:00Zx", INT64_MIN},
	        {"", INT64_MIN},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = 0;
		int r = nexudus_time_parse(cases[i].text, strlen(cases[i].text), &t);
		if (cases[i].want == INT64_MIN ? r != -EINVAL : r != 0 || t != cases[i].want)
			fail_msg("\"%s\": r=%d t=%lld", cases[i].text, r, (long long)t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_a_token_reply_gives_both_tokens_and_the_lifetime),
	        cmocka_unit_test(test_a_refresh_reply_may_come_without_a_refresh_token),
	        cmocka_unit_test(test_invalid_grant_is_a_refusal_of_the_credentials),
	        cmocka_unit_test(test_unsupported_grant_type_is_a_protocol_error),
	        cmocka_unit_test(test_malformed_token_replies_name_the_member),
	        cmocka_unit_test(test_a_token_reply_cut_short_is_refused_at_every_byte),
	        cmocka_unit_test(test_an_oversized_or_deep_token_reply_is_refused),
	        cmocka_unit_test(test_a_successful_write_gives_the_new_record_id),
	        cmocka_unit_test(test_a_refused_write_gives_a_reason_without_the_attempted_value),
	        cmocka_unit_test(test_a_reason_holds_no_control_or_bidi_characters),
	        cmocka_unit_test(test_many_errors_are_counted_and_the_reason_stays_bounded),
	        cmocka_unit_test(test_malformed_envelopes_name_the_member),
	        cmocka_unit_test(test_an_envelope_cut_short_or_too_big_or_deep_is_refused),
	        cmocka_unit_test(test_a_coworker_page_gives_each_record_and_the_paging),
	        cmocka_unit_test(test_a_visitor_page_gives_codes_and_times),
	        cmocka_unit_test(test_a_checkin_page_tells_open_from_closed),
	        cmocka_unit_test(test_an_empty_page_is_fine),
	        cmocka_unit_test(test_malformed_pages_name_the_record_and_member),
	        cmocka_unit_test(test_a_pin_of_the_wrong_type_or_length_is_never_echoed),
	        cmocka_unit_test(test_a_long_name_is_cut_at_a_character),
	        cmocka_unit_test(test_the_callback_can_stop_the_page),
	        cmocka_unit_test(test_a_page_cut_short_is_refused_at_every_byte),
	        cmocka_unit_test(test_an_oversized_or_deep_page_is_refused),
	        cmocka_unit_test(test_times_with_fractions_and_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
