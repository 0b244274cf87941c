/* httpd.c — faultwire's built-in HTTP server (fw.http) on libevent 2.1's
 * evhttp, in its own thread and event_base.
 *
 * Large bodies are never held in memory: a reply that outlives its request
 * callback (/bytes, /stream, /slow) is a struct httpd_reply that makes the
 * next piece of content when the previous one has left, or when its timer
 * fires. Clients under test vanish mid-reply all the time, so each such
 * reply hooks its connection's close callback: libevent 2.1.12 detaches the
 * request from a connection that fails while the reply is unfinished and
 * leaves the request to us, and the close callback is the one place where
 * both the request and the reply can be let go safely. */
#include "harness/httpd.h"
#include "harness/serve.h"
#include "harness/content.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>

/* Content made per write: big enough that a GiB is few callbacks, small
 * enough that many parallel downloads stay cheap. */
#define HTTPD_CHUNK (256 * 1024)
/* httpd_render refuses /bytes bodies larger than this. */
#define HTTPD_RENDER_MAX (16u * 1024 * 1024)
/* Idle keep-alive connections and peers that take nothing for this long
 * are dropped (evhttp's own default is 50 s). */
#define HTTPD_TIMEOUT_S 60
/* Paced streams are topped up at this interval. */
#define HTTPD_PACE_MS 20
/* A paced stream whose client is not reading stops adding data once this
 * much is waiting, rather than queueing the rest of the stream in memory. */
#define HTTPD_PACE_BACKLOG (256 * 1024)
/* At most this much per tick (about 400 Mbit/s): a stream late after a
 * stall catches up in steps rather than in one burst of memory. */
#define HTTPD_PACE_MAX_TICK (1024 * 1024)
#define HTTPD_SLOW_MAX_MS (3600u * 1000)

static const char httpd_playlist[] =
	"#EXTM3U\n"
	"#EXTINF:-1,faultwire 2 Mbit/s\n"
	"http://server.test/stream?kbit=2000&bytes=1048576\n"
	"#EXTINF:-1,faultwire 4 Mbit/s\n"
	"http://server.test/stream?kbit=4000&bytes=2097152\n"
	"#EXTINF:-1,faultwire 8 Mbit/s\n"
	"http://server.test/stream?kbit=8000&bytes=4194304\n";

enum httpd_route_kind {
	ROUTE_NOT_FOUND,
	ROUTE_BAD,              /* a known route with unusable parameters */
	ROUTE_BYTES,
	ROUTE_STREAM,
	ROUTE_STATUS,
	ROUTE_SLOW,
	ROUTE_PLAYLIST,
};

struct httpd_route {
	enum httpd_route_kind kind;
	uint64_t size;          /* /bytes/N, /stream bytes= */
	uint64_t kbit;          /* /stream */
	uint64_t ms;            /* /slow */
	int code;               /* /status */
};

struct httpd_reply;

struct httpd {
	uint64_t seed;
	struct event_base *base;
	struct evhttp *http;
	struct event *stop_event;
	pthread_t thread;
	bool running;

	pthread_mutex_t lock;   /* guards log and the block check */
	struct httpd_request *log;
	size_t log_count, log_cap;
	httpd_block_fn block_fn;
	void *block_arg;

	struct httpd_reply *replies;    /* in flight; server thread only */
};

/* A reply that goes on after the request callback has returned. */
struct httpd_reply {
	struct httpd *h;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer;    /* /stream pacing or /slow delay, else NULL */
	size_t log_index;
	uint64_t next;          /* next content offset to send */
	uint64_t end;           /* one past the last offset to send */
	uint64_t start;         /* first offset, for pacing */
	uint64_t kbit;
	int64_t t0_ns;
	struct httpd_reply *prev_reply, *next_reply;
};

static void *httpd_thread_main(void *arg);
static void httpd_stop_cb(evutil_socket_t fd, short what, void *arg);
static void httpd_request_cb(struct evhttp_request *req, void *arg);
static void reply_written_cb(struct evhttp_connection *evcon, void *arg);
static void reply_pace_cb(evutil_socket_t fd, short what, void *arg);
static void reply_slow_cb(evutil_socket_t fd, short what, void *arg);
static void reply_closed_cb(struct evhttp_connection *evcon, void *arg);
static void reply_complete_cb(struct evhttp_request *req, void *arg);

/* Strict decimal: digits only, no sign, no overflow. */
static int httpd_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static const char *httpd_reason(int code)
{
	/* libevent 2.1 has no phrase for some codes tests like (418, 429). */
	switch (code) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 416: return "Range Not Satisfiable";
	case 418: return "I'm a teapot";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return NULL;   /* libevent picks one */
	}
}

static const char *httpd_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/* Decide the route of path (no query) and query (NULL when none). Shared by
 * the server and httpd_render so that both always agree. */
static void httpd_route_parse(const char *path, const char *query, struct httpd_route *r)
{
	struct evkeyvalq params;
	bool have_params = false;

	memset(r, 0, sizeof(*r));
	r->kind = ROUTE_NOT_FOUND;
	TAILQ_INIT(&params);
	if (query != NULL) {
		if (evhttp_parse_query_str(query, &params) == 0)
			have_params = true;
		else
			evhttp_clear_headers(&params);
	}
	if (path == NULL)
		goto out;
	if (strncmp(path, "/bytes/", 7) == 0) {
		r->kind = httpd_parse_u64(path + 7, &r->size) == 0 ? ROUTE_BYTES : ROUTE_BAD;
	} else if (strncmp(path, "/status/", 8) == 0) {
		uint64_t code;

		r->kind = ROUTE_BAD;
		if (httpd_parse_u64(path + 8, &code) == 0 && code >= 100 && code <= 599) {
			r->kind = ROUTE_STATUS;
			r->code = (int)code;
		}
	} else if (strcmp(path, "/slow") == 0) {
		r->kind = ROUTE_BAD;
		if (have_params &&
		    httpd_parse_u64(evhttp_find_header(&params, "ms"), &r->ms) == 0 &&
		    r->ms <= HTTPD_SLOW_MAX_MS)
			r->kind = ROUTE_SLOW;
	} else if (strcmp(path, "/stream") == 0) {
		r->kind = ROUTE_BAD;
		if (have_params &&
		    httpd_parse_u64(evhttp_find_header(&params, "kbit"), &r->kbit) == 0 &&
		    httpd_parse_u64(evhttp_find_header(&params, "bytes"), &r->size) == 0 &&
		    r->kbit > 0)
			r->kind = ROUTE_STREAM;
	} else if (strcmp(path, "/playlist.m3u") == 0) {
		r->kind = ROUTE_PLAYLIST;
	}
out:
	if (have_params)
		evhttp_clear_headers(&params);
}

static int httpd_digits(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

static const char *httpd_skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* The status a Range header asks for on a body of size bytes: 206 with
 * [*first, *last], 416 when no byte of it exists, or 200 when it is absent,
 * malformed or asks for several ranges (RFC 7233 lets a server ignore it). */
static int httpd_range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *s;
	uint64_t a, b;

	if (header == NULL)
		return 200;
	s = httpd_skip_space(header);
	if (strncasecmp(s, "bytes", 5) != 0)
		return 200;
	s = httpd_skip_space(s + 5);
	if (*s++ != '=')
		return 200;
	if (strchr(s, ',') != NULL)
		return 200;
	s = httpd_skip_space(s);
	if (*s == '-') {
		s++;
		if (httpd_digits(&s, &b) < 0 || *httpd_skip_space(s) != '\0')
			return 200;
		if (b == 0 || size == 0)
			return 416;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 206;
	}
	if (httpd_digits(&s, &a) < 0)
		return 200;
	s = httpd_skip_space(s);
	if (*s++ != '-')
		return 200;
	s = httpd_skip_space(s);
	if (*s == '\0') {
		b = UINT64_MAX;
	} else {
		if (httpd_digits(&s, &b) < 0 || *httpd_skip_space(s) != '\0' || b < a)
			return 200;
	}
	if (a >= size)
		return 416;
	*first = a;
	*last = b < size - 1 ? b : size - 1;
	return 206;
}

/* Append an entry to the log; returns its index, or SIZE_MAX when it could
 * not be kept (the request is still answered). */
static size_t httpd_log_add(struct httpd *h, const struct httpd_request *entry)
{
	size_t index = SIZE_MAX;

	pthread_mutex_lock(&h->lock);
	if (h->log_count == h->log_cap) {
		size_t cap = h->log_cap ? h->log_cap * 2 : 64;
		struct httpd_request *log = realloc(h->log, cap * sizeof(*log));

		if (log == NULL)
			goto out;
		h->log = log;
		h->log_cap = cap;
	}
	h->log[h->log_count] = *entry;
	index = h->log_count++;
out:
	pthread_mutex_unlock(&h->lock);
	return index;
}

static void httpd_log_status(struct httpd *h, size_t index, int status)
{
	if (index == SIZE_MAX)
		return;
	pthread_mutex_lock(&h->lock);
	h->log[index].status = status;
	pthread_mutex_unlock(&h->lock);
}

static void httpd_add_length(struct evhttp_request *req, uint64_t length)
{
	char value[24];

	snprintf(value, sizeof(value), "%" PRIu64, length);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", value);
}

/* Answer at once with a fixed body (may be empty). */
static void httpd_send_body(struct httpd *h, struct evhttp_request *req, size_t log_index,
    int code, const char *content_type, const void *body, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = NULL;

	if (content_type != NULL)
		evhttp_add_header(out, "Content-Type", content_type);
	/* Set even for HEAD, which evhttp would leave without one; never on the
	 * statuses that have no body at all (RFC 7230 3.3.2). */
	if (evhttp_find_header(out, "Content-Length") == NULL &&
	    code >= 200 && code != 204 && code != 304)
		httpd_add_length(req, len);
	/* evhttp 2.1 would send a body given to a HEAD request. */
	if (len > 0 && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		buf = evbuffer_new();
		if (buf == NULL || evbuffer_add(buf, body, len) < 0) {
			evhttp_remove_header(out, "Content-Length");
			httpd_add_length(req, 0);
			code = 500;
		}
	}
	httpd_log_status(h, log_index, code);
	evhttp_send_reply(req, code, httpd_reason(code), buf);
	if (buf != NULL)
		evbuffer_free(buf);
}

static void httpd_connection_timeouts(struct evhttp_connection *evcon, bool reading)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	const struct timeval tv = { HTTPD_TIMEOUT_S, 0 };

	/* evhttp keeps reading (for close detection) while it writes, and only
	 * re-arms the read timeout when it is given more to write: a client
	 * draining one chunk, or the tail after the last one, for longer than
	 * HTTPD_TIMEOUT_S would be cut although it is reading. So while a reply
	 * is going on only the write timeout (no progress at all) applies. */
	bufferevent_set_timeouts(bev, reading ? &tv : NULL, &tv);
}

static struct httpd_reply *reply_new(struct httpd *h, struct evhttp_request *req, size_t log_index)
{
	struct httpd_reply *reply = calloc(1, sizeof(*reply));

	if (reply == NULL)
		return NULL;
	reply->h = h;
	reply->req = req;
	reply->evcon = evhttp_request_get_connection(req);
	reply->log_index = log_index;
	reply->next_reply = h->replies;
	if (h->replies != NULL)
		h->replies->prev_reply = reply;
	h->replies = reply;
	evhttp_connection_set_closecb(reply->evcon, reply_closed_cb, reply);
	httpd_connection_timeouts(reply->evcon, false);
	return reply;
}

/* Forget the reply; the request and connection are not touched. */
static void reply_free(struct httpd_reply *reply)
{
	if (reply->timer != NULL)
		event_free(reply->timer);
	if (reply->prev_reply != NULL)
		reply->prev_reply->next_reply = reply->next_reply;
	else
		reply->h->replies = reply->next_reply;
	if (reply->next_reply != NULL)
		reply->next_reply->prev_reply = reply->prev_reply;
	free(reply);
}

/* Let go of the reply while its connection lives on, handing the request
 * back to evhttp; returns the request. */
static struct evhttp_request *reply_release(struct httpd_reply *reply)
{
	struct evhttp_request *req = reply->req;

	evhttp_connection_set_closecb(reply->evcon, NULL, NULL);
	evhttp_request_set_on_complete_cb(req, reply_complete_cb, NULL);
	reply_free(reply);
	return req;
}

/* The connection cannot go on (we could not make its data): close it.
 * Its close callback frees the reply, and evhttp the attached request. */
static void reply_abort(struct httpd_reply *reply)
{
	evhttp_connection_free(reply->evcon);
}

/* Queue the next at most max bytes of content, and end the reply after the
 * last one: the reply may be gone when this returns. */
static void reply_send_content(struct httpd_reply *reply, size_t max, bool want_written_cb)
{
	uint64_t left = reply->end - reply->next;
	size_t n = left < max ? (size_t)left : max;
	struct evbuffer *buf = evbuffer_new();
	struct evbuffer_iovec vec;

	if (buf == NULL || evbuffer_reserve_space(buf, n, &vec, 1) < 1 || vec.iov_len < n) {
		if (buf != NULL)
			evbuffer_free(buf);
		reply_abort(reply);
		return;
	}
	content_fill(reply->h->seed, reply->next, vec.iov_base, n);
	vec.iov_len = n;
	evbuffer_commit_space(buf, &vec, 1);
	reply->next += n;
	if (reply->next == reply->end) {
		struct evhttp_request *req = reply->req;

		evhttp_send_reply_chunk(req, buf);
		evbuffer_free(buf);
		reply_release(reply);
		/* With data still queued this only marks the request done; evhttp
		 * finishes it when the output has drained. */
		evhttp_send_reply_end(req);
		return;
	}
	if (want_written_cb)
		evhttp_send_reply_chunk_with_cb(reply->req, buf, reply_written_cb, reply);
	else
		evhttp_send_reply_chunk(reply->req, buf);
	evbuffer_free(buf);
}

/* /bytes/N: honour a single Range, stream the body as the client takes it. */
static void httpd_serve_bytes(struct httpd *h, struct evhttp_request *req, size_t log_index,
    uint64_t size, bool head)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	uint64_t first = 0, last = size - 1;
	struct httpd_reply *reply;
	char value[96];
	int code;

	code = httpd_range_parse(evhttp_find_header(in, "Range"), size, &first, &last);
	evhttp_add_header(out, "Accept-Ranges", "bytes");
	evhttp_add_header(out, "Content-Type", "application/octet-stream");
	if (code == 416) {
		snprintf(value, sizeof(value), "bytes */%" PRIu64, size);
		evhttp_add_header(out, "Content-Range", value);
		httpd_send_body(h, req, log_index, 416, NULL, NULL, 0);
		return;
	}
	if (code == 206) {
		snprintf(value, sizeof(value), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		    first, last, size);
		evhttp_add_header(out, "Content-Range", value);
	}
	if (head || size == 0) {
		httpd_add_length(req, size == 0 ? 0 : last - first + 1);
		httpd_send_body(h, req, log_index, code, NULL, NULL, 0);
		return;
	}
	reply = reply_new(h, req, log_index);
	if (reply == NULL) {
		evhttp_remove_header(out, "Content-Range");
		httpd_send_body(h, req, log_index, 500, NULL, NULL, 0);
		return;
	}
	reply->start = reply->next = first;
	reply->end = last + 1;
	/* With Content-Length set, evhttp_send_reply_start does not switch to
	 * chunked encoding, and the chunks below go out as plain body bytes. */
	httpd_add_length(req, reply->end - reply->start);
	bufferevent_set_max_single_write(evhttp_connection_get_bufferevent(reply->evcon),
	    HTTPD_CHUNK);
	httpd_log_status(h, log_index, code);
	evhttp_send_reply_start(req, code, httpd_reason(code));
	reply_send_content(reply, HTTPD_CHUNK, true);
}

/* /stream: the same content, paced by the clock rather than by the client;
 * a single Range resumes it, as players and downloaders do after a cut. */
static void httpd_serve_stream(struct httpd *h, struct evhttp_request *req, size_t log_index,
    const struct httpd_route *route, bool head)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const struct timeval tick = { 0, HTTPD_PACE_MS * 1000 };
	struct httpd_reply *reply;
	uint64_t first = 0, last = route->size ? route->size - 1 : 0;
	char value[96];
	int code = route->size ? httpd_range_parse(evhttp_find_header(evhttp_request_get_input_headers(req), "Range"),
	                                           route->size, &first, &last) : 200;

	evhttp_add_header(out, "Accept-Ranges", "bytes");
	evhttp_add_header(out, "Content-Type", "application/octet-stream");
	if (code == 416) {
		snprintf(value, sizeof(value), "bytes */%" PRIu64, route->size);
		evhttp_add_header(out, "Content-Range", value);
		httpd_send_body(h, req, log_index, 416, NULL, NULL, 0);
		return;
	}
	if (code == 206) {
		snprintf(value, sizeof(value), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, route->size);
		evhttp_add_header(out, "Content-Range", value);
	}
	httpd_add_length(req, route->size ? last - first + 1 : 0);
	if (head || route->size == 0) {
		httpd_send_body(h, req, log_index, code, NULL, NULL, 0);
		return;
	}
	reply = reply_new(h, req, log_index);
	if (reply != NULL) {
		reply->start = reply->next = first;
		reply->end = last + 1;
		reply->kbit = route->kbit;
		reply->t0_ns = serve_now_ns();
		reply->timer = event_new(h->base, -1, EV_PERSIST, reply_pace_cb, reply);
	}
	if (reply == NULL || reply->timer == NULL || event_add(reply->timer, &tick) < 0) {
		if (reply != NULL)
			reply_release(reply);
		evhttp_remove_header(out, "Content-Length");
		httpd_send_body(h, req, log_index, 500, NULL, NULL, 0);
		return;
	}
	httpd_log_status(h, log_index, code);
	evhttp_send_reply_start(req, code, httpd_reason(code));
}

static void httpd_serve_slow(struct httpd *h, struct evhttp_request *req, size_t log_index,
    uint64_t ms)
{
	const struct timeval delay = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };
	struct httpd_reply *reply = reply_new(h, req, log_index);

	if (reply != NULL)
		reply->timer = evtimer_new(h->base, reply_slow_cb, reply);
	if (reply == NULL || reply->timer == NULL || evtimer_add(reply->timer, &delay) < 0) {
		if (reply != NULL)
			reply_release(reply);
		httpd_send_body(h, req, log_index, 500, NULL, NULL, 0);
	}
}

/* The peer as the block check and the log want it: a v4-mapped address
 * (the listening socket is dual-stack) is shown as plain IPv4. */
static void httpd_peer_name(const char *address, char *out, size_t size)
{
	struct in6_addr a6;

	if (address != NULL && inet_pton(AF_INET6, address, &a6) == 1 &&
	    IN6_IS_ADDR_V4MAPPED(&a6) &&
	    inet_ntop(AF_INET, &a6.s6_addr[12], out, (socklen_t)size) != NULL)
		return;
	serve_copy_cut(out, size, address);
}

/* Log the request as it arrives (status 0 until answered); fills *entry and
 * returns its log index. */
static size_t httpd_log_request(struct httpd *h, struct evhttp_request *req,
    struct httpd_request *entry)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *address = NULL;
	ev_uint16_t port = 0;

	memset(entry, 0, sizeof(*entry));
	entry->t_ns = serve_now_ns();
	serve_copy_cut(entry->method, sizeof(entry->method),
	    httpd_method_name(evhttp_request_get_command(req)));
	serve_copy_cut(entry->path, sizeof(entry->path), evhttp_request_get_uri(req));
	serve_copy_cut(entry->range, sizeof(entry->range),
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Range"));
	/* The address string stays owned by the connection. */
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &address, &port);
	httpd_peer_name(address, entry->peer, sizeof(entry->peer));
	entry->peer_port = port;
	return httpd_log_add(h, entry);
}

static bool httpd_blocked(struct httpd *h, const char *peer)
{
	httpd_block_fn block_fn;
	void *block_arg;

	pthread_mutex_lock(&h->lock);
	block_fn = h->block_fn;
	block_arg = h->block_arg;
	pthread_mutex_unlock(&h->lock);
	/* Called unlocked: the check may take its time, or set a new one. */
	return block_fn != NULL && block_fn(peer, block_arg) != 0;
}

static void httpd_route_request(struct httpd *h, struct evhttp_request *req, size_t log_index)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct httpd_route route;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		httpd_send_body(h, req, log_index, 405, NULL, NULL, 0);
		return;
	}
	httpd_route_parse(uri != NULL ? evhttp_uri_get_path(uri) : NULL,
	    uri != NULL ? evhttp_uri_get_query(uri) : NULL, &route);
	switch (route.kind) {
	case ROUTE_BYTES:
		httpd_serve_bytes(h, req, log_index, route.size, cmd == EVHTTP_REQ_HEAD);
		break;
	case ROUTE_STREAM:
		httpd_serve_stream(h, req, log_index, &route, cmd == EVHTTP_REQ_HEAD);
		break;
	case ROUTE_STATUS:
		httpd_send_body(h, req, log_index, route.code, NULL, NULL, 0);
		break;
	case ROUTE_SLOW:
		httpd_serve_slow(h, req, log_index, route.ms);
		break;
	case ROUTE_PLAYLIST:
		httpd_send_body(h, req, log_index, 200, "audio/x-mpegurl",
		    httpd_playlist, sizeof(httpd_playlist) - 1);
		break;
	case ROUTE_BAD:
		httpd_send_body(h, req, log_index, 400, NULL, NULL, 0);
		break;
	case ROUTE_NOT_FOUND:
	default:
		httpd_send_body(h, req, log_index, 404, NULL, NULL, 0);
		break;
	}
}

static void httpd_request_cb(struct evhttp_request *req, void *arg)
{
	struct httpd *h = arg;
	struct httpd_request entry;
	size_t log_index = httpd_log_request(h, req, &entry);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Server", "faultwire");
	if (httpd_blocked(h, entry.peer))
		httpd_send_body(h, req, log_index, 403, NULL, NULL, 0);
	else
		httpd_route_request(h, req, log_index);
}

static void reply_written_cb(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	reply_send_content(arg, HTTPD_CHUNK, true);
}

static void reply_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_reply *reply = arg;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(reply->evcon);
	double elapsed_s = (double)(serve_now_ns() - reply->t0_ns) / 1e9;
	double due_d = (double)reply->start + elapsed_s * (double)reply->kbit * 125.0;
	uint64_t due = due_d >= (double)reply->end ? reply->end : (uint64_t)due_d;

	(void)fd;
	(void)what;
	if (due <= reply->next)
		return;
	if (evbuffer_get_length(bufferevent_get_output(bev)) >= HTTPD_PACE_BACKLOG)
		return;
	reply_send_content(reply, due - reply->next < HTTPD_PACE_MAX_TICK ?
	    (size_t)(due - reply->next) : HTTPD_PACE_MAX_TICK, false);
}

static void reply_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_reply *reply = arg;
	struct httpd *h = reply->h;
	size_t log_index = reply->log_index;
	struct evhttp_request *req;

	(void)fd;
	(void)what;
	req = reply_release(reply);
	httpd_send_body(h, req, log_index, 200, "text/plain", "slow\n", 5);
}

static void reply_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_reply *reply = arg;

	(void)evcon;
	/* A request still attached goes with its connection. One the client
	 * dropped mid-reply has been detached by evhttp and is ours to free. */
	if (evhttp_request_get_connection(reply->req) == NULL)
		evhttp_request_free(reply->req);
	reply_free(reply);
}

/* The last byte has left: the connection idles (keep-alive) under the read
 * timeout again. */
static void reply_complete_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	(void)arg;
	if (evcon != NULL)
		httpd_connection_timeouts(evcon, true);
}

static void httpd_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(h->base);
}

static void *httpd_thread_main(void *arg)
{
	struct httpd *h = arg;

	event_base_dispatch(h->base);
	/* Closing every connection runs the close callbacks, which free the
	 * replies still in flight. */
	evhttp_free(h->http);
	h->http = NULL;
	while (h->replies != NULL)
		reply_free(h->replies);
	return NULL;
}

/* The listening socket, inside the server's namespace. */
static int httpd_listen(int ns_fd, uint16_t port, char **err)
{
	return serve_socket(ns_fd, SOCK_STREAM, port, "HTTP server", err);
}

struct httpd *httpd_start(int ns_fd, uint16_t port, uint64_t seed, char **err)
{
	struct evconnlistener *listener = NULL;
	struct httpd *h = NULL, *ret = NULL;
	const struct timeval timeout = { HTTPD_TIMEOUT_S, 0 };
	sigset_t all, old;
	int fd = -1, rc;

	if (err != NULL)
		*err = NULL;
	serve_threads_init();
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		serve_err(err, "out of memory");
		goto out;
	}
	h->seed = seed;
	pthread_mutex_init(&h->lock, NULL);
	fd = httpd_listen(ns_fd, port, err);
	if (fd < 0)
		goto out;
	h->base = event_base_new();
	h->http = h->base != NULL ? evhttp_new(h->base) : NULL;
	h->stop_event = h->base != NULL ? event_new(h->base, -1, 0, httpd_stop_cb, h) : NULL;
	if (h->http == NULL || h->stop_event == NULL) {
		serve_err(err, "cannot set up the HTTP server's event loop");
		goto out;
	}
	evhttp_set_gencb(h->http, httpd_request_cb, h);
	/* Every method reaches httpd_request_cb, to be logged and answered 405. */
	evhttp_set_allowed_methods(h->http, 0xffff);
	evhttp_set_timeout_tv(h->http, &timeout);
	/* What evhttp_accept_socket_with_handle does, but with the socket's
	 * owner clear at every step: ours until the listener exists, the
	 * listener's (LEV_OPT_CLOSE_ON_FREE) afterwards. */
	listener = evconnlistener_new(h->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 0, fd);
	if (listener == NULL) {
		serve_err(err, "cannot listen on port %u with libevent", (unsigned)port);
		goto out;
	}
	fd = -1;
	if (evhttp_bind_listener(h->http, listener) == NULL) {
		evconnlistener_free(listener);
		serve_err(err, "cannot listen on port %u with libevent", (unsigned)port);
		goto out;
	}
	/* The server thread takes no signals: SIGPIPE from a write to a reset
	 * peer must become EPIPE there, and SIGINT belongs to the main loop. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->thread, NULL, httpd_thread_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		serve_err(err, "cannot start the HTTP server thread: %s", strerror(rc));
		goto out;
	}
	h->running = true;
	ret = h;
	h = NULL;
out:
	if (fd >= 0)
		close(fd);
	httpd_free(h);
	return ret;
}

void httpd_set_block(struct httpd *h, httpd_block_fn fn, void *arg)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->block_fn = fn;
	h->block_arg = arg;
	pthread_mutex_unlock(&h->lock);
}

void httpd_stop(struct httpd *h)
{
	if (h == NULL || !h->running)
		return;
	/* An active event, unlike event_base_loopbreak, is not lost if the
	 * thread has not entered its loop yet. */
	event_active(h->stop_event, EV_TIMEOUT, 0);
	pthread_join(h->thread, NULL);
	h->running = false;
}

const struct httpd_request *httpd_requests(const struct httpd *h, size_t *count)
{
	*count = h != NULL ? h->log_count : 0;
	return h != NULL ? h->log : NULL;
}

void httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	httpd_stop(h);
	/* Only set when the thread never ran. */
	if (h->http != NULL)
		evhttp_free(h->http);
	if (h->stop_event != NULL)
		event_free(h->stop_event);
	if (h->base != NULL)
		event_base_free(h->base);
	pthread_mutex_destroy(&h->lock);
	free(h->log);
	free(h);
}

int httpd_render(const char *path, uint64_t seed, uint8_t **body, size_t *len)
{
	const char *question = strchr(path, '?');
	char *route_path = NULL;
	struct httpd_route route;
	const void *fixed = NULL;
	int ret = -1;

	*body = NULL;
	*len = 0;
	route_path = strndup(path, question != NULL ? (size_t)(question - path) : strlen(path));
	if (route_path == NULL)
		goto out;
	httpd_route_parse(route_path, question != NULL ? question + 1 : NULL, &route);
	switch (route.kind) {
	case ROUTE_STATUS:
		*len = 0;
		break;
	case ROUTE_SLOW:
		fixed = "slow\n";
		*len = 5;
		break;
	case ROUTE_PLAYLIST:
		fixed = httpd_playlist;
		*len = sizeof(httpd_playlist) - 1;
		break;
	case ROUTE_BYTES:
		if (route.size > HTTPD_RENDER_MAX)
			goto out;
		*len = (size_t)route.size;
		break;
	default:
		goto out;
	}
	/* One byte more, so that an empty body is still a valid pointer. */
	*body = malloc(*len + 1);
	if (*body == NULL)
		goto out;
	if (route.kind == ROUTE_BYTES)
		content_fill(seed, 0, *body, *len);
	else if (fixed != NULL)
		memcpy(*body, fixed, *len);
	(*body)[*len] = 0;
	ret = 0;
out:
	if (ret < 0)
		*len = 0;
	free(route_path);
	return ret;
}
