/* dnsd.h — the built-in DNS server that the client's resolver points at, on
 * libevent's evdns server API, in its own thread and event_base so that
 * neither the packet engine nor the HTTP server ever waits on it. Its UDP
 * socket (IPv4 and IPv6, all addresses) is opened inside the server's
 * network namespace.
 *
 * Zone (names case-insensitive, a trailing dot allowed, TTL 5):
 *   server.test   A 198.19.0.2   AAAA 2001:db8:5::2
 *   client.test   A 198.18.0.2   AAAA 2001:db8:c::2
 *   other types of these names: NOERROR without answers
 *   any other name: NXDOMAIN
 *
 * DNS faults are rules tried in order for each query; the first that
 * applies acts. A rule applies when the query falls in its window and its
 * probability draw succeeds; DNSD_WRONG rules apply only to names in the
 * zone. Every query is logged for the run record. */
#ifndef FW_HARNESS_DNSD_H
#define FW_HARNESS_DNSD_H

#include <stddef.h>
#include <stdint.h>

struct dnsd;

enum dnsd_fault {
	DNSD_SERVFAIL,          /* answer SERVFAIL */
	DNSD_NXDOMAIN,          /* answer NXDOMAIN, even for names in the zone */
	DNSD_TIMEOUT,           /* answer nothing */
	DNSD_WRONG,             /* answer wrong_addr instead of the zone's address */
};

struct dnsd_rule {
	enum dnsd_fault kind;
	double p;                 /* per query, drawn from a stream seeded by (seed, query ordinal) */
	int64_t from_ns, until_ns;/* window relative to the run start (dnsd_set_start); until_ns < 0: none */
	char wrong_addr[64];      /* DNSD_WRONG: the address to answer instead (IPv4 -> A answers; IPv6 -> AAAA answers; the other type gets an empty NOERROR answer) */
	char where[192];          /* "file:line" of the scenario rule, copied into the log */
};

struct dnsd_query {
	int64_t t_ns;             /* CLOCK_MONOTONIC */
	char name[256]; char type[8];   /* "A", "AAAA", other types by number e.g. "TYPE15" */
	char rcode[16];           /* "NOERROR", "NXDOMAIN", "SERVFAIL", or "timeout" when dropped;
	                           * also "FORMERR" (not exactly one question) and "unsent"
	                           * (the reply could not be sent: the client got nothing) */
	char answer[64];          /* the address answered, "" if none */
	int rule;                 /* index of the rule that acted, -1 */
	char peer[64];            /* client address without port; v4-mapped shown as IPv4 */
};

/* Start a server on UDP port (IPv4 and IPv6, all addresses) inside the
 * network namespace ns_fd (-1: the caller's own). rules (may be NULL when
 * rule_count is 0) are copied. Returns NULL with *err (malloc'd, the
 * caller frees it) when a rule is unusable (p outside 0..1, a wrong_addr
 * that is no IPv4 or IPv6 address) or the socket or thread cannot be made. */
struct dnsd *dnsd_start(int ns_fd, uint16_t port, const struct dnsd_rule *rules,
    size_t rule_count, uint64_t seed, char **err);

/* Set the run start (CLOCK_MONOTONIC ns) that rule windows count from;
 * until called, they count from dnsd_start. Safe from any thread. */
void dnsd_set_start(struct dnsd *d, int64_t t0_ns);

/* Stop the server thread and close the socket. Idempotent. */
void dnsd_stop(struct dnsd *d);

/* The queries logged, in arrival order; valid until dnsd_free. Call after
 * dnsd_stop (the log is not locked while the server runs). */
const struct dnsd_query *dnsd_queries(const struct dnsd *d, size_t *count);

/* Stop if needed and free everything. NULL is fine. */
void dnsd_free(struct dnsd *d);

#endif
