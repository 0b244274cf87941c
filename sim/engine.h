/* engine.h — the packet engine: one thread with its own event loop in the
 * middlebox namespace that reads the NFQUEUE, follows flows, applies the
 * fault rules, gives verdicts and injects RSTs and ICMP errors.
 *
 * Data flows one way: packet in -> parse -> flow lookup -> rules in order ->
 * verdict / injection -> record. Nothing outside reads the engine's state
 * while it runs; after engine_stop() its flows, events and stats are the
 * caller's to read until engine_free(). */
#ifndef FW_SIM_ENGINE_H
#define FW_SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/fault.h"
#include "sim/flow.h"

/* A timed action of the scenario (fw.at): fn runs on the engine thread at
 * at_ns after the run started; on failure it returns -1 with *err. */
struct engine_timer {
	int64_t at_ns;
	int (*fn)(void *arg, char **err);
	void *arg;
};

struct engine_config {
	int ns_fd;                     /* namespace the engine runs in (-1: the caller's) */
	uint16_t queue;                /* NFQUEUE number */
	int client_ifindex;            /* packets arriving on it travel up */
	/* The middlebox's own addresses, the source of its ICMP errors: on the
	 * client side and on the server side, for IPv4 and IPv6. */
	struct packet_addr client_side4, client_side6, server_side4, server_side6;
	const struct fault_rule *rules;  /* copied by engine_start */
	size_t rule_count;
	uint64_t seed;
	const struct engine_timer *timers;  /* copied by engine_start */
	size_t timer_count;
	/* For faultwire's own tests of its failure paths: fail on purpose after
	 * this many packets (0: never), and keep the kernel's queue this short
	 * (0: the normal length). */
	uint64_t fail_after_packets;
	uint32_t queue_maxlen;
	/* Called on the engine thread for every packet with its verdict (note),
	 * and for every packet the engine makes up (note "injected"); dir 1
	 * up, 2 down, 0 unknown. NULL: no capture. With a capture the engine
	 * copies packets whole. */
	void (*capture)(void *arg, int64_t t_ns, const uint8_t *data, size_t caplen, size_t len, int dir,
	                const char *note);
	void *capture_arg;
};

/* A fault acting on a flow, logged the first time each rule acts on each flow. */
struct engine_event {
	int64_t t_ns;        /* since the run started */
	uint32_t flow;       /* flow ordinal, 0 when none */
	int rule;            /* index into the rules */
	uint32_t flows_seen; /* connections opened before it fired */
	char fault[24];      /* fault type name */
	char detail[160];
};

struct engine_stats {
	uint64_t packets;     /* packets queued to the engine */
	uint64_t dropped;     /* packets a fault dropped */
	uint64_t delayed;     /* packets held back */
	uint64_t injected;    /* packets the engine made up and sent */
	uint64_t queue_drops; /* packets the kernel dropped: the engine did not see them */
	uint64_t unparsed;    /* packets that could not be parsed, dropped */
	uint64_t retired;     /* finished flows whose working state was freed */
	uint64_t longest_busy_ns;  /* longest time one read of the queue held the loop */
};

struct engine;

/* Start the engine thread; returns once its sockets are open in ns_fd and it
 * is reading, or NULL with *err (malloc'd) when they cannot be. */
struct engine *engine_start(const struct engine_config *config, char **err);

/* Set the moment the run started (CLOCK_MONOTONIC ns): rule windows and
 * event times count from it. Until then they count from engine_start. */
void engine_set_start(struct engine *e, int64_t t0_ns);

/* Stop the thread and collect the kernel's drop count. Idempotent. */
void engine_stop(struct engine *e);

/* After engine_stop: the flows (ordinals 1..n), events, stats, the digest
 * of decisions, and the engine's error if it failed while running (NULL
 * when it did not). All owned by the engine. */
struct flow_table *engine_flows(struct engine *e);
const struct engine_event *engine_events(const struct engine *e, size_t *count);
struct engine_stats engine_stats(const struct engine *e);
const char *engine_error(const struct engine *e);

/* A descriptor that becomes readable when the engine fails while running:
 * the run cannot go on (traffic has stopped). */
int engine_failure_fd(const struct engine *e);

/* 1 when the engine's error came from scenario code (a hook or a timed
 * action), not from the machine. */
int engine_error_is_scenario(const struct engine *e);
int64_t engine_start_ns(const struct engine *e);

/* Whether the server should answer 403 now (a block or rate_block with
 * action http403 is in force). Safe to call from any thread while the
 * engine runs. */
int engine_http403(struct engine *e, int64_t now_ns);

void engine_free(struct engine *e);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t engine_now_ns(void);

#endif
