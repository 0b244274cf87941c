/* fault.h — fault rules and the per-packet decision.
 *
 * A scenario's faults become an ordered array of rules. For each packet the
 * engine asks fault_decide(); the first rule that applies decides, later ones
 * are not asked. Rules know nothing of sockets: they only say what should
 * happen (accept, drop, reset, refuse, unreachable) and the engine does it.
 *
 * The common keys of every fault: dirs (which directions it acts on), a time
 * window since the run started, the flows it applies to by ordinal, the
 * server port, and p — for connection faults (reset, refuse, unreachable,
 * blackhole) the probability that a given connection is chosen, drawn once
 * from that flow's random stream. */
#ifndef FW_SIM_FAULT_H
#define FW_SIM_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/craft.h"
#include "sim/flow.h"
#include "sim/packet.h"

enum fault_type {
	FAULT_RESET,
	FAULT_REFUSE,
	FAULT_UNREACHABLE,
	FAULT_BLACKHOLE,
	FAULT_LOSS,
	FAULT_DELAY,
	FAULT_REORDER,
	FAULT_RATE,
	FAULT_TRUNCATE,
	FAULT_CONN_CAP,
	FAULT_BLOCK,
	FAULT_RATE_BLOCK,
	FAULT_IDLE_TIMEOUT,
	FAULT_MTU,
	FAULT_DUPLICATE,
	FAULT_CORRUPT,
	FAULT_MATCH,
	FAULT_ROUTER_RESTART,
	FAULT_HOOK,
	FAULT_TYPE_COUNT,
};

enum fault_target { TARGET_CLIENT = 1, TARGET_SERVER = 2 };

struct fault_decision;

/* A hook rule's callback (scenario code): called for a packet of flow f
 * (opening = it is the flow's first packet); returns the action to take,
 * filling d->delay_ns for ACTION_DELAY. On an error in the scenario code it
 * sets d->error (malloc'd "file:line: message") and returns ACTION_DROP. */
typedef int (*fault_hook_fn)(void *arg, struct flow *f, const struct packet *p, int dir, int opening,
                             int64_t t_ns, struct fault_decision *d);

#define FAULT_MAX_FLOWS 64

struct fault_rule {
	enum fault_type type;
	char where[192];           /* "scenarios/x.lua:12", for messages */
	unsigned dirs;             /* DIR_UP | DIR_DOWN bits */
	int64_t from_ns;           /* window start since the run started (0: from the start) */
	int64_t until_ns;          /* window end, or -1 for none */
	uint32_t flows[FAULT_MAX_FLOWS];
	size_t flow_count;         /* 0: every flow */
	uint16_t port;             /* server port, 0: any */
	double p;                  /* per-connection probability */
	/* reset */
	int64_t after_bytes;       /* -1: not set */
	int64_t after_ns;          /* -1: not set */
	unsigned to;               /* TARGET_* bits */
	/* unreachable */
	enum craft_unreach code;
	/* loss: random with probability p, or Gilbert-Elliott (p: good to
	 * bad, r: bad to good, loss_good / loss_bad: loss in each state) */
	int gilbert;
	double r, loss_good, loss_bad;
	/* delay, reorder */
	int64_t delay_ns, jitter_ns;
	/* rate: bits per second, per flow and direction or shared by all */
	double bits_per_s;
	int shared;
	/* conn_cap, block, rate_block, idle_timeout: what happens to the
	 * connections they catch (ACTION_REFUSE, ACTION_RESET or ACTION_DROP) */
	int action;
	int http403;               /* rate_block / block: the server answers 403 */
	uint32_t max_conns;        /* conn_cap */
	int per_source;            /* conn_cap: count per client address */
	uint32_t conns;            /* rate_block: more than this many new connections... */
	int64_t within_ns;         /* ...within this window... */
	int64_t block_ns;          /* ...block the source this long */
	int64_t idle_ns;           /* idle_timeout */
	uint16_t mtu;              /* mtu: the largest packet that passes */
	int icmp;                  /* mtu: answer bigger ones with "too big" (else: silent) */
	int fix_checksum;          /* corrupt: keep the checksum valid (the damage reaches the application) */
	uint8_t pattern[256];      /* match: bytes looked for in a packet's payload */
	size_t pattern_len;
	fault_hook_fn hook;        /* hook */
	void *hook_arg;
	/* Run-time state of the rule (the engine's copy only). */
	int64_t shared_free_ns[3];     /* rate shared=true: when each direction is free */
	/* conn_cap: the connections it admitted and still counts (up to 4096;
	 * past that it counts by walking every flow instead, which is slow). */
	struct flow *counted[4096];
	size_t counted_count;
	int counted_overflow;
	struct fault_source {
		struct packet_addr addr;
		int64_t blocked_until_ns;
		int64_t recent_ns[64];     /* opening times of its latest connections */
		uint32_t recent_count, recent_next;
	} *sources;
	size_t source_count;
};

/* Sources a rate_block rule keeps track of at most. */
#define FAULT_MAX_SOURCES 64

enum fault_action {
	ACTION_ACCEPT,
	ACTION_DROP,
	ACTION_RESET,        /* drop the packet and reset the connection (RST to `to`) */
	ACTION_RESET_AGAIN,  /* the flow was reset already: drop, and answer the sender with RST */
	ACTION_REFUSE,       /* drop the SYN, answer RST|ACK */
	ACTION_UNREACHABLE,  /* drop, answer ICMP destination unreachable */
	ACTION_DELAY,        /* hold the packet for delay_ns, then accept it */
	ACTION_TRUNCATE,     /* drop, and end the connection early with FINs to both sides */
	ACTION_FORGET,       /* idle_timeout: the device forgot the connection; drop, RST the sender */
	ACTION_TOO_BIG,      /* mtu with icmp: drop, answer "fragmentation needed" / "packet too big" */
	ACTION_DUPLICATE,    /* accept, and send a copy */
	ACTION_CORRUPT,      /* accept a copy with one payload byte changed */
};

struct fault_decision {
	enum fault_action action;
	int rule;             /* index of the deciding rule, -1 when none */
	int first;            /* 1 when this is the rule's first action on this flow */
	unsigned to;          /* ACTION_RESET: TARGET_* bits */
	enum craft_unreach code;
	uint64_t at_bytes;    /* ACTION_RESET: bytes delivered in the counted direction(s) */
	int64_t delay_ns;     /* ACTION_DELAY: how long to hold */
	int keep_order;       /* ACTION_DELAY: not before earlier held packets of the flow */
	const char *why;      /* a static phrase for the log, or NULL */
	int64_t http403_until_ns;  /* the server should answer 403 until then (CLOCK_MONOTONIC) */
	uint64_t corrupt_at;       /* ACTION_CORRUPT: random bits choosing the byte and the change */
	char *error;               /* a hook failed: the message (the engine takes it) */
	uint32_t newly_fired;      /* rules (bits) that acted on this flow for the first time */
};

/* Whether a rule needs each packet whole and wire-sized (byte cuts, MTU,
 * copies, payload changes or matches). */
int fault_rule_needs_whole_packets(const struct fault_rule *r);

/* Fill a rule with the defaults of its type: both directions, no window, all
 * flows, any port, p = 1, reset to both sides with no trigger. */
void fault_rule_init(struct fault_rule *r, enum fault_type type);

/* Decide the fate of packet p (travelling in dir) of flow f at t_ns since the
 * run started, age_ns since the flow opened. f may be NULL for packets that belong to no flow (ICMP):
 * those are only subject to rules that do not need a connection. Updates the
 * flow's per-rule state (draws, fired) and records non-accept decisions in
 * the flow's digest through the table t. */
void fault_decide(struct flow_table *t, struct fault_rule *rules, size_t n,
                  struct flow *f, const struct packet *p, enum flow_dir dir,
                  int64_t t_ns, int64_t age_ns, struct fault_decision *d);

/* Time-driven faults: called periodically for each open flow. Returns 1 and
 * fills d when a rule acts now without a packet (a reset after_ms on an idle
 * connection), else 0. */
int fault_tick(struct flow_table *t, struct fault_rule *rules, size_t n,
               struct flow *f, int64_t t_ns, int64_t flow_age_ns, struct fault_decision *d);

const char *fault_type_name(enum fault_type type);
const char *fault_action_name(enum fault_action action);

#endif
