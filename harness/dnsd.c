/* dnsd.c — faultwire's built-in DNS server on libevent 2.1's evdns server
 * API, in its own thread and event_base.
 *
 * Every query is decided and answered (or dropped) inside the request
 * callback, so no evdns request outlives it. That matters at stop: a
 * server port is only freed once no request holds it, and the one case we
 * cannot close ourselves is a reply libevent queued because the socket
 * refused it (see dnsd_thread_main). */
#include "harness/dnsd.h"
#include "harness/serve.h"
#include "sim/rng.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/thread.h>

/* Short, so that a client which caches answers still asks again within a
 * run and meets the faults of a later window. */
#define DNSD_TTL 5
#define DNSD_CLASS_ANY 255
/* Mixed into the run seed so that query k does not draw the very numbers
 * that flow k draws in the engine (rng_seed(seed, flow id)): a DNS rule and
 * a flow rule with the same p would otherwise decide alike, run after run. */
#define DNSD_SEED_SALT 0x646e73642d716e6fULL   /* "dnsd-qno" */

struct dnsd_host {
	const char *name, *a, *aaaa;
};

static const struct dnsd_host dnsd_zone[] = {
	{ "server.test", "198.19.0.2", "2001:db8:5::2" },
	{ "client.test", "198.18.0.2", "2001:db8:c::2" },
};

/* A rule's wrong_addr, parsed once at start. */
struct dnsd_wrong_addr {
	int family;             /* AF_INET, AF_INET6, or 0 for other kinds */
	uint8_t bytes[16];
	char text[INET6_ADDRSTRLEN];    /* canonical form, for the log */
};

struct dnsd {
	uint64_t seed;
	struct dnsd_rule *rules;
	struct dnsd_wrong_addr *wrong;  /* one per rule */
	size_t rule_count;
	_Atomic int64_t t0_ns;

	struct event_base *base;
	struct evdns_server_port *port;
	struct event *stop_event;
	pthread_t thread;
	bool running;

	/* Server thread only while it runs; read after the join. */
	uint64_t ordinal;       /* queries received, logged or not */
	struct dnsd_query *log;
	size_t log_count, log_cap;
};

static void *dnsd_thread_main(void *arg);
static void dnsd_stop_cb(evutil_socket_t fd, short what, void *arg);
static void dnsd_request_cb(struct evdns_server_request *req, void *arg);

/* The zone entry for name (any case, one trailing dot allowed), or NULL. */
static const struct dnsd_host *dnsd_zone_find(const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < sizeof(dnsd_zone) / sizeof(dnsd_zone[0]); i++) {
		if (strlen(dnsd_zone[i].name) == len &&
		    strncasecmp(dnsd_zone[i].name, name, len) == 0)
			return &dnsd_zone[i];
	}
	return NULL;
}

static void dnsd_type_name(int type, char *out, size_t size)
{
	if (type == EVDNS_TYPE_A)
		snprintf(out, size, "A");
	else if (type == EVDNS_TYPE_AAAA)
		snprintf(out, size, "AAAA");
	else
		snprintf(out, size, "TYPE%d", type);
}

static const char *dnsd_rcode_name(int rcode)
{
	switch (rcode) {
	case DNS_ERR_NONE: return "NOERROR";
	case DNS_ERR_FORMAT: return "FORMERR";
	case DNS_ERR_SERVERFAILED: return "SERVFAIL";
	case DNS_ERR_NOTEXIST: return "NXDOMAIN";
	default: return "?";
	}
}

/* The peer as the log wants it: a v4-mapped address (the socket is
 * dual-stack) is shown as plain IPv4. */
static void dnsd_peer_name(struct evdns_server_request *req, char *out, size_t size)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *sa6 = (const struct sockaddr_in6 *)&ss;
	const struct sockaddr_in *sa4 = (const struct sockaddr_in *)&ss;
	const char *text = NULL;

	out[0] = '\0';
	memset(&ss, 0, sizeof(ss));
	if (evdns_server_request_get_requesting_addr(req, (struct sockaddr *)&ss,
	    (int)sizeof(ss)) < 0)
		return;
	if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sa6->sin6_addr))
		text = inet_ntop(AF_INET, &sa6->sin6_addr.s6_addr[12], out, (socklen_t)size);
	else if (ss.ss_family == AF_INET6)
		text = inet_ntop(AF_INET6, &sa6->sin6_addr, out, (socklen_t)size);
	else if (ss.ss_family == AF_INET)
		text = inet_ntop(AF_INET, &sa4->sin_addr, out, (socklen_t)size);
	if (text == NULL)
		out[0] = '\0';
}

/* Append an entry to the log. A query that cannot be kept for want of
 * memory is still answered. */
static void dnsd_log_add(struct dnsd *d, const struct dnsd_query *entry)
{
	if (d->log_count == d->log_cap) {
		size_t cap = d->log_cap ? d->log_cap * 2 : 64;
		struct dnsd_query *log = realloc(d->log, cap * sizeof(*log));

		if (log == NULL)
			return;
		d->log = log;
		d->log_cap = cap;
	}
	d->log[d->log_count++] = *entry;
}

/* The index of the first rule that acts on query number ordinal, or -1.
 * Only rules that could act (in their window; DNSD_WRONG only for names in
 * the zone) draw, so a rule's window or a query's name never shifts the
 * draws of the rules after it in any other query. */
static int dnsd_pick_rule(struct dnsd *d, uint64_t ordinal, bool in_zone)
{
	int64_t since_start = serve_now_ns() - atomic_load(&d->t0_ns);
	struct rng rng;

	rng_seed(&rng, d->seed ^ DNSD_SEED_SALT, ordinal);
	for (size_t i = 0; i < d->rule_count; i++) {
		const struct dnsd_rule *r = &d->rules[i];

		if (since_start < r->from_ns || (r->until_ns >= 0 && since_start >= r->until_ns))
			continue;
		if (r->kind == DNSD_WRONG && !in_zone)
			continue;
		if (rng_chance(&rng, r->p))
			return (int)i;
	}
	return -1;
}

/* Add the one address answer for question q; returns 0 or -1 (no memory). */
static int dnsd_add_address(struct evdns_server_request *req,
    const struct evdns_server_question *q, int family, const char *text,
    struct dnsd_query *entry)
{
	uint8_t bytes[16];
	int rc;

	if (inet_pton(family, text, bytes) != 1)
		return -1;
	if (family == AF_INET)
		rc = evdns_server_request_add_a_reply(req, q->name, 1, bytes, DNSD_TTL);
	else
		rc = evdns_server_request_add_aaaa_reply(req, q->name, 1, bytes, DNSD_TTL);
	if (rc < 0)
		return -1;
	serve_copy_cut(entry->answer, sizeof(entry->answer), text);
	return 0;
}

/* Decide the answer to one question: fills the reply's answer section and
 * entry->rule/answer, returns the rcode, or -1 to drop the query. */
static int dnsd_decide(struct dnsd *d, uint64_t ordinal, struct evdns_server_request *req,
    const struct evdns_server_question *q, struct dnsd_query *entry)
{
	const struct dnsd_host *host = dnsd_zone_find(q->name);
	bool address_class = q->dns_question_class == EVDNS_CLASS_INET ||
	    q->dns_question_class == DNSD_CLASS_ANY;
	int family = 0;
	const char *text = NULL;

	entry->rule = dnsd_pick_rule(d, ordinal, host != NULL);
	if (entry->rule >= 0) {
		const struct dnsd_wrong_addr *wrong = &d->wrong[entry->rule];

		switch (d->rules[entry->rule].kind) {
		case DNSD_SERVFAIL:
			return DNS_ERR_SERVERFAILED;
		case DNSD_NXDOMAIN:
			return DNS_ERR_NOTEXIST;
		case DNSD_TIMEOUT:
			return -1;
		case DNSD_WRONG:
			/* An address of the other family than the question asks
			 * for leaves the answer empty: the name seems to have no
			 * address of that family. */
			if ((q->type == EVDNS_TYPE_A && wrong->family == AF_INET) ||
			    (q->type == EVDNS_TYPE_AAAA && wrong->family == AF_INET6)) {
				family = wrong->family;
				text = wrong->text;
			}
			break;
		}
	} else {
		if (host == NULL)
			return DNS_ERR_NOTEXIST;
		if (q->type == EVDNS_TYPE_A) {
			family = AF_INET;
			text = host->a;
		} else if (q->type == EVDNS_TYPE_AAAA) {
			family = AF_INET6;
			text = host->aaaa;
		}
	}
	if (text != NULL && address_class &&
	    dnsd_add_address(req, q, family, text, entry) < 0)
		return DNS_ERR_SERVERFAILED;
	return DNS_ERR_NONE;
}

static void dnsd_request_cb(struct evdns_server_request *req, void *arg)
{
	struct dnsd *d = arg;
	uint64_t ordinal = d->ordinal++;
	struct dnsd_query entry;
	int rcode;

	memset(&entry, 0, sizeof(entry));
	entry.t_ns = serve_now_ns();
	entry.rule = -1;
	dnsd_peer_name(req, entry.peer, sizeof(entry.peer));
	if (req->nquestions != 1) {
		/* What RFC 1035 servers do with zero or several questions; no
		 * rule acts, as there is no one name to act on. */
		rcode = DNS_ERR_FORMAT;
	} else {
		const struct evdns_server_question *q = req->questions[0];

		serve_copy_cut(entry.name, sizeof(entry.name), q->name);
		dnsd_type_name(q->type, entry.type, sizeof(entry.type));
		rcode = dnsd_decide(d, ordinal, req, q, &entry);
	}
	if (rcode < 0) {
		evdns_server_request_drop(req);
		serve_copy_cut(entry.rcode, sizeof(entry.rcode), "timeout");
		goto out;
	}
	serve_copy_cut(entry.rcode, sizeof(entry.rcode), dnsd_rcode_name(rcode));
	/* Authoritative for the zone and, to the client, a recursive resolver
	 * (libevent's EVDNS_FLAGS_RD is the RA bit on the wire). Without
	 * either, some stubs (Go's) take an empty answer for a lame referral. */
	evdns_server_request_set_flags(req, EVDNS_FLAGS_AA | EVDNS_FLAGS_RD);
	if (evdns_server_request_respond(req, rcode) < 0) {
		/* libevent 2.1 keeps the request when the reply could not be
		 * made or the socket would block: free it, and record that the
		 * client got nothing it was not meant to get. */
		evdns_server_request_drop(req);
		serve_copy_cut(entry.rcode, sizeof(entry.rcode), "unsent");
		entry.answer[0] = '\0';
	}
out:
	dnsd_log_add(d, &entry);
}

static void dnsd_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsd *d = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(d->base);
}

static void *dnsd_thread_main(void *arg)
{
	struct dnsd *d = arg;

	event_base_dispatch(d->base);
	/* Closes the socket too. Should a reply still wait in libevent's queue
	 * (a send the kernel refused just before the stop), the port stays
	 * referenced and is leaked rather than freed under that reply; running
	 * the loop again to flush it would make libevent 2.1 unlock the port
	 * it has just freed. */
	evdns_close_server_port(d->port);
	d->port = NULL;
	return NULL;
}

/* The UDP socket, inside the server's namespace. */
static int dnsd_bind(int ns_fd, uint16_t port, char **err)
{
	return serve_socket(ns_fd, SOCK_DGRAM, port, "DNS server", err);
}

/* Copy and check the rules into d. Returns 0, or -1 with *err. */
static int dnsd_set_rules(struct dnsd *d, const struct dnsd_rule *rules, size_t count,
    char **err)
{
	if (count == 0)
		return 0;
	d->rules = calloc(count, sizeof(*d->rules));
	d->wrong = calloc(count, sizeof(*d->wrong));
	if (d->rules == NULL || d->wrong == NULL) {
		serve_err(err, "out of memory");
		return -1;
	}
	d->rule_count = count;
	for (size_t i = 0; i < count; i++) {
		struct dnsd_rule *r = &d->rules[i];
		struct dnsd_wrong_addr *w = &d->wrong[i];

		*r = rules[i];
		/* The scenario side fills these; never trust them to end. */
		r->where[sizeof(r->where) - 1] = '\0';
		r->wrong_addr[sizeof(r->wrong_addr) - 1] = '\0';
		if (r->kind != DNSD_SERVFAIL && r->kind != DNSD_NXDOMAIN &&
		    r->kind != DNSD_TIMEOUT && r->kind != DNSD_WRONG) {
			serve_err(err, "%s: DNS rule %zu: unknown kind %d", r->where, i,
			    (int)r->kind);
			return -1;
		}
		/* Written so that NaN fails too. */
		if (!(r->p >= 0.0 && r->p <= 1.0)) {
			serve_err(err, "%s: DNS rule %zu: p must be between 0 and 1, not %g",
			    r->where, i, r->p);
			return -1;
		}
		if (r->kind != DNSD_WRONG)
			continue;
		if (inet_pton(AF_INET, r->wrong_addr, w->bytes) == 1)
			w->family = AF_INET;
		else if (inet_pton(AF_INET6, r->wrong_addr, w->bytes) == 1)
			w->family = AF_INET6;
		if (w->family == 0 ||
		    inet_ntop(w->family, w->bytes, w->text, sizeof(w->text)) == NULL) {
			serve_err(err, "%s: DNS rule %zu: expected an IPv4 or IPv6 address, found '%s'",
			    r->where, i, r->wrong_addr);
			return -1;
		}
	}
	return 0;
}

struct dnsd *dnsd_start(int ns_fd, uint16_t port, const struct dnsd_rule *rules,
    size_t rule_count, uint64_t seed, char **err)
{
	struct dnsd *d = NULL, *ret = NULL;
	sigset_t all, old;
	int fd = -1, rc;

	if (err != NULL)
		*err = NULL;
	serve_threads_init();
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		serve_err(err, "out of memory");
		goto out;
	}
	d->seed = seed;
	atomic_init(&d->t0_ns, serve_now_ns());
	if (dnsd_set_rules(d, rules, rule_count, err) < 0)
		goto out;
	fd = dnsd_bind(ns_fd, port, err);
	if (fd < 0)
		goto out;
	d->base = event_base_new();
	d->stop_event = d->base != NULL ? event_new(d->base, -1, 0, dnsd_stop_cb, d) : NULL;
	if (d->stop_event == NULL) {
		serve_err(err, "cannot set up the DNS server's event loop");
		goto out;
	}
	d->port = evdns_add_server_port_with_base(d->base, fd, 0, dnsd_request_cb, d);
	if (d->port == NULL) {
		serve_err(err, "cannot serve DNS on UDP port %u with libevent", (unsigned)port);
		goto out;
	}
	/* The port owns the socket from here and closes it with itself. */
	fd = -1;
	/* The server thread takes no signals: SIGINT belongs to the main loop. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&d->thread, NULL, dnsd_thread_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		serve_err(err, "cannot start the DNS server thread: %s", strerror(rc));
		goto out;
	}
	d->running = true;
	ret = d;
	d = NULL;
out:
	if (fd >= 0)
		close(fd);
	dnsd_free(d);
	return ret;
}

void dnsd_set_start(struct dnsd *d, int64_t t0_ns)
{
	if (d != NULL)
		atomic_store(&d->t0_ns, t0_ns);
}

void dnsd_stop(struct dnsd *d)
{
	if (d == NULL || !d->running)
		return;
	/* An active event, unlike event_base_loopbreak, is not lost if the
	 * thread has not entered its loop yet. */
	event_active(d->stop_event, EV_TIMEOUT, 0);
	pthread_join(d->thread, NULL);
	d->running = false;
}

const struct dnsd_query *dnsd_queries(const struct dnsd *d, size_t *count)
{
	*count = d != NULL ? d->log_count : 0;
	return d != NULL ? d->log : NULL;
}

void dnsd_free(struct dnsd *d)
{
	if (d == NULL)
		return;
	dnsd_stop(d);
	/* Only set when the thread never ran. */
	if (d->port != NULL)
		evdns_close_server_port(d->port);
	if (d->stop_event != NULL)
		event_free(d->stop_event);
	if (d->base != NULL)
		event_base_free(d->base);
	free(d->rules);
	free(d->wrong);
	free(d->log);
	free(d);
}
