/* check_dnsd.c — unit tests of the built-in DNS server and its faults.
 *
 * Every test first moves its (forked, private) process into a network
 * namespace of its own with only `lo` up, so that the tests never touch the
 * host's network and may all use the same port. The client is a small
 * blocking one written here that builds the query bytes itself and parses
 * the reply's header and answers, so that what is checked is what goes over
 * the wire rather than what a resolver library makes of it. */
#include "harness/dnsd.h"

#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TEST_PORT 5353
#define TEST_SEED 0x5eedULL
#define TYPE_A 1
#define TYPE_MX 15
#define TYPE_AAAA 28
#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
/* Long enough that a loaded machine still answers in time; a dropped query
 * is also confirmed from the server's log, never from the wait alone. */
#define ANSWER_WAIT_MS 2000
#define DROP_WAIT_MS 300
#define MAX_ANSWERS 8

struct dns_reply {
	bool answered;          /* false: nothing came within the wait */
	uint16_t flags;
	int rcode;
	int ancount;
	int answers;            /* A and AAAA records parsed */
	int type[MAX_ANSWERS];
	uint32_t ttl[MAX_ANSWERS];
	char addr[MAX_ANSWERS][INET6_ADDRSTRLEN];
};

static struct dnsd *server;
static uint16_t next_id = 0x1234;

/* ---- network namespace and server fixture ---- */

static void netns_private(void)
{
	struct ifreq ifr;
	int fd;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_msg(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0, "lo up: %s", strerror(errno));
	close(fd);
}

static void netns_setup(void)
{
	netns_private();
}

static void server_teardown(void)
{
	dnsd_free(server);
	server = NULL;
}

static void server_start_seeded(const struct dnsd_rule *rules, size_t count, uint64_t seed)
{
	char *err = NULL;

	dnsd_free(server);
	server = dnsd_start(-1, TEST_PORT, rules, count, seed, &err);
	ck_assert_msg(server != NULL, "dnsd_start: %s", err ? err : "?");
	ck_assert_ptr_null(err);
}

static void server_start(const struct dnsd_rule *rules, size_t count)
{
	server_start_seeded(rules, count, TEST_SEED);
}

static struct dnsd_rule rule_make(enum dnsd_fault kind, double p, const char *wrong_addr)
{
	struct dnsd_rule r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.p = p;
	r.from_ns = 0;
	r.until_ns = -1;
	if (wrong_addr != NULL)
		snprintf(r.wrong_addr, sizeof(r.wrong_addr), "%s", wrong_addr);
	snprintf(r.where, sizeof(r.where), "test.lua:%d", (int)kind + 10);
	return r;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- a small blocking UDP DNS client ---- */

/* Append name as DNS labels; returns the new offset. */
static size_t put_name(uint8_t *buf, size_t off, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);

		ck_assert(len > 0 && len < 64);
		buf[off++] = (uint8_t)len;
		memcpy(buf + off, name, len);
		off += len;
		name += len;
		if (*name == '.')
			name++;
	}
	buf[off++] = 0;
	return off;
}

/* A query with RD set, for name and type, whose header claims qdcount
 * questions (only one is written). Returns its length. */
static size_t build_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type,
    uint16_t qdcount)
{
	size_t off = 12;

	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01;          /* RD */
	buf[5] = (uint8_t)qdcount;
	off = put_name(buf, off, name);
	buf[off++] = (uint8_t)(type >> 8);
	buf[off++] = (uint8_t)type;
	buf[off++] = 0;
	buf[off++] = 1;         /* class IN */
	return off;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Skip a (possibly compressed) name at *off within len bytes. */
static void skip_name(const uint8_t *buf, size_t len, size_t *off)
{
	for (;;) {
		ck_assert_msg(*off < len, "name runs past the reply");
		if ((buf[*off] & 0xc0) == 0xc0) {
			*off += 2;
			return;
		}
		if (buf[*off] == 0) {
			*off += 1;
			return;
		}
		*off += 1u + buf[*off];
	}
}

static void parse_reply(const uint8_t *buf, size_t len, uint16_t id, struct dns_reply *r)
{
	size_t off = 12;
	int qdcount;

	ck_assert_msg(len >= 12, "reply of %zu bytes", len);
	ck_assert_int_eq(get16(buf), id);
	r->answered = true;
	r->flags = get16(buf + 2);
	ck_assert_msg(r->flags & 0x8000, "QR not set in the reply");
	r->rcode = r->flags & 0xf;
	qdcount = get16(buf + 4);
	r->ancount = get16(buf + 6);
	for (int i = 0; i < qdcount; i++) {
		skip_name(buf, len, &off);
		off += 4;
	}
	for (int i = 0; i < r->ancount; i++) {
		uint16_t type, rdlen;
		uint32_t ttl;

		skip_name(buf, len, &off);
		ck_assert_msg(off + 10 <= len, "answer header runs past the reply");
		type = get16(buf + off);
		ttl = (uint32_t)get16(buf + off + 4) << 16 | get16(buf + off + 6);
		rdlen = get16(buf + off + 8);
		off += 10;
		ck_assert_msg(off + rdlen <= len, "answer data runs past the reply");
		if ((type == TYPE_A && rdlen == 4) || (type == TYPE_AAAA && rdlen == 16)) {
			ck_assert_int_lt(r->answers, MAX_ANSWERS);
			r->type[r->answers] = type;
			r->ttl[r->answers] = ttl;
			ck_assert_ptr_nonnull(inet_ntop(type == TYPE_A ? AF_INET : AF_INET6,
			    buf + off, r->addr[r->answers], INET6_ADDRSTRLEN));
			r->answers++;
		}
		off += rdlen;
	}
}

/* Send the query bytes to the server over loopback of that family and wait
 * up to wait_ms for the reply with that id. */
static void exchange(int family, const uint8_t *query, size_t query_len, uint16_t id,
    int wait_ms, struct dns_reply *r)
{
	struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
	struct sockaddr_storage ss;
	socklen_t len;
	uint8_t buf[1500];
	ssize_t n;
	int fd;

	memset(r, 0, sizeof(*r));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(TEST_PORT);
		sa->sin6_addr = in6addr_loopback;
		len = sizeof(*sa);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(TEST_PORT);
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sa);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&ss, len) == 0, "connect: %s", strerror(errno));
	ck_assert_int_eq(send(fd, query, query_len, 0), (ssize_t)query_len);
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		/* Refused: no socket on the port (the ICMP error of a connected
		 * UDP socket); otherwise the wait ran out. */
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED,
		    "recv: %s", strerror(errno));
	} else {
		parse_reply(buf, (size_t)n, id, r);
	}
	close(fd);
}

static void query_wait(int family, const char *name, uint16_t type, int wait_ms,
    struct dns_reply *r)
{
	uint8_t query[512];
	uint16_t id = next_id++;
	size_t len = build_query(query, id, name, type, 1);

	exchange(family, query, len, id, wait_ms, r);
}

/* A query that must be answered. */
static void query(int family, const char *name, uint16_t type, struct dns_reply *r)
{
	query_wait(family, name, type, ANSWER_WAIT_MS, r);
	ck_assert_msg(r->answered, "no answer to %s type %u", name, (unsigned)type);
}

static void assert_address(const struct dns_reply *r, int type, const char *addr)
{
	ck_assert_int_eq(r->rcode, RCODE_NOERROR);
	ck_assert_int_eq(r->ancount, 1);
	ck_assert_int_eq(r->answers, 1);
	ck_assert_int_eq(r->type[0], type);
	ck_assert_str_eq(r->addr[0], addr);
	ck_assert_uint_eq(r->ttl[0], 5);
}

static void assert_empty(const struct dns_reply *r, int rcode)
{
	ck_assert_int_eq(r->rcode, rcode);
	ck_assert_int_eq(r->ancount, 0);
}

/* The server's log, after stopping it. */
static const struct dnsd_query *log_after_stop(size_t *count)
{
	dnsd_stop(server);
	return dnsd_queries(server, count);
}

/* ---- the zone ---- */

START_TEST(test_zone_a_aaaa)
{
	struct dns_reply r;

	server_start(NULL, 0);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	/* Authoritative and recursion available: stubs take it as final. */
	ck_assert_uint_eq(r.flags & 0x0480, 0x0480);
	/* The query's RD comes back. */
	ck_assert_uint_eq(r.flags & 0x0100, 0x0100);
	query(AF_INET, "server.test", TYPE_AAAA, &r);
	assert_address(&r, TYPE_AAAA, "2001:db8:5::2");
	query(AF_INET, "client.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.18.0.2");
	query(AF_INET, "client.test", TYPE_AAAA, &r);
	assert_address(&r, TYPE_AAAA, "2001:db8:c::2");
}
END_TEST

START_TEST(test_zone_over_ipv6)
{
	struct dns_reply r;

	server_start(NULL, 0);
	query(AF_INET6, "server.test", TYPE_AAAA, &r);
	assert_address(&r, TYPE_AAAA, "2001:db8:5::2");
	query(AF_INET6, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	query(AF_INET6, "nowhere.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
}
END_TEST

START_TEST(test_zone_case_insensitive)
{
	struct dns_reply r;

	server_start(NULL, 0);
	query(AF_INET, "SeRvEr.TeSt", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	query(AF_INET6, "CLIENT.TEST", TYPE_AAAA, &r);
	assert_address(&r, TYPE_AAAA, "2001:db8:c::2");
}
END_TEST

START_TEST(test_zone_unknown_names)
{
	struct dns_reply r;

	server_start(NULL, 0);
	query(AF_INET, "example.com", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
	/* Neither a suffix nor a prefix of a zone name is in the zone. */
	query(AF_INET, "www.server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
	query(AF_INET, "server.tes", TYPE_AAAA, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
	query(AF_INET, "server", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
}
END_TEST

START_TEST(test_zone_other_types)
{
	struct dns_reply r;

	server_start(NULL, 0);
	query(AF_INET, "server.test", TYPE_MX, &r);
	assert_empty(&r, RCODE_NOERROR);
	query(AF_INET, "nowhere.test", TYPE_MX, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
}
END_TEST

START_TEST(test_two_questions)
{
	struct dns_reply r;
	uint8_t buf[128];
	uint16_t id = next_id++;
	size_t len = build_query(buf, id, "server.test", TYPE_A, 2);
	const struct dnsd_query *log;
	size_t count;

	/* The second question repeats the first (the header says two). */
	memcpy(buf + len, buf + 12, len - 12);
	len += len - 12;
	server_start(NULL, 0);
	exchange(AF_INET, buf, len, id, ANSWER_WAIT_MS, &r);
	ck_assert(r.answered);
	assert_empty(&r, RCODE_FORMERR);
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(log[0].rcode, "FORMERR");
	ck_assert_str_eq(log[0].name, "");
	ck_assert_int_eq(log[0].rule, -1);
}
END_TEST

/* ---- faults ---- */

START_TEST(test_rule_servfail)
{
	struct dnsd_rule rule = rule_make(DNSD_SERVFAIL, 1.0, NULL);
	struct dns_reply r;

	server_start(&rule, 1);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_SERVFAIL);
	query(AF_INET6, "nowhere.test", TYPE_AAAA, &r);
	assert_empty(&r, RCODE_SERVFAIL);
}
END_TEST

START_TEST(test_rule_nxdomain)
{
	struct dnsd_rule rule = rule_make(DNSD_NXDOMAIN, 1.0, NULL);
	struct dns_reply r;

	server_start(&rule, 1);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
	query(AF_INET6, "client.test", TYPE_AAAA, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
}
END_TEST

START_TEST(test_rule_timeout)
{
	struct dnsd_rule rule = rule_make(DNSD_TIMEOUT, 1.0, NULL);
	const struct dnsd_query *log;
	struct dns_reply r;
	size_t count;

	server_start(&rule, 1);
	query_wait(AF_INET, "server.test", TYPE_A, DROP_WAIT_MS, &r);
	ck_assert(!r.answered);
	query_wait(AF_INET6, "server.test", TYPE_AAAA, DROP_WAIT_MS, &r);
	ck_assert(!r.answered);
	/* The server saw both and chose to say nothing. */
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 2);
	for (size_t i = 0; i < count; i++) {
		ck_assert_str_eq(log[i].rcode, "timeout");
		ck_assert_str_eq(log[i].answer, "");
		ck_assert_int_eq(log[i].rule, 0);
	}
}
END_TEST

START_TEST(test_rule_first_wins)
{
	struct dnsd_rule rules[3] = {
		rule_make(DNSD_SERVFAIL, 0.0, NULL),    /* never */
		rule_make(DNSD_NXDOMAIN, 1.0, NULL),
		rule_make(DNSD_SERVFAIL, 1.0, NULL),
	};
	const struct dnsd_query *log;
	struct dns_reply r;
	size_t count;

	server_start(rules, 3);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(log[0].rule, 1);
}
END_TEST

/* The SERVFAIL pattern of 200 queries under p = 0.5, as bits. */
static void servfail_pattern(uint64_t seed, uint8_t bits[25], int *fails)
{
	struct dnsd_rule rule = rule_make(DNSD_SERVFAIL, 0.5, NULL);
	struct dns_reply r;

	server_start_seeded(&rule, 1, seed);
	memset(bits, 0, 25);
	*fails = 0;
	for (int i = 0; i < 200; i++) {
		query(i % 2 ? AF_INET6 : AF_INET, "server.test", TYPE_A, &r);
		if (r.rcode == RCODE_SERVFAIL) {
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
			(*fails)++;
		} else {
			assert_address(&r, TYPE_A, "198.19.0.2");
		}
	}
	dnsd_free(server);
	server = NULL;
}

START_TEST(test_rule_probability)
{
	uint8_t first[25], again[25], other[25];
	int fails, fails_again, fails_other;

	servfail_pattern(TEST_SEED, first, &fails);
	ck_assert_msg(fails >= 70 && fails <= 130, "%d of 200 failed at p = 0.5", fails);
	/* The same seed draws the same for each query ordinal... */
	servfail_pattern(TEST_SEED, again, &fails_again);
	ck_assert_int_eq(fails_again, fails);
	ck_assert_mem_eq(first, again, sizeof(first));
	/* ...and another seed does not (equal by chance with p = 2^-200). */
	servfail_pattern(TEST_SEED + 1, other, &fails_other);
	ck_assert_msg(fails_other >= 70 && fails_other <= 130, "%d of 200 failed", fails_other);
	ck_assert(memcmp(first, other, sizeof(first)) != 0);
}
END_TEST

START_TEST(test_rule_wrong_ipv4)
{
	struct dnsd_rule rule = rule_make(DNSD_WRONG, 1.0, "203.0.113.7");
	const struct dnsd_query *log;
	struct dns_reply r;
	size_t count;

	server_start(&rule, 1);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "203.0.113.7");
	/* The name seems to have no IPv6 address. */
	query(AF_INET, "server.test", TYPE_AAAA, &r);
	assert_empty(&r, RCODE_NOERROR);
	query(AF_INET6, "Client.Test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "203.0.113.7");
	/* Not in the zone: the rule does not apply. */
	query(AF_INET, "nowhere.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 4);
	ck_assert_str_eq(log[0].answer, "203.0.113.7");
	ck_assert_int_eq(log[0].rule, 0);
	ck_assert_str_eq(log[1].answer, "");
	ck_assert_int_eq(log[1].rule, 0);
	ck_assert_int_eq(log[3].rule, -1);
	ck_assert_str_eq(log[3].rcode, "NXDOMAIN");
}
END_TEST

START_TEST(test_rule_wrong_ipv6)
{
	/* Written long: the answer and the log use the canonical form. */
	struct dnsd_rule rule = rule_make(DNSD_WRONG, 1.0, "2001:db8:bad:0:0:0:0:1");
	const struct dnsd_query *log;
	struct dns_reply r;
	size_t count;

	server_start(&rule, 1);
	query(AF_INET6, "server.test", TYPE_AAAA, &r);
	assert_address(&r, TYPE_AAAA, "2001:db8:bad::1");
	query(AF_INET6, "server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NOERROR);
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 2);
	ck_assert_str_eq(log[0].answer, "2001:db8:bad::1");
}
END_TEST

START_TEST(test_rule_wrong_only_in_zone)
{
	/* An unknown name skips the DNSD_WRONG rule and meets the next one. */
	struct dnsd_rule rules[2] = {
		rule_make(DNSD_WRONG, 1.0, "203.0.113.7"),
		rule_make(DNSD_SERVFAIL, 1.0, NULL),
	};
	const struct dnsd_query *log;
	struct dns_reply r;
	size_t count;

	server_start(rules, 2);
	query(AF_INET, "nowhere.test", TYPE_A, &r);
	assert_empty(&r, RCODE_SERVFAIL);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "203.0.113.7");
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(log[0].rule, 1);
	ck_assert_int_eq(log[1].rule, 0);
}
END_TEST

START_TEST(test_window_future)
{
	struct dnsd_rule rule = rule_make(DNSD_SERVFAIL, 1.0, NULL);
	const struct dnsd_query *log;
	struct dns_reply r;
	size_t count;

	rule.from_ns = 3600LL * 1000000000;
	server_start(&rule, 1);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(log[0].rule, -1);
}
END_TEST

START_TEST(test_window_past)
{
	struct dnsd_rule rule = rule_make(DNSD_SERVFAIL, 1.0, NULL);
	struct dns_reply r;

	/* Over 1 ns after the start, before any query can come. */
	rule.until_ns = 1;
	server_start(&rule, 1);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
}
END_TEST

START_TEST(test_window_set_start)
{
	struct dnsd_rule rules[2] = {
		rule_make(DNSD_SERVFAIL, 1.0, NULL),
		rule_make(DNSD_NXDOMAIN, 1.0, NULL),
	};
	struct dns_reply r;

	/* SERVFAIL from 1 h to 2 h into the run, NXDOMAIN from 3 h on. */
	rules[0].from_ns = 3600LL * 1000000000;
	rules[0].until_ns = 7200LL * 1000000000;
	rules[1].from_ns = 3 * 3600LL * 1000000000;
	server_start(rules, 2);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	/* The run started 90 min ago: inside the first window. */
	dnsd_set_start(server, now_ns() - 5400LL * 1000000000);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_SERVFAIL);
	/* 150 min ago: between the windows. */
	dnsd_set_start(server, now_ns() - 9000LL * 1000000000);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	/* 4 h ago: in the second, open-ended window. */
	dnsd_set_start(server, now_ns() - 4 * 3600LL * 1000000000);
	query(AF_INET, "server.test", TYPE_A, &r);
	assert_empty(&r, RCODE_NXDOMAIN);
}
END_TEST

START_TEST(test_bad_rules)
{
	struct dnsd_rule rule = rule_make(DNSD_SERVFAIL, 1.5, NULL);
	char *err = NULL;

	ck_assert_ptr_null(dnsd_start(-1, TEST_PORT, &rule, 1, TEST_SEED, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "test.lua:10") != NULL && strstr(err, "p must be") != NULL,
	    "error: %s", err);
	free(err);
	err = NULL;

	rule.p = NAN;
	ck_assert_ptr_null(dnsd_start(-1, TEST_PORT, &rule, 1, TEST_SEED, &err));
	ck_assert_ptr_nonnull(err);
	free(err);
	err = NULL;

	rule = rule_make(DNSD_WRONG, 1.0, "server.test");
	ck_assert_ptr_null(dnsd_start(-1, TEST_PORT, &rule, 1, TEST_SEED, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "test.lua:13") != NULL && strstr(err, "'server.test'") != NULL,
	    "error: %s", err);
	free(err);
	err = NULL;

	/* Nothing was left bound: a good server starts on the same port. */
	rule = rule_make(DNSD_WRONG, 1.0, "203.0.113.7");
	server_start(&rule, 1);
}
END_TEST

/* ---- the log ---- */

START_TEST(test_query_log)
{
	struct dnsd_rule rule = rule_make(DNSD_SERVFAIL, 1.0, NULL);
	const struct dnsd_query *log;
	struct dns_reply r;
	int64_t before, after;
	size_t count;

	/* Only queries from 1 h on fail... */
	rule.from_ns = 3600LL * 1000000000;
	server_start(&rule, 1);
	before = now_ns();
	query(AF_INET, "Server.Test", TYPE_A, &r);
	query(AF_INET6, "server.test", TYPE_AAAA, &r);
	query(AF_INET, "nowhere.test", TYPE_A, &r);
	query(AF_INET6, "client.test", TYPE_MX, &r);
	/* ...which this one is. */
	dnsd_set_start(server, now_ns() - 2 * 3600LL * 1000000000);
	query(AF_INET, "client.test", TYPE_A, &r);
	after = now_ns();
	log = log_after_stop(&count);
	ck_assert_uint_eq(count, 5);

	ck_assert_str_eq(log[0].name, "Server.Test");       /* as asked */
	ck_assert_str_eq(log[0].type, "A");
	ck_assert_str_eq(log[0].rcode, "NOERROR");
	ck_assert_str_eq(log[0].answer, "198.19.0.2");
	ck_assert_int_eq(log[0].rule, -1);
	ck_assert_str_eq(log[0].peer, "127.0.0.1");         /* not ::ffff:127.0.0.1 */

	ck_assert_str_eq(log[1].name, "server.test");
	ck_assert_str_eq(log[1].type, "AAAA");
	ck_assert_str_eq(log[1].answer, "2001:db8:5::2");
	ck_assert_str_eq(log[1].peer, "::1");

	ck_assert_str_eq(log[2].rcode, "NXDOMAIN");
	ck_assert_str_eq(log[2].answer, "");

	ck_assert_str_eq(log[3].type, "TYPE15");
	ck_assert_str_eq(log[3].rcode, "NOERROR");
	ck_assert_str_eq(log[3].answer, "");

	ck_assert_str_eq(log[4].rcode, "SERVFAIL");
	ck_assert_str_eq(log[4].answer, "");
	ck_assert_int_eq(log[4].rule, 0);

	for (size_t i = 0; i < count; i++) {
		ck_assert(log[i].t_ns >= before && log[i].t_ns <= after);
		if (i > 0)
			ck_assert(log[i].t_ns >= log[i - 1].t_ns);
	}
}
END_TEST

/* ---- start, stop, free ---- */

START_TEST(test_stop_free)
{
	struct dns_reply r;
	const struct dnsd_query *log;
	size_t count;

	server_start(NULL, 0);
	query(AF_INET, "server.test", TYPE_A, &r);
	dnsd_stop(server);
	dnsd_stop(server);      /* idempotent */
	log = dnsd_queries(server, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_ptr_nonnull(log);
	/* The socket is closed: nothing answers any more. */
	query_wait(AF_INET, "server.test", TYPE_A, DROP_WAIT_MS, &r);
	ck_assert(!r.answered);
	dnsd_free(server);
	server = NULL;
	dnsd_free(NULL);
	/* Stopped at once after starting, and freed without a stop. */
	server_start(NULL, 0);
	dnsd_stop(server);
	server_start(NULL, 0);
	query(AF_INET6, "server.test", TYPE_AAAA, &r);
	assert_address(&r, TYPE_AAAA, "2001:db8:5::2");
	dnsd_free(server);
	server = NULL;
}
END_TEST

START_TEST(test_port_in_use)
{
	struct dnsd *second;
	char *err = NULL;

	server_start(NULL, 0);
	second = dnsd_start(-1, TEST_PORT, NULL, 0, TEST_SEED, &err);
	ck_assert_ptr_null(second);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "5353") != NULL, "error: %s", err);
	free(err);
}
END_TEST

START_TEST(test_other_namespace)
{
	struct dns_reply r;
	struct stat before, after;
	int server_ns, client_ns;
	char *err = NULL;
	struct dnsd *d;

	/* The fixture's namespace serves; a second one asks. */
	server_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(server_ns, 0);
	netns_private();
	client_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(client_ns, 0);
	ck_assert_int_eq(fstat(client_ns, &before), 0);

	d = dnsd_start(server_ns, TEST_PORT, NULL, 0, TEST_SEED, &err);
	ck_assert_msg(d != NULL, "dnsd_start: %s", err ? err : "?");
	/* The caller is back in its own namespace... */
	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &after), 0);
	ck_assert(before.st_ino == after.st_ino && before.st_dev == after.st_dev);
	/* ...where nothing serves... */
	query_wait(AF_INET, "server.test", TYPE_A, DROP_WAIT_MS, &r);
	ck_assert(!r.answered);
	/* ...but in the server's namespace it answers. */
	ck_assert_int_eq(setns(server_ns, CLONE_NEWNET), 0);
	query(AF_INET6, "server.test", TYPE_A, &r);
	assert_address(&r, TYPE_A, "198.19.0.2");
	ck_assert_int_eq(setns(client_ns, CLONE_NEWNET), 0);

	dnsd_free(d);
	close(server_ns);
	close(client_ns);
}
END_TEST

START_TEST(test_bad_namespace)
{
	char *err = NULL;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_null(dnsd_start(fd, TEST_PORT, NULL, 0, TEST_SEED, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "namespace") != NULL, "error: %s", err);
	free(err);
	close(fd);
}
END_TEST

static Suite *dnsd_suite(void)
{
	Suite *s = suite_create("dnsd");
	TCase *zone = tcase_create("zone");
	TCase *faults = tcase_create("faults");
	TCase *log = tcase_create("log");
	TCase *life = tcase_create("life");

	tcase_add_checked_fixture(zone, netns_setup, server_teardown);
	tcase_add_test(zone, test_zone_a_aaaa);
	tcase_add_test(zone, test_zone_over_ipv6);
	tcase_add_test(zone, test_zone_case_insensitive);
	tcase_add_test(zone, test_zone_unknown_names);
	tcase_add_test(zone, test_zone_other_types);
	tcase_add_test(zone, test_two_questions);
	suite_add_tcase(s, zone);

	tcase_add_checked_fixture(faults, netns_setup, server_teardown);
	tcase_set_timeout(faults, 30);
	tcase_add_test(faults, test_rule_servfail);
	tcase_add_test(faults, test_rule_nxdomain);
	tcase_add_test(faults, test_rule_timeout);
	tcase_add_test(faults, test_rule_first_wins);
	tcase_add_test(faults, test_rule_probability);
	tcase_add_test(faults, test_rule_wrong_ipv4);
	tcase_add_test(faults, test_rule_wrong_ipv6);
	tcase_add_test(faults, test_rule_wrong_only_in_zone);
	tcase_add_test(faults, test_window_future);
	tcase_add_test(faults, test_window_past);
	tcase_add_test(faults, test_window_set_start);
	tcase_add_test(faults, test_bad_rules);
	suite_add_tcase(s, faults);

	tcase_add_checked_fixture(log, netns_setup, server_teardown);
	tcase_add_test(log, test_query_log);
	suite_add_tcase(s, log);

	tcase_add_checked_fixture(life, netns_setup, server_teardown);
	tcase_set_timeout(life, 30);
	tcase_add_test(life, test_stop_free);
	tcase_add_test(life, test_port_in_use);
	tcase_add_test(life, test_other_namespace);
	tcase_add_test(life, test_bad_namespace);
	suite_add_tcase(s, life);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnsd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
