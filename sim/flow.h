/* flow.h — the middlebox's connection table.
 *
 * A flow is one TCP connection or one UDP conversation, keyed by protocol and
 * both endpoints, with "client" being the side the packet engine saw coming
 * from the client network. Flows are numbered 1, 2, 3... in the order they
 * opened, which is how scenarios name them (`flows = {1, 3}`).
 *
 * For TCP the table follows each direction's sequence space: the initial
 * sequence number, the highest sequence sent (so an injected RST can carry the
 * exact number the receiver expects next), the latest acknowledgement, and
 * the count of distinct payload bytes (retransmissions are not counted twice).
 * It also follows the handshake and teardown to say how the flow ended. */
#ifndef FW_SIM_FLOW_H
#define FW_SIM_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "sim/packet.h"
#include "sim/rng.h"

enum flow_dir { DIR_UP = 1, DIR_DOWN = 2 };  /* up: client to server */

enum flow_state {
	FLOW_SYN_SENT,      /* client SYN seen, no answer yet */
	FLOW_SYN_RECEIVED,  /* server SYN|ACK seen */
	FLOW_ESTABLISHED,   /* handshake done, or first seen mid-stream */
	FLOW_CLOSING,       /* a FIN has been seen */
	FLOW_CLOSED,        /* both FINs, or an RST */
};

enum flow_end {
	FLOW_END_OPEN,
	FLOW_END_FIN,
	FLOW_END_RESET_INJECTED,
	FLOW_END_RESET_BY_CLIENT,
	FLOW_END_RESET_BY_SERVER,
	FLOW_END_REFUSED,
	FLOW_END_TIMEOUT,
};

/* The most fault rules one scenario may have (each flow keeps a small state
 * per rule). */
#define FLOW_MAX_RULES 32

/* Per-rule, per-flow state kept for the fault module. */
struct flow_rule_state {
	uint8_t decided;   /* the per-connection draw for `p` has been made */
	uint8_t chosen;    /* ...and it chose this flow */
	uint8_t fired;     /* the fault has acted on this flow at least once */
	uint32_t count;    /* packets it acted on */
	uint8_t caught;    /* conn_cap / rate_block: this connection is over the limit */
	uint8_t bad;       /* loss, Gilbert-Elliott: in the bad state */
	uint8_t introduced;  /* hook: on_flow has been called for this flow */
	int64_t free_ns[3];  /* rate: when each direction's link is free again */
};

/* One direction of a TCP flow. Sequence numbers are in host order. */
struct flow_side {
	int isn_known;
	uint32_t isn;          /* initial sequence number */
	uint32_t next_seq;     /* highest sequence + length sent so far */
	uint32_t last_ack;     /* latest acknowledgement number sent, if ack_seen */
	int ack_seen;
	uint16_t window;       /* latest window, unscaled */
	int fin_seen;
	uint64_t bytes;        /* distinct payload bytes sent */
	uint64_t packets;
};

struct flow {
	uint32_t id;                 /* ordinal: 1 for the first flow opened */
	uint8_t proto;               /* IPPROTO_TCP or IPPROTO_UDP */
	struct packet_addr client, server;
	uint16_t client_port, server_port;
	enum flow_state state;
	enum flow_end end;
	int64_t opened_ns, closed_ns, last_ns;  /* engine clock; closed_ns 0 while open */
	struct flow_side up, down;
	uint64_t packets;             /* packets seen in both directions */
	uint64_t dropped;             /* packets of this flow that a fault dropped */
	int midstream;                /* first seen without its SYN */
	int silenced;                 /* truncated or forgotten: later packets vanish */
	int64_t held_until_ns[3];     /* latest release time of its held packets, per direction */
	struct rng rng;               /* this flow's random stream */
	struct flow_rule_state *rules;  /* one per rule (flow_table_set_rule_count); NULL once retired */
	uint64_t decisions;           /* fault decisions recorded for this flow */
	uint64_t decision_point;      /* where the packet being decided sits: direction and stream offset */
	void *digest;                 /* running digest of those decisions (owned by the table) */
	int retired;                  /* long finished: its working state is freed, its summary kept */
	uint8_t final_digest[32];     /* the digest of its decisions, once retired */
	struct flow *hash_next;
	struct flow *live_prev, *live_next;  /* flows not yet retired */
};

struct flow_table;

/* A table whose flows draw their random streams from seed. NULL on ENOMEM. */
struct flow_table *flow_table_new(uint64_t seed);
void flow_table_free(struct flow_table *t);

/* The flow a packet belongs to given its direction, or NULL. */
struct flow *flow_lookup(struct flow_table *t, const struct packet *p, enum flow_dir dir);

/* Add the flow of packet p (travelling in dir) with the next ordinal.
 * Only TCP and UDP packets have flows; NULL for others or on ENOMEM. */
struct flow *flow_open(struct flow_table *t, const struct packet *p, enum flow_dir dir, int64_t now_ns);

/* Follow packet p of flow f: sequence numbers, byte counts, state, and how
 * the flow ended (an RST or FIN that passed through). Call only for packets
 * that are let through; dropped packets never reached the other side. */
void flow_update(struct flow *f, const struct packet *p, enum flow_dir dir, int64_t now_ns);

/* Mark f ended for reason unless it already ended (the first cause wins). */
void flow_end(struct flow *f, enum flow_end reason, int64_t now_ns);

/* Record one fault decision of f in its digest: which rule, what it did,
 * and at which packet of the flow. */
void flow_record_decision(struct flow_table *t, struct flow *f, int rule, int action);

/* How many rules each flow keeps state for (at most FLOW_MAX_RULES; the
 * default). Set before the first flow opens. */
void flow_table_set_rule_count(struct flow_table *t, size_t count);

/* Retire flows that no packet will need any more — closed for closed_ns,
 * or still opening after idle_ns — looking at no more than budget flows
 * from where the last call stopped (so one call never holds the loop).
 * A retired flow leaves the lookup table and frees its working state; its
 * summary (addresses, times, counts, end, digest) stays for the record.
 * Returns the number retired. */
size_t flow_table_retire(struct flow_table *t, int64_t now_ns, int64_t closed_ns, int64_t idle_ns, size_t budget);

/* Flows not yet retired, for sweeps: the first, and the next after f. */
struct flow *flow_table_live_first(const struct flow_table *t);
struct flow *flow_table_live_next(const struct flow *f);

/* Flows retired so far. */
size_t flow_table_retired(const struct flow_table *t);

/* Number of flows and the flow with a given ordinal (1-based), or NULL. */
size_t flow_table_count(const struct flow_table *t);
struct flow *flow_table_get(const struct flow_table *t, uint32_t id);

/* Hex SHA-256 (65 bytes with the NUL) over every flow's decisions, taken in
 * ordinal order, so interleaving between flows does not change it. */
void flow_table_digest(const struct flow_table *t, char out[65]);

/* Offset of the byte after the end of p's payload within its direction's
 * stream (0 = first payload byte), using the side's ISN. */
uint64_t flow_stream_offset(const struct flow_side *s, uint32_t seq);

const char *flow_end_name(enum flow_end e);
const char *flow_state_name(enum flow_state s);

#endif
