/* SPDX-License-Identifier: MIT */
/*
 * http_client.c: libcurl's multi-socket interface on the host's loop.
 *
 * Shape: one CURLM per client. libcurl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION: one host watch per socket, its state hung on the
 * socket with curl_multi_assign) and when to call it back
 * (CURLMOPT_TIMERFUNCTION). The socket callback only touches host watches,
 * the timer callback only notes the deadline; neither calls libcurl. Watch
 * and timer callbacks call curl_multi_socket_action() and then hand finished
 * transfers to their callers, outside any libcurl callback, so a caller may
 * start, cancel or free from there.
 *
 * The host timer is lazy (timer_sync): libcurl moves its deadline several
 * times per request, and every host timer_add or timer_remove may be a
 * system call (timerfd_settime on the reference host: the largest single
 * cost of a delivery before this). A timer already armed no later than the
 * deadline is kept and may fire early: the client then only re-arms. A new
 * request is started at once (socket_action from http_client_request, where
 * no libcurl callback is running), not from a zero timer at the loop's next
 * turn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http_client.h"
#include "log.h"

#ifndef PORTER_VERSION
#define PORTER_VERSION "0"
#endif

#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_TOTAL_TIMEOUT_MS   30000u
#define DEFAULT_MAX_RESPONSE       (1024u * 1024u)
#define MAX_CA_BUNDLE              (16u * 1024u * 1024u)
#define ERROR_TEXT_MAX             256

/* One socket libcurl asked us to watch. */
struct http_sock {
	struct http_client *client;
	curl_socket_t fd;
	int64_t watch_id;
	struct http_sock *prev, *next;
};

/* One request in flight. */
struct http_req {
	struct http_client *client;
	uint64_t id;
	CURL *easy;
	/* The request's header lines and body, copied: both may hold secrets
	 * (a bearer token, a password grant) and are wiped when it ends. The
	 * body is handed to libcurl by pointer (CURLOPT_POSTFIELDS), so libcurl
	 * holds no copy of it that porter cannot wipe. */
	struct curl_slist *headers;
	char *req_body;
	size_t req_body_len;
	http_done_fn done;
	void *userdata;
	char *body; /* response body so far, NUL-terminated */
	size_t body_len, body_cap, max_response;
	bool too_large;
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	struct http_req *prev, *next;
};

struct http_client {
	const struct porter_host_services *services;
	CURLM *multi;
	int64_t timer_id;
	int64_t handover_id;  /* zero timer: a transfer finished inside a request call */
	uint64_t armed_at_us; /* when timer_id fires (now_us time) */
	bool want_timer;      /* libcurl wants a call at want_at_us */
	uint64_t want_at_us;
	uint64_t last_id;
	struct http_req *reqs;
	struct http_sock *socks;
	size_t n_reqs;

	/* TLS session cache shared by this client's requests (loop thread
	 * only, so no lock callbacks). */
	CURLSH *share;
	/* The trusted CAs, parsed once; every connection's SSL_CTX shares it. */
	X509_STORE *ca_store;
	char *pins;
	char *user_agent;
	/* The last URL check_url accepted: a backend posts to one URL again
	 * and again, and parsing it costs more than comparing it. */
	char *url_ok;
	uint32_t connect_timeout_ms, total_timeout_ms;
	size_t max_response;
	bool keep_alive;
	bool resolver_async;

	/* Dispatch depth: a caller's callback may free the client; the struct
	 * itself then goes when the outermost dispatch returns. */
	unsigned depth;
	bool dying;
};

/* ---- global set-up ------------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

/* Once per process and never undone: porter.so is linked -z nodelete, so
 * libcurl stays loaded as long as the host runs, and a curl_global_cleanup()
 * could pull OpenSSL out from under another user of it in the host. The
 * once guards porter's own calls; a host (or another plugin) calling
 * curl_global_init on another thread at the same time is safe only with
 * CURL_VERSION_THREADSAFE, which Debian 12's libcurl 7.88 has (checked in
 * http_client_new, which says so when it is missing). */
static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl >= 7.87 sends on every socket (TLS through its own BIO) with
 * MSG_NOSIGNAL. Older ones may write through OpenSSL's socket BIO, which can
 * raise SIGPIPE; only then, and only when nobody chose a disposition (the
 * default kills the daemon), ignore it. */
static void guard_sigpipe(const struct porter_host_services *services,
                          const curl_version_info_data *info)
{
	struct sigaction old;

	if (info->version_num >= 0x075700)
		return;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO)) {
		signal(SIGPIPE, SIG_IGN);
		plog(services, PORTER_LOG_NOTICE,
		     "http: libcurl %s may raise SIGPIPE on a reset connection: SIGPIPE is now "
		     "ignored",
		     info->version);
	}
}

/* ---- watches and the timer (libcurl's callbacks) ----------------------- */

static void client_enter(struct http_client *c)
{
	c->depth++;
}

/* The last of a freed client. The share goes after every easy handle that
 * used it: a client freed from a request's callback still holds that
 * request's handle until the callback returns. */
static void client_release(struct http_client *c)
{
	if (c->share)
		curl_share_cleanup(c->share);
	free(c);
}

/* Returns false when the client was freed during the dispatch. */
static bool client_leave(struct http_client *c)
{
	c->depth--;
	if (c->depth == 0 && c->dying) {
		client_release(c);
		return false;
	}
	return !c->dying;
}

static void process_done(struct http_client *c);
static void timer_sync(struct http_client *c);

static void on_io(void *userdata, int fd, uint32_t revents)
{
	struct http_sock *s = userdata;
	struct http_client *c = s->client; /* s may go inside socket_action */
	int flags = 0, running;

	if (revents & (PORTER_IO_IN | PORTER_IO_HUP))
		flags |= CURL_CSELECT_IN;
	if (revents & PORTER_IO_OUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & PORTER_IO_ERR)
		flags |= CURL_CSELECT_ERR;
	client_enter(c);
	curl_multi_socket_action(c->multi, fd, flags, &running);
	process_done(c);
	if (client_leave(c))
		timer_sync(c);
}

static uint64_t now_us(const struct http_client *c)
{
	return c->services->now_us(c->services->host);
}

static void on_timer(void *userdata);

/* After every call into libcurl (outside its callbacks): a host timer at or
 * before libcurl's deadline. An armed timer that is early enough is kept,
 * and one libcurl no longer needs is left to fire once for nothing: both
 * cheaper than the system calls of moving it. */
static void timer_sync(struct http_client *c)
{
	if (!c->want_timer || (c->timer_id > 0 && c->armed_at_us <= c->want_at_us))
		return;
	if (c->timer_id > 0)
		c->services->timer_remove(c->services->host, c->timer_id);
	uint64_t now = now_us(c), delay = c->want_at_us > now ? c->want_at_us - now : 0;
	c->timer_id = c->services->timer_add(c->services->host, delay, on_timer, c);
	if (c->timer_id < 0) {
		plog(c->services, PORTER_LOG_ERROR, "http: the host refused a timer (%s)",
		     strerror((int)-c->timer_id));
		c->timer_id = 0;
		return;
	}
	/* A timer armed with no delay fires at the loop's next turn, as early
	 * as any deadline can be served: a due deadline noted a moment before
	 * (want_at_us slightly in the past) must not look later than it. */
	c->armed_at_us = delay ? now + delay : 0;
}

static void on_timer(void *userdata)
{
	struct http_client *c = userdata;
	int running;

	c->timer_id = 0;
	/* Early (an armed timer kept, see timer_sync) or not needed: re-arm
	 * only. libcurl's timeouts are in ms: within one, it is due. */
	if (!c->want_timer || c->want_at_us > now_us(c) + 1000) {
		timer_sync(c);
		return;
	}
	c->want_timer = false; /* libcurl sets the next one during the call */
	client_enter(c);
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	process_done(c);
	if (client_leave(c))
		timer_sync(c);
}

static void sock_forget(struct http_client *c, struct http_sock *s)
{
	if (s->watch_id > 0)
		c->services->watch_remove(c->services->host, s->watch_id);
	if (s->prev)
		s->prev->next = s->next;
	else
		c->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: never calls back into libcurl but for
 * curl_multi_assign, which is meant for this place. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *s = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_forget(c, s);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= PORTER_IO_IN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= PORTER_IO_OUT;
	if (s)
		return c->services->watch_update(c->services->host, s->watch_id, events) < 0 ? -1
		                                                                             : 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->client = c;
	s->fd = fd;
	s->watch_id = c->services->watch_add(c->services->host, fd, events, on_io, s);
	if (s->watch_id < 0) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: the host refused a watch on a socket (%s)",
		     strerror((int)-s->watch_id));
		free(s);
		return -1;
	}
	s->next = c->socks;
	if (c->socks)
		c->socks->prev = s;
	c->socks = s;
	curl_multi_assign(c->multi, fd, s);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: notes libcurl's deadline (-1: none); the host
 * timer follows in timer_sync, after libcurl returns. libcurl calls this
 * only when its deadline changes, so the note is always its latest. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;

	c->want_timer = timeout_ms >= 0;
	if (c->want_timer)
		c->want_at_us = now_us(c) + (uint64_t)timeout_ms * 1000u;
	return 0;
}

/* ---- a transfer's data ------------------------------------------------- */

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct http_req *r = userdata;
	size_t len = size * n, max = r->max_response;

	if (len > max - r->body_len) {
		r->too_large = true;
		return 0; /* CURLE_WRITE_ERROR: the transfer stops here */
	}
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		while (cap < r->body_len + len + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		/* Not realloc: the old block is wiped before it is freed. */
		char *grown = malloc(cap);
		if (!grown)
			return 0;
		if (r->body) {
			memcpy(grown, r->body, r->body_len + 1);
			OPENSSL_cleanse(r->body, r->body_cap);
			free(r->body);
		}
		r->body = grown;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct http_req *r = userdata;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	/* A new status line starts a new header block (after a 100 Continue). */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
		r->retry_after[0] = '\0';
	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1, *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		size_t vlen = (size_t)(end - v);
		if (vlen < sizeof(r->retry_after)) {
			memcpy(r->retry_after, v, vlen);
			r->retry_after[vlen] = '\0';
		}
	}
	return len;
}

int64_t http_parse_retry_after(const char *value, int64_t now)
{
	if (!value || !*value)
		return -1;
	if (value[0] >= '0' && value[0] <= '9') {
		char *end;
		errno = 0;
		unsigned long long s = strtoull(value, &end, 10);
		if (errno || *end != '\0' || s > INT64_MAX)
			return -1;
		return (int64_t)s;
	}
	/* An HTTP-date (IMF-fixdate, or the obsolete forms curl_getdate reads). */
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t > now ? (int64_t)t - now : 0;
}

/* ---- finishing a request ----------------------------------------------- */

static void req_unlink(struct http_client *c, struct http_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	c->n_reqs--;
}

/* Wipes the header lines (curl_slist_append's copies) before freeing. */
static void headers_free(struct curl_slist *headers)
{
	for (struct curl_slist *l = headers; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(headers);
}

/* Takes the transfer out of libcurl and frees it; no callback. The request's
 * headers and body and the response (a token reply holds a token) are wiped
 * first. */
static void req_destroy(struct http_client *c, struct http_req *r)
{
	curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_cleanup(r->easy);
	headers_free(r->headers);
	if (r->req_body)
		OPENSSL_cleanse(r->req_body, r->req_body_len);
	free(r->req_body);
	if (r->body)
		OPENSSL_cleanse(r->body, r->body_cap);
	free(r->body);
	free(r);
}

/* Whether a failed transfer may have reached the server: once libcurl got
 * past connect and TLS (pretransfer time set), request bytes may be out. */
static bool req_was_sent(struct http_req *r)
{
	curl_off_t pretransfer = 0;

	curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	return pretransfer > 0;
}

static void req_describe(struct http_req *r, CURLcode result, struct http_response *resp,
                         char *error, size_t error_len)
{
	const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(result);

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->curl_result = (int)result;
	resp->retry_after_s = http_parse_retry_after(r->retry_after, (int64_t)time(NULL));
	resp->too_large = r->too_large || result == CURLE_FILESIZE_EXCEEDED;
	if (result == CURLE_OK) {
		resp->outcome = HTTP_OK;
		error[0] = '\0';
	} else if (resp->too_large) {
		resp->outcome = HTTP_FAIL_AMBIGUOUS;
		snprintf(error, error_len, "response larger than %zu bytes: transfer aborted",
		         r->max_response);
	} else if (req_was_sent(r)) {
		resp->outcome = HTTP_FAIL_AMBIGUOUS;
		snprintf(error, error_len,
		         "%.180s (after the request was sent: it may have arrived)", why);
	} else {
		resp->outcome = HTTP_FAIL_NOT_SENT;
		snprintf(error, error_len, "%.180s (not sent)", why);
	}
	resp->ambiguous = resp->outcome == HTTP_FAIL_AMBIGUOUS;
	resp->error = error;
	resp->body = r->body ? r->body : "";
	resp->body_len = r->body_len;
}

static void process_done(struct http_client *c)
{
	CURLMsg *msg;
	int queued;

	while (!c->dying && (msg = curl_multi_info_read(c->multi, &queued))) {
		struct http_req *r = NULL;
		struct http_response resp = {0};
		char error[ERROR_TEXT_MAX];

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		/* msg goes with the handle: read the result first. */
		req_describe(r, msg->data.result, &resp, error, sizeof(error));
		req_unlink(c, r);
		curl_multi_remove_handle(c->multi, r->easy);
		r->done(r->userdata, &resp);
		req_destroy(c, r);
	}
}

/* ---- construction ------------------------------------------------------ */

static bool valid_pins(const char *pins)
{
	const char *p = pins;
	int n = 0;

	for (;;) {
		if (strncmp(p, "sha256//", 8) != 0)
			return false;
		p += 8;
		size_t len = strcspn(p, ";");
		/* Base64 of 32 bytes: 43 characters and one '='. */
		if (len != 44 || p[43] != '=')
			return false;
		for (size_t i = 0; i < 43; i++) {
			char ch = p[i];
			if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
				return false;
		}
		n++;
		p += len;
		if (*p == '\0')
			return n <= 2;
		p++;
	}
}

/* The CA bundle, read and parsed once at construction. Handing libcurl a
 * path would read it during a handshake on the loop thread; handing it the
 * PEM as a blob would parse it again for every connection (some 60 ms of
 * CPU for the system's 140 CAs). */
static int read_ca(struct http_client *c, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *pem = NULL;
	size_t len = 0;
	int err, n_certs = 0;
	BIO *bio = NULL;
	X509 *cert;

	if (fd < 0 || fstat(fd, &st) < 0) {
		err = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > MAX_CA_BUNDLE) {
		err = EINVAL;
		goto fail;
	}
	pem = malloc((size_t)st.st_size);
	if (!pem) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, pem + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			goto fail;
		}
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	c->ca_store = X509_STORE_new();
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!c->ca_store || !bio) {
		BIO_free(bio);
		free(pem);
		return -ENOMEM;
	}
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(c->ca_store, cert) == 1)
			n_certs++;
		X509_free(cert);
	}
	ERR_clear_error(); /* the end of the PEM stream reads as an error */
	BIO_free(bio);
	free(pem);
	if (n_certs == 0) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: the CA bundle %s holds no PEM certificate", path);
		return -EINVAL;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(pem);
	plog(c->services, PORTER_LOG_ERROR, "http: cannot read the CA bundle %s: %s", path,
	     err == EINVAL ? "not a regular file of 1 byte to 16 MiB" : strerror(err));
	return -EIO;
}

/* The bundle libcurl would use by default (Debian: the system's). */
static int read_default_ca(struct http_client *c)
{
	CURL *easy = curl_easy_init();
	char *path = NULL;
	int r;

	if (!easy)
		return -ENOMEM;
	curl_easy_getinfo(easy, CURLINFO_CAINFO, &path);
	if (!path) {
		curl_easy_cleanup(easy);
		plog(c->services, PORTER_LOG_ERROR,
		     "http: libcurl has no default CA bundle: set a CA bundle path");
		return -EINVAL;
	}
	r = read_ca(c, path);
	curl_easy_cleanup(easy);
	return r;
}

static const char *missing_service(const struct porter_host_services *s)
{
	if (!s->now_us)
		return "now_us";
	if (!s->timer_add)
		return "timer_add";
	if (!s->timer_remove)
		return "timer_remove";
	if (!s->watch_add)
		return "watch_add";
	if (!s->watch_update)
		return "watch_update";
	if (!s->watch_remove)
		return "watch_remove";
	return NULL;
}

static int client_options(struct http_client *c, const struct http_client_options *o)
{
	if (o->pinned_keys && !valid_pins(o->pinned_keys)) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: pinned keys must be one or two \"sha256//<base64 of 32 bytes>\" "
		     "separated by ';'");
		return -EINVAL;
	}
	if (o->pinned_keys && !(c->pins = strdup(o->pinned_keys)))
		return -ENOMEM;
	c->user_agent = strdup(o->user_agent ? o->user_agent : "porter/" PORTER_VERSION);
	if (!c->user_agent)
		return -ENOMEM;
	c->connect_timeout_ms =
	        o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->total_timeout_ms = o->total_timeout_ms ? o->total_timeout_ms : DEFAULT_TOTAL_TIMEOUT_MS;
	c->max_response = o->max_response_bytes ? o->max_response_bytes : DEFAULT_MAX_RESPONSE;
	c->keep_alive = o->keep_alive;
	return o->ca_file ? read_ca(c, o->ca_file) : read_default_ca(c);
}

int http_client_new(const struct porter_host_services *services,
                    const struct http_client_options *options, struct http_client **ret)
{
	static const struct http_client_options defaults = {.keep_alive = true};
	const curl_version_info_data *info;
	const char *missing;
	struct http_client *c;
	int r;

	if (!services || !ret)
		return -EINVAL;
	*ret = NULL;
	missing = missing_service(services);
	if (missing) {
		plog(services, PORTER_LOG_ERROR,
		     "http: the host's services lack %s: the HTTPS client needs fd watches and "
		     "timers on the loop",
		     missing);
		return -EINVAL;
	}
	pthread_once(&global_once, global_init);
	if (global_result != CURLE_OK) {
		plog(services, PORTER_LOG_ERROR, "http: curl_global_init failed: %s",
		     curl_easy_strerror(global_result));
		return -EIO;
	}
	info = curl_version_info(CURLVERSION_NOW);
	/* The CA store is handed over as an OpenSSL X509_STORE. */
	if (!info->ssl_version || strncmp(info->ssl_version, "OpenSSL/", 8) != 0) {
		plog(services, PORTER_LOG_ERROR,
		     "http: libcurl uses %s for TLS; porter needs libcurl built with OpenSSL "
		     "(Debian: libcurl4, not libcurl3-gnutls)",
		     info->ssl_version ? info->ssl_version : "nothing");
		return -ENOTSUP;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->services = services;
	c->resolver_async = info->features & CURL_VERSION_ASYNCHDNS;
	r = client_options(c, options ? options : &defaults);
	if (r < 0)
		goto fail;
	c->multi = curl_multi_init();
	if (!c->multi) {
		r = -ENOMEM;
		goto fail;
	}
	c->share = curl_share_init();
	if (!c->share || curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
	                         CURLSHE_OK) {
		r = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	guard_sigpipe(services, info);
	if (!(info->features & CURL_VERSION_THREADSAFE))
		plog(services, PORTER_LOG_NOTICE,
		     "http: libcurl %s's global init is not thread-safe: another thread of the "
		     "host "
		     "must not initialise libcurl while porter starts",
		     info->version);
	if (!c->resolver_async)
		plog(services, PORTER_LOG_WARNING,
		     "http: libcurl %s has no asynchronous resolver: only URLs with an IP address "
		     "are taken (a host name would block the loop)",
		     info->version);
	*ret = c;
	return 0;
fail:
	if (c->share)
		curl_share_cleanup(c->share);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	X509_STORE_free(c->ca_store);
	free(c->pins);
	free(c->user_agent);
	free(c);
	return r;
}

struct http_client *http_client_free(struct http_client *c)
{
	if (!c || c->dying)
		return NULL;
	while (c->reqs) {
		struct http_req *r = c->reqs;
		req_unlink(c, r);
		req_destroy(c, r);
	}
	/* Closes the cached connections; their REMOVEs still reach sock_cb. */
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while (c->socks)
		sock_forget(c, c->socks);
	if (c->timer_id > 0)
		c->services->timer_remove(c->services->host, c->timer_id);
	c->timer_id = 0;
	if (c->handover_id > 0)
		c->services->timer_remove(c->services->host, c->handover_id);
	c->handover_id = 0;
	X509_STORE_free(c->ca_store);
	free(c->pins);
	free(c->user_agent);
	free(c->url_ok);
	c->dying = true;
	if (c->depth == 0)
		client_release(c);
	return NULL;
}

/* ---- requests ---------------------------------------------------------- */

static bool ip_literal(const char *host)
{
	unsigned char addr[16];
	char v6[64];
	size_t len = strlen(host);

	if (inet_pton(AF_INET, host, addr) == 1)
		return true;
	if (len > 2 && len < sizeof(v6) + 2 && host[0] == '[' && host[len - 1] == ']') {
		memcpy(v6, host + 1, len - 2);
		v6[len - 2] = '\0';
		/* A zone id ("%eth0") is not part of the address. */
		v6[strcspn(v6, "%")] = '\0';
		return inet_pton(AF_INET6, v6, addr) == 1;
	}
	return false;
}

static int check_url(struct http_client *c, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int r = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: request refused: the URL cannot be read");
		r = -EINVAL;
	} else if (strcasecmp(scheme, "https") != 0) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: request refused: only https:// URLs are taken, not %s://", scheme);
		r = -EINVAL;
	} else if (!c->resolver_async && !ip_literal(host)) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: request refused: host %s is a name and libcurl's resolver would block "
		     "the loop; use an IP address",
		     host);
		r = -EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

static bool method_has_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
	       strcmp(m, "DELETE") == 0;
}

static int req_headers(struct http_req *r, const struct http_request *rq)
{
	/* No "Expect: 100-continue" round trip before a body. */
	r->headers = curl_slist_append(NULL, "Expect:");
	if (!r->headers)
		return -ENOMEM;
	for (const char *const *h = rq->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(r->headers, *h);
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	return 0;
}

/* CURLOPT_SSL_CTX_FUNCTION: runs for every new connection, before its
 * handshake. set1 takes a reference: the store outlives any connection. */
static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *userdata)
{
	struct http_client *c = userdata;

	SSL_CTX_set1_cert_store(ssl_ctx, c->ca_store);
	return CURLE_OK;
}

static int req_setup(struct http_client *c, struct http_req *r, const struct http_request *rq)
{
	CURL *e = r->easy;
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                       \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_NOSIGNAL, 1L);
	/* libcurl 7.88 joins a resolver thread still in getaddrinfo() when its
	 * transfer ends early (timeout, cancel, free): a wait on the loop
	 * thread as long as a dead DNS server makes it. Quick exit leaves the
	 * thread to finish alone. */
	SET(CURLOPT_QUICK_EXIT, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* No CA file or directory for libcurl to read during a handshake:
	 * ssl_ctx_cb gives every connection the store parsed at construction,
	 * and only that store is trusted. */
	SET(CURLOPT_CAINFO, NULL);
	SET(CURLOPT_CAPATH, NULL);
	SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	SET(CURLOPT_SSL_CTX_DATA, c);
	if (c->pins)
		SET(CURLOPT_PINNEDPUBLICKEY, c->pins);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, (long)(rq->timeout_ms ? rq->timeout_ms : c->total_timeout_ms));
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_response);
	if (c->keep_alive) {
		SET(CURLOPT_TCP_KEEPALIVE, 1L);
	} else {
		SET(CURLOPT_FORBID_REUSE, 1L);
		SET(CURLOPT_FRESH_CONNECT, 1L);
	}
	/* libcurl 7.88 sends again only over a connection it reused
	 * (Curl_retry_request: conn->bits.reuse and nothing received yet; an
	 * HTTP/2 REFUSED_STREAM retry is the server saying it did not process
	 * it). A new connection leaves it nothing to retry. It is not closed
	 * afterwards: later requests may reuse it, as reads safely can. */
	if (rq->never_resend)
		SET(CURLOPT_FRESH_CONNECT, 1L);
	/* TLS sessions are kept per client, not per easy handle (one per
	 * request), so a new connection resumes instead of a full handshake. */
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_HTTPHEADER, r->headers);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_PRIVATE, r);
	if (strcmp(rq->method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(rq->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(rq->method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, rq->method);
		/* By pointer to porter's copy (req_body), which outlives the
		 * transfer and is wiped with it. */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->req_body_len);
		SET(CURLOPT_POSTFIELDS, r->req_body ? r->req_body : "");
	}
#undef SET
	if (rc != CURLE_OK) {
		plog(c->services, PORTER_LOG_ERROR, "http: request refused: %s",
		     curl_easy_strerror(rc));
		return rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	}
	return 0;
}

/* A transfer that finished inside http_client_request goes to its caller
 * from here, at the loop's next turn. A timer of its own, so the one that
 * follows libcurl's deadline stays armed. */
static void on_handover(void *userdata)
{
	struct http_client *c = userdata;

	c->handover_id = 0;
	client_enter(c);
	process_done(c);
	if (client_leave(c))
		timer_sync(c);
}

/* Runs the new transfer's first step now (libcurl's zero timeout), the way
 * a plain multi loop calls curl_multi_perform right after adding a handle:
 * no loop turn and no host timer in between. Outside any libcurl callback,
 * and no caller's callback runs here: a transfer that finished meanwhile
 * (running below the handles added; on loopback a fast server's answer can
 * be read in this very call) is handed over at the loop's next turn. When
 * libcurl's own deadline is already due, its zero timer does that (on_timer
 * hands finished transfers over too): one host timer, not two. Otherwise a
 * zero timer of its own, so the one that follows a later deadline stays. */
static void start_now(struct http_client *c)
{
	int running = 0;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	bool deadline_due = c->want_timer && c->want_at_us <= now_us(c) + 1000;
	if ((size_t)running < c->n_reqs && !c->handover_id && !deadline_due) {
		c->handover_id = c->services->timer_add(c->services->host, 0, on_handover, c);
		if (c->handover_id < 0) { /* then libcurl's own timer hands it over */
			c->handover_id = 0;
			c->want_timer = true;
			c->want_at_us = now_us(c);
		}
	}
	timer_sync(c);
}

int http_client_request(struct http_client *c, const struct http_request *rq, http_done_fn done,
                        void *userdata, uint64_t *ret_id)
{
	struct http_req *r;
	int err;

	if (!c || c->dying || !rq || !rq->method || !rq->url || !done ||
	    (rq->body_len && !rq->body))
		return -EINVAL;
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0 &&
	    !method_has_body(rq->method)) {
		plog(c->services, PORTER_LOG_ERROR,
		     "http: request refused: method must be GET, HEAD, POST, PUT, PATCH or DELETE");
		return -EINVAL;
	}
	if (rq->body_len && !method_has_body(rq->method)) {
		plog(c->services, PORTER_LOG_ERROR, "http: request refused: %s takes no body",
		     rq->method);
		return -EINVAL;
	}
	if (!c->url_ok || strcmp(c->url_ok, rq->url) != 0) {
		err = check_url(c, rq->url);
		if (err < 0)
			return err;
		free(c->url_ok);
		c->url_ok = strdup(rq->url); /* NULL: checked again next time */
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->client = c;
	r->max_response = rq->max_response_bytes ? rq->max_response_bytes : c->max_response;
	r->done = done;
	r->userdata = userdata;
	r->easy = curl_easy_init();
	err = r->easy ? req_headers(r, rq) : -ENOMEM;
	if (err == 0 && rq->body_len) {
		r->req_body = malloc(rq->body_len);
		r->req_body_len = rq->body_len;
		if (r->req_body)
			memcpy(r->req_body, rq->body, rq->body_len);
		else
			err = -ENOMEM;
	}
	if (err == 0)
		err = req_setup(c, r, rq);
	if (err == 0 && curl_multi_add_handle(c->multi, r->easy) != CURLM_OK)
		err = -ENOMEM;
	if (err < 0) {
		curl_easy_cleanup(r->easy);
		headers_free(r->headers);
		if (r->req_body)
			OPENSSL_cleanse(r->req_body, r->req_body_len);
		free(r->req_body);
		free(r);
		return err;
	}
	r->id = ++c->last_id;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	c->n_reqs++;
	if (ret_id)
		*ret_id = r->id;
	start_now(c);
	return 0;
}

int http_client_cancel(struct http_client *c, uint64_t request_id)
{
	if (!c || c->dying)
		return -EINVAL;
	for (struct http_req *r = c->reqs; r; r = r->next) {
		if (r->id == request_id) {
			req_unlink(c, r);
			req_destroy(c, r);
			timer_sync(c);
			return 0;
		}
	}
	return -ENOENT;
}

size_t http_client_pending(const struct http_client *c)
{
	return c ? c->n_reqs : 0;
}

bool http_client_resolver_async(const struct http_client *c)
{
	return c && c->resolver_async;
}

void http_client_test_force_blocking_resolver(struct http_client *c)
{
	if (c) {
		c->resolver_async = false;
		free(c->url_ok); /* accepted under the old rule */
		c->url_ok = NULL;
	}
}
