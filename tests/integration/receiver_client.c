/* SPDX-License-Identifier: MIT */
/* receiver_client.c: the webhook receiver's control endpoint. See receiver_client.h. */
#include "receiver_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "porter_fixture.h"

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	char *grown = realloc(b->data, b->len + size * n + 1);

	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, p, size * n);
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

json_object *receiver_control(const char *method, const char *path, const char *body)
{
	char url[1024];
	struct buf b = {0};
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", fx_env("MOCK_WEBHOOK_CONTROL"), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, fx_env("MOCK_CA"));
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L); /* valgrind: the first handshake is slow */
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK || status != 200)
		fail_msg("receiver control %s %s: %s, HTTP %ld", method, path,
		         curl_easy_strerror(rc), status);
	json_object *j = json_tokener_parse(b.data ? b.data : "");
	free(b.data);
	assert_non_null(j);
	return j;
}

void receiver_reset(void)
{
	json_object_put(receiver_control("POST", "/reset", "{}"));
}

void receiver_fault(const char *spec)
{
	json_object_put(receiver_control("POST", "/faults", spec));
}

json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in the receiver's answer", key);
	return v;
}

const char *str(json_object *o, const char *key)
{
	return json_object_get_string(member(o, key));
}

json_object *receiver_deliveries(void)
{
	return receiver_control("GET", "/deliveries", NULL);
}

size_t receiver_n_deliveries(void)
{
	json_object *d = receiver_deliveries();
	size_t n = json_object_array_length(member(d, "deliveries"));

	json_object_put(d);
	return n;
}

json_object *receiver_requests(void)
{
	json_object *r = receiver_control("GET", "/requests", NULL);
	json_object *list = NULL;

	/* Either a bare list or {"requests": [...]}. */
	if (json_object_is_type(r, json_type_array))
		return r;
	list = json_object_get(member(r, "requests"));
	json_object_put(r);
	return list;
}

size_t receiver_n_requests(void)
{
	json_object *r = receiver_requests();
	size_t n = json_object_array_length(r);

	json_object_put(r);
	return n;
}
