/* engine.c — the packet engine; see engine.h. */
#include "sim/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/checksum.h"
#include "sim/craft.h"
#include "sim/inject.h"
#include "sim/nfqueue.h"

/* Headers only: IPv6 with extension headers plus the longest TCP header. */
#define ENGINE_COPY_RANGE 192
/* Time-driven faults (reset after_ms) are checked this often. */
#define ENGINE_TICK_US 5000
/* Flows closed this long ago, or stuck opening this long, are retired. */
#define ENGINE_RETIRE_CLOSED_NS (2 * 1000000000LL)
#define ENGINE_RETIRE_OPENING_NS (30 * 1000000000LL)
#define ENGINE_RETIRE_PER_TICK 4096
/* Datagrams read per wakeup before the loop looks at its timers again. */
#define ENGINE_READS_PER_WAKEUP 64

/* A packet whose verdict waits (delay, rate, reorder). */
struct held_packet {
	int64_t release_ns;
	uint64_t order;       /* ties leave in arrival order */
	uint32_t id;
};

struct engine {
	struct engine_config config;
	struct fault_rule *rules;
	int has_timed_rules;
	/* A rule cuts streams at a byte count, or copies, changes, reads or
	 * measures whole packets: packets come wire-sized and whole. */
	int exact_bytes;

	pthread_t thread;
	int thread_started;
	int stop_pipe[2];
	_Atomic int64_t t0_ns;
	int64_t started_ns;

	/* Set by the thread before it reports ready. */
	pthread_mutex_t lock;
	pthread_cond_t ready_cond;
	int ready;
	char *setup_error;

	/* Owned by the thread while it runs. */
	struct event_base *base;
	struct nfqueue *queue;
	struct injector *injector;
	struct flow_table *flows;
	struct engine_event *events;
	size_t event_count, event_capacity;
	struct engine_stats stats;
	char *error;
	int error_is_scenario;
	int failed_pipe[2];          /* written once when the engine fails */
	int stopped;
	struct engine_timer *timers;
	size_t timers_done;          /* timers run so far (they are sorted) */

	/* Held verdicts: a min-heap on release time, and one timer for the
	 * earliest. */
	struct held_packet *held;
	size_t held_count, held_capacity;
	uint64_t held_order;
	struct event *held_timer;
	_Atomic int64_t http403_until_ns;
};

static void engine_on_queue(evutil_socket_t fd, short what, void *arg);
static void engine_on_stop(evutil_socket_t fd, short what, void *arg);
static void engine_on_tick(evutil_socket_t fd, short what, void *arg);
static void engine_on_packet(const struct nfqueue_packet *pkt, void *arg);
static void engine_on_held(evutil_socket_t fd, short what, void *arg);

int64_t engine_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t engine_run_time(struct engine *e, int64_t now)
{
	return now - atomic_load(&e->t0_ns);
}

static void engine_fail(struct engine *e, char *err)
{
	/* Keep the first failure: it is the cause, later ones are effects. */
	if (!e->error) {
		e->error = err ? err : strdup("engine failure");
		char byte = 1;
		if (write(e->failed_pipe[1], &byte, 1) < 0) {
			/* Nobody waits on it then: the run still ends at its timeout. */
		}
	} else {
		free(err);
	}
	event_base_loopbreak(e->base);
}

static void engine_log(struct engine *e, int64_t now, const struct flow *f, int rule, const char *detail)
{
	if (e->event_count == e->event_capacity) {
		size_t cap = e->event_capacity ? e->event_capacity * 2 : 32;
		struct engine_event *v = realloc(e->events, cap * sizeof *v);
		if (!v)
			return;
		e->events = v;
		e->event_capacity = cap;
	}
	struct engine_event *ev = &e->events[e->event_count++];
	memset(ev, 0, sizeof *ev);
	ev->t_ns = engine_run_time(e, now);
	ev->flow = f ? f->id : 0;
	ev->rule = rule;
	ev->flows_seen = (uint32_t)flow_table_count(e->flows);
	snprintf(ev->fault, sizeof ev->fault, "%s", rule >= 0 ? fault_type_name(e->rules[rule].type) : "?");
	snprintf(ev->detail, sizeof ev->detail, "%s", detail);
}

static void engine_send(struct engine *e, const uint8_t *packet, size_t len)
{
	char *err = NULL;
	if (!len)
		return;
	if (e->config.capture)
		e->config.capture(e->config.capture_arg, engine_now_ns(), packet, len, len, 0, "injected");
	if (inject_send(e->injector, packet, len, &err) < 0) {
		engine_fail(e, err);
		return;
	}
	e->stats.injected++;
}

/* RST (with ACK) from one endpoint of f to the other. seq must be exactly
 * what the receiver expects next: Linux answers an RST that is merely
 * in-window with a challenge ACK (RFC 5961) instead of resetting. */
static void engine_send_rst(struct engine *e, const struct flow *f, int to_client, uint32_t seq, uint32_t ack)
{
	struct craft_tcp t = {
		.seq = seq, .ack = ack, .flags = TCP_RST | TCP_ACK,
	};
	if (to_client) {
		t.src = f->server; t.sport = f->server_port;
		t.dst = f->client; t.dport = f->client_port;
	} else {
		t.src = f->client; t.sport = f->client_port;
		t.dst = f->server; t.dport = f->server_port;
	}
	uint8_t buf[128];
	engine_send(e, buf, craft_tcp_segment(buf, sizeof buf, &t));
}

static void engine_reset_flow(struct engine *e, struct flow *f, unsigned to, int64_t now)
{
	if (to & TARGET_CLIENT)
		engine_send_rst(e, f, 1, f->down.next_seq, f->up.next_seq);
	if (to & TARGET_SERVER)
		engine_send_rst(e, f, 0, f->up.next_seq, f->down.next_seq);
	flow_end(f, FLOW_END_RESET_INJECTED, now);
}

static int held_before(const struct held_packet *a, const struct held_packet *b)
{
	return a->release_ns < b->release_ns || (a->release_ns == b->release_ns && a->order < b->order);
}

static void engine_arm_held_timer(struct engine *e, int64_t now)
{
	if (!e->held_count)
		return;
	int64_t wait = e->held[0].release_ns - now;
	if (wait < 0)
		wait = 0;
	struct timeval tv = { (time_t)(wait / 1000000000), (suseconds_t)((wait % 1000000000) / 1000) };
	evtimer_add(e->held_timer, &tv);
}

/* Hold packet id until release_ns. Returns 0, or -1 when out of memory
 * (the caller then lets the packet go at once). */
static int engine_hold(struct engine *e, uint32_t id, int64_t release_ns, int64_t now)
{
	if (e->held_count == e->held_capacity) {
		size_t cap = e->held_capacity ? e->held_capacity * 2 : 1024;
		struct held_packet *v = realloc(e->held, cap * sizeof *v);
		if (!v)
			return -1;
		e->held = v;
		e->held_capacity = cap;
	}
	size_t i = e->held_count++;
	struct held_packet h = { release_ns, e->held_order++, id };
	while (i > 0 && held_before(&h, &e->held[(i - 1) / 2])) {
		e->held[i] = e->held[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	e->held[i] = h;
	if (i == 0)
		engine_arm_held_timer(e, now);
	e->stats.delayed++;
	return 0;
}

static struct held_packet engine_pop_held(struct engine *e)
{
	struct held_packet top = e->held[0];
	struct held_packet last = e->held[--e->held_count];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= e->held_count)
			break;
		if (child + 1 < e->held_count && held_before(&e->held[child + 1], &e->held[child]))
			child++;
		if (!held_before(&e->held[child], &last))
			break;
		e->held[i] = e->held[child];
		i = child;
	}
	if (e->held_count)
		e->held[i] = last;
	return top;
}

/* Let every held packet whose time has come (all of them when `all`). */
static void engine_release_held(struct engine *e, int all)
{
	int64_t now = engine_now_ns();
	char *err = NULL;
	while (e->held_count && (all || e->held[0].release_ns <= now)) {
		struct held_packet h = engine_pop_held(e);
		if (nfqueue_verdict(e->queue, h.id, NFQUEUE_ACCEPT, &err) < 0) {
			engine_fail(e, err);
			return;
		}
	}
	if (nfqueue_flush(e->queue, &err) < 0)
		engine_fail(e, err);
	engine_arm_held_timer(e, now);
}

static void engine_on_held(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	engine_release_held(arg, 0);
}

static void engine_send_fin(struct engine *e, const struct flow *f, int to_client)
{
	struct craft_tcp t = { .flags = TCP_FIN | TCP_ACK };
	if (to_client) {
		t.src = f->server; t.sport = f->server_port;
		t.dst = f->client; t.dport = f->client_port;
		t.seq = f->down.next_seq; t.ack = f->up.next_seq;
	} else {
		t.src = f->client; t.sport = f->client_port;
		t.dst = f->server; t.dport = f->server_port;
		t.seq = f->up.next_seq; t.ack = f->down.next_seq;
	}
	uint8_t buf[128];
	engine_send(e, buf, craft_tcp_segment(buf, sizeof buf, &t));
}

/* Before a stream is cut at after_bytes, let through the first bytes of the
 * packet that crosses the line, so the client gets exactly that many.
 * Only for whole, in-order packets (exact mode copies them whole). Returns
 * the bytes delivered, 0 when the packet was not cut. */
static size_t engine_deliver_head(struct engine *e, struct flow *f, const struct packet *p, enum flow_dir dir,
                                  const struct fault_rule *r, int64_t now)
{
	const struct flow_side *s = dir == DIR_UP ? &f->up : &f->down;
	if (!e->exact_bytes || r->after_bytes < 0 || !(r->dirs & dir) || !p->payload_len ||
	    p->caplen < p->len || p->seq != s->next_seq)
		return 0;
	uint64_t counted = ((r->dirs & DIR_UP) ? f->up.bytes : 0) + ((r->dirs & DIR_DOWN) ? f->down.bytes : 0);
	if (counted >= (uint64_t)r->after_bytes || (uint64_t)r->after_bytes - counted >= p->payload_len)
		return 0;
	size_t head = (size_t)((uint64_t)r->after_bytes - counted);
	size_t n = p->payload_off + head;
	uint8_t buf[65536];
	if (n > sizeof buf)
		return 0;
	memcpy(buf, p->data, n);
	if (p->family == AF_INET) {
		size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
		buf[2] = (uint8_t)(n >> 8);
		buf[3] = (uint8_t)n;
		buf[10] = buf[11] = 0;
		uint16_t sum = checksum_ipv4_header(buf, ihl);
		buf[10] = (uint8_t)(sum >> 8);
		buf[11] = (uint8_t)sum;
	} else {
		buf[4] = (uint8_t)((n - 40) >> 8);
		buf[5] = (uint8_t)(n - 40);
	}
	/* The rest of the data (and a FIN riding on it) never arrives. */
	buf[p->l4_off + 13] &= (uint8_t)~TCP_FIN;
	buf[p->l4_off + 16] = buf[p->l4_off + 17] = 0;
	uint16_t sum = checksum_l4(p->family, p->src.bytes, p->dst.bytes, IPPROTO_TCP, buf + p->l4_off, n - p->l4_off);
	buf[p->l4_off + 16] = (uint8_t)(sum >> 8);
	buf[p->l4_off + 17] = (uint8_t)sum;
	engine_send(e, buf, n);
	struct packet cut = *p;
	cut.len = n;
	cut.payload_len = head;
	cut.tcp_flags &= (uint8_t)~TCP_FIN;
	flow_update(f, &cut, dir, now);
	return head;
}

/* Log the rules that acted on f for the first time without deciding the
 * packet's fate (shaping, 403 blocks): all of d->newly_fired but skip. */
static void engine_log_quiet_rules(struct engine *e, int64_t now, const struct flow *f,
                                   const struct fault_decision *d, int skip)
{
	for (int i = 0; i < 32 && f; i++) {
		if (i == skip || !((d->newly_fired >> i) & 1))
			continue;
		const struct fault_rule *r = &e->rules[i];
		char detail[160];
		switch (r->type) {
		case FAULT_RATE:
			snprintf(detail, sizeof detail, "shaping the connection to %.0f kbit/s%s", r->bits_per_s / 1000.0,
			         r->shared ? ", shared" : "");
			break;
		case FAULT_REORDER:
			snprintf(detail, sizeof detail, "holding packets back %.0f ms so later ones overtake them",
			         (double)r->delay_ns / 1e6);
			break;
		case FAULT_DELAY:
			snprintf(detail, sizeof detail, "delaying the connection's packets by %.0f ms (jitter %.0f ms)",
			         (double)r->delay_ns / 1e6, (double)r->jitter_ns / 1e6);
			break;
		case FAULT_BLOCK:
			snprintf(detail, sizeof detail, "source blocked: the server answers 403");
			break;
		case FAULT_RATE_BLOCK:
			snprintf(detail, sizeof detail, "too many new connections: source blocked, the server answers 403");
			break;
		case FAULT_HOOK:
			snprintf(detail, sizeof detail, "the hook is delaying packets");
			break;
		default:
			continue;
		}
		engine_log(e, now, f, i, detail);
	}
}

static const char *unreach_name(enum craft_unreach code)
{
	switch (code) {
	case UNREACH_NET: return "network";
	case UNREACH_HOST: return "host";
	case UNREACH_PORT: return "port";
	case UNREACH_ADMIN: return "administratively prohibited";
	}
	return "?";
}

static const char *dir_bytes_name(unsigned dirs)
{
	return dirs == DIR_UP ? "up" : dirs == DIR_DOWN ? "down" : "in both directions";
}

static const char *targets_name(unsigned to)
{
	return to == TARGET_CLIENT ? "the client" : to == TARGET_SERVER ? "the server" : "client and server";
}

/* Carry out a decision on a packet; returns the verdict. */
/* Pass a copy of p with one payload byte changed, chosen by bits. With
 * fix_checksum the TCP/UDP checksum is made right again, so the damage
 * reaches the application; without, the receiver's stack drops it. */
static int engine_corrupt(struct engine *e, uint32_t id, const struct packet *p, uint64_t bits, int fix_checksum)
{
	uint8_t buf[65536];
	char *err = NULL;
	size_t n = p->caplen < p->len ? p->caplen : p->len;
	if (n > sizeof buf || p->payload_off >= n)
		return NFQUEUE_ACCEPT;
	memcpy(buf, p->data, n);
	size_t at = p->payload_off + (size_t)(bits % (n - p->payload_off));
	buf[at] ^= (uint8_t)(1u << ((bits >> 32) % 8));
	if (fix_checksum && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		size_t field = p->l4_off + (p->proto == IPPROTO_TCP ? 16 : 6);
		buf[field] = buf[field + 1] = 0;
		uint16_t sum = checksum_l4(p->family, p->src.bytes, p->dst.bytes, p->proto, buf + p->l4_off, n - p->l4_off);
		buf[field] = (uint8_t)(sum >> 8);
		buf[field + 1] = (uint8_t)sum;
	}
	if (nfqueue_verdict_packet(e->queue, id, NFQUEUE_ACCEPT, buf, n, &err) < 0)
		engine_fail(e, err);
	return -1;
}

static int engine_apply(struct engine *e, uint32_t id, struct flow *f, const struct packet *p, enum flow_dir dir,
                        const struct fault_decision *d, int64_t now)
{
	char detail[160] = "";
	uint8_t buf[1400];
	const struct fault_rule *r = d->rule >= 0 ? &e->rules[d->rule] : NULL;
	char addr[80];

	switch (d->action) {
	case ACTION_ACCEPT:
		if (f)
			flow_update(f, p, dir, now);
		if (d->http403_until_ns && d->http403_until_ns > atomic_load(&e->http403_until_ns))
			atomic_store(&e->http403_until_ns, d->http403_until_ns);
		engine_log_quiet_rules(e, now, f, d, -1);
		return NFQUEUE_ACCEPT;
	case ACTION_DROP:
		if (f)
			f->dropped++;
		e->stats.dropped++;
		if (r && r->type == FAULT_IDLE_TIMEOUT)
			f->silenced = 1;
		if (d->first && r && r->type == FAULT_LOSS)
			snprintf(detail, sizeof detail, "dropping packets at random (%s)",
			         r->gilbert ? "Gilbert-Elliott bursts" : "independent");
		else if (d->first && r && r->type == FAULT_HOOK)
			snprintf(detail, sizeof detail, "the hook dropped a packet");
		else if (d->first && r && r->type == FAULT_MTU)
			snprintf(detail, sizeof detail, "dropping packets over %u bytes without a word (MTU black hole)", r->mtu);
		else if (d->first && r && r->type == FAULT_MATCH)
			snprintf(detail, sizeof detail, "payload matched: dropping it");
		else if (d->first && r && r->type == FAULT_ROUTER_RESTART)
			snprintf(detail, sizeof detail, "router down: dropping everything");
		else if (d->first && r && r->type == FAULT_IDLE_TIMEOUT)
			snprintf(detail, sizeof detail, "idle for %.1f s: the connection was forgotten, its packets vanish",
			         (double)(now - f->last_ns) / 1e9);
		else if (d->first && d->why)
			snprintf(detail, sizeof detail, "%s: dropping its packets", d->why);
		else if (d->first)
			snprintf(detail, sizeof detail, "silently dropping %s packets of the connection",
			         r && r->dirs != (DIR_UP | DIR_DOWN) ? dir_bytes_name(r->dirs) : "all");
		if (f)
			f->last_ns = now;
		break;
	case ACTION_RESET: {
		e->stats.dropped++;
		f->dropped++;
		size_t head = engine_deliver_head(e, f, p, dir, r, now);
		engine_reset_flow(e, f, d->to, now);
		if (r->type == FAULT_MATCH)
			snprintf(detail, sizeof detail, "payload matched: RST to %s", targets_name(d->to));
		else if (r->after_bytes >= 0)
			snprintf(detail, sizeof detail, "after %llu bytes %s: RST to %s",
			         (unsigned long long)(d->at_bytes + head), dir_bytes_name(r->dirs), targets_name(d->to));
		else
			snprintf(detail, sizeof detail, "after %.3f s: RST to %s",
			         (double)(now - f->opened_ns) / 1e9, targets_name(d->to));
		break;
	}
	case ACTION_RESET_AGAIN:
		/* The sender still believes in the connection: answer with the
		 * sequence number its own ACK says it expects. */
		e->stats.dropped++;
		f->dropped++;
		if (p->tcp_flags & TCP_ACK)
			engine_send_rst(e, f, dir == DIR_UP, p->ack,
			                p->seq + (uint32_t)p->payload_len + ((p->tcp_flags & TCP_FIN) ? 1 : 0));
		return NFQUEUE_DROP;
	case ACTION_REFUSE: {
		e->stats.dropped++;
		f->dropped++;
		struct craft_tcp t = {
			.src = f->server, .sport = f->server_port,
			.dst = f->client, .dport = f->client_port,
			.seq = 0, .ack = p->seq + 1, .flags = TCP_RST | TCP_ACK,
		};
		engine_send(e, buf, craft_tcp_segment(buf, sizeof buf, &t));
		flow_end(f, FLOW_END_REFUSED, now);
		snprintf(detail, sizeof detail, "%s%sSYN to %s answered with RST", d->why ? d->why : "",
		         d->why ? ": " : "", packet_addr_format(&f->server, f->server_port, addr, sizeof addr));
		break;
	}
	case ACTION_DELAY: {
		int64_t release = now + d->delay_ns;
		/* Order within a flow and direction is kept, as on a real path,
		 * unless the fault is reordering. */
		if (d->keep_order && release < f->held_until_ns[dir])
			release = f->held_until_ns[dir];
		if (d->keep_order)
			f->held_until_ns[dir] = release;
		flow_update(f, p, dir, now);
		engine_log_quiet_rules(e, now, f, d, -1);
		if (engine_hold(e, id, release, now) < 0)
			return NFQUEUE_ACCEPT;
		return -1;
	}
	case ACTION_TOO_BIG: {
		e->stats.dropped++;
		f->dropped++;
		const struct packet_addr *from = p->family == AF_INET
			? (dir == DIR_UP ? &e->config.client_side4 : &e->config.server_side4)
			: (dir == DIR_UP ? &e->config.client_side6 : &e->config.server_side6);
		engine_send(e, buf, craft_icmp_too_big(buf, sizeof buf, from, p, r->mtu));
		snprintf(detail, sizeof detail, "%zu-byte packet over the %u-byte MTU: \"too big\" to %s", p->len, r->mtu,
		         packet_addr_format(&p->src, 0, addr, sizeof addr));
		break;
	}
	case ACTION_DUPLICATE:
		flow_update(f, p, dir, now);
		if (p->caplen >= p->len)
			engine_send(e, p->data, p->len);
		if (d->first)
			engine_log(e, now, f, d->rule, "sending copies of some packets");
		return NFQUEUE_ACCEPT;
	case ACTION_CORRUPT:
		flow_update(f, p, dir, now);
		if (d->first)
			engine_log(e, now, f, d->rule, r->fix_checksum ? "changing payload bytes, checksums kept valid"
			                                               : "changing payload bytes, checksums left wrong");
		return engine_corrupt(e, id, p, d->corrupt_at, r->fix_checksum);
	case ACTION_TRUNCATE: {
		e->stats.dropped++;
		f->dropped++;
		size_t head = engine_deliver_head(e, f, p, dir, r, now);
		engine_send_fin(e, f, 1);
		engine_send_fin(e, f, 0);
		f->silenced = 1;
		flow_end(f, FLOW_END_FIN, now);
		snprintf(detail, sizeof detail, "after %llu bytes %s: FIN to client and server",
		         (unsigned long long)(d->at_bytes + head), dir_bytes_name(r->dirs));
		break;
	}
	case ACTION_FORGET:
		/* The device no longer knows the connection: the packet gets an
		 * RST back, with the sequence number its own ACK expects. */
		e->stats.dropped++;
		f->dropped++;
		if (p->tcp_flags & TCP_ACK)
			engine_send_rst(e, f, dir == DIR_UP, p->ack,
			                p->seq + (uint32_t)p->payload_len + ((p->tcp_flags & TCP_FIN) ? 1 : 0));
		flow_end(f, FLOW_END_RESET_INJECTED, now);
		if (r && r->type == FAULT_ROUTER_RESTART)
			snprintf(detail, sizeof detail, "the restarted router no longer knows the connection: RST to the %s",
			         dir == DIR_UP ? "client" : "server");
		else
			snprintf(detail, sizeof detail, "idle for %.1f s: the connection was forgotten, RST to the %s",
			         (double)(now - f->last_ns) / 1e9, dir == DIR_UP ? "client" : "server");
		break;
	case ACTION_UNREACHABLE: {
		e->stats.dropped++;
		if (f)
			f->dropped++;
		/* A port is unreachable at the host; the rest at a router. */
		const struct packet_addr *from;
		if (d->code == UNREACH_PORT)
			from = &p->dst;
		else if (p->family == AF_INET)
			from = dir == DIR_UP ? &e->config.client_side4 : &e->config.server_side4;
		else
			from = dir == DIR_UP ? &e->config.client_side6 : &e->config.server_side6;
		engine_send(e, buf, craft_icmp_unreachable(buf, sizeof buf, from, p, d->code));
		if (f && f->state == FLOW_SYN_SENT)
			flow_end(f, d->code == UNREACH_PORT ? FLOW_END_REFUSED : FLOW_END_TIMEOUT, now);
		snprintf(detail, sizeof detail, "ICMP %s unreachable to %s", unreach_name(d->code),
		         packet_addr_format(&p->src, 0, addr, sizeof addr));
		break;
	}
	}
	if (d->first && r)
		engine_log(e, now, f, d->rule, detail);
	engine_log_quiet_rules(e, now, f, d, d->rule);
	return NFQUEUE_DROP;
}

/* One packet into the capture, its note naming the verdict and the rule. */
static void engine_capture(struct engine *e, int64_t now, const struct nfqueue_packet *pkt, int dir,
                           const char *verdict, int rule)
{
	char note[320];
	if (rule >= 0 && (size_t)rule < e->config.rule_count)
		snprintf(note, sizeof note, "%s (%s at %s)", verdict, fault_type_name(e->rules[rule].type),
		         e->rules[rule].where);
	else
		snprintf(note, sizeof note, "%s", verdict);
	e->config.capture(e->config.capture_arg, now, pkt->data, pkt->caplen, pkt->len > pkt->caplen ? pkt->len : pkt->caplen,
	                  dir, note);
}

static void engine_on_packet(const struct nfqueue_packet *pkt, void *arg)
{
	struct engine *e = arg;
	int64_t now = engine_now_ns();
	int capture_dir = 0, capture_rule = -1;
	struct packet p;
	const char *why;
	int verdict = NFQUEUE_ACCEPT;
	char *err = NULL;

	e->stats.packets++;
	if (e->config.fail_after_packets && e->stats.packets > e->config.fail_after_packets && !e->error) {
		char *msg = NULL;
		if (asprintf(&msg, "stopped on purpose after %llu packets (FAULTWIRE_TEST_ENGINE_FAIL_AFTER)",
		             (unsigned long long)e->config.fail_after_packets) < 0)
			msg = NULL;
		engine_fail(e, msg);
	}
	if (e->error) {
		/* Failed: nothing passes any more (fail closed). */
		verdict = NFQUEUE_DROP;
	} else if (packet_parse(&p, pkt->data, pkt->caplen, &why) < 0) {
		/* A packet we cannot read cannot be checked against the faults:
		 * it does not pass (fail closed). */
		e->stats.unparsed++;
		verdict = NFQUEUE_DROP;
	} else {
		enum flow_dir dir = (int)pkt->indev == e->config.client_ifindex ? DIR_UP : DIR_DOWN;
		struct flow *f = flow_lookup(e->flows, &p, dir);
		int opening_syn = p.proto == IPPROTO_TCP && dir == DIR_UP &&
		                  (p.tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
		/* A new SYN on the address pair of a finished connection is a new
		 * connection (the port was reused). */
		if ((!f || (opening_syn && f->state == FLOW_CLOSED)) &&
		    (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)) {
			f = flow_open(e->flows, &p, dir, now);
			if (!f) {
				engine_fail(e, strdup("flow table: out of memory"));
				verdict = NFQUEUE_DROP;
				goto out;
			}
		}
		struct fault_decision d;
		fault_decide(e->flows, e->rules, e->config.rule_count, f, &p, dir, engine_run_time(e, now),
		             f ? now - f->opened_ns : 0, &d);
		if (d.error) {
			if (!e->error)
				e->error_is_scenario = 1;
			engine_fail(e, d.error);
			verdict = NFQUEUE_DROP;
			goto out;
		}
		verdict = engine_apply(e, pkt->id, f, &p, dir, &d, now);
		capture_dir = (int)dir;
		capture_rule = d.rule;
		if (verdict < 0) {
			/* Held (delayed, or passed as a changed copy): its verdict
			 * is given elsewhere. */
			if (e->config.capture) {
				char note[64];
				if (d.action == ACTION_DELAY)
					snprintf(note, sizeof note, "held %.1f ms", (double)d.delay_ns / 1e6);
				else
					snprintf(note, sizeof note, "%s", fault_action_name(d.action));
				engine_capture(e, now, pkt, capture_dir, note, d.rule);
			}
			return;
		}
	}
out:
	if (e->config.capture)
		engine_capture(e, now, pkt, capture_dir, verdict == NFQUEUE_ACCEPT ? "accept" : "drop", capture_rule);
	if (nfqueue_verdict(e->queue, pkt->id, verdict, &err) < 0)
		engine_fail(e, err);
}

static void engine_on_queue(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	char *err = NULL;
	int64_t start = engine_now_ns();
	(void)fd;
	(void)what;
	if (nfqueue_receive(e->queue, ENGINE_READS_PER_WAKEUP, engine_on_packet, e, &err) < 0) {
		engine_fail(e, err);
		return;
	}
	if (nfqueue_flush(e->queue, &err) < 0)
		engine_fail(e, err);
	/* How long the loop was held: the worst wait any packet or timer had. */
	uint64_t busy = (uint64_t)(engine_now_ns() - start);
	if (busy > e->stats.longest_busy_ns)
		e->stats.longest_busy_ns = busy;
}

static void engine_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	int64_t now = engine_now_ns();
	(void)fd;
	(void)what;
	int64_t t = engine_run_time(e, now);
	while (e->timers_done < e->config.timer_count && e->timers[e->timers_done].at_ns <= t) {
		struct engine_timer *tm = &e->timers[e->timers_done++];
		char *err = NULL;
		if (tm->fn(tm->arg, &err) < 0) {
			if (!e->error)
				e->error_is_scenario = 1;
			engine_fail(e, err);
			return;
		}
	}
	/* Finished flows give back their working state, a bounded number per
	 * tick so a flood of them never holds the loop. */
	e->stats.retired += flow_table_retire(e->flows, now, ENGINE_RETIRE_CLOSED_NS, ENGINE_RETIRE_OPENING_NS,
	                                      ENGINE_RETIRE_PER_TICK);
	if (!e->has_timed_rules)
		return;
	for (struct flow *f = flow_table_live_first(e->flows); f; f = flow_table_live_next(f)) {
		struct fault_decision d;
		if (fault_tick(e->flows, e->rules, e->config.rule_count, f, engine_run_time(e, now),
		               now - f->opened_ns, &d)) {
			engine_reset_flow(e, f, d.to, now);
			if (d.first) {
				char detail[160];
				snprintf(detail, sizeof detail, "after %.3f s: RST to %s",
				         (double)(now - f->opened_ns) / 1e9, targets_name(d.to));
				engine_log(e, now, f, d.rule, detail);
			}
		}
	}
}

static void engine_on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	(void)fd;
	(void)what;
	event_base_loopbreak(e->base);
}

static void engine_report_ready(struct engine *e, char *err)
{
	pthread_mutex_lock(&e->lock);
	e->setup_error = err;
	e->ready = 1;
	pthread_cond_signal(&e->ready_cond);
	pthread_mutex_unlock(&e->lock);
}

static void *engine_thread(void *arg)
{
	struct engine *e = arg;
	char *err = NULL;
	struct event *queue_event = NULL, *stop_event = NULL, *tick_event = NULL;
	struct event_config *cfg = NULL;

	/* This thread lives in the middlebox namespace for good. */
	if (e->config.ns_fd >= 0 && setns(e->config.ns_fd, CLONE_NEWNET) < 0) {
		if (asprintf(&err, "engine: enter the middlebox namespace: %s", strerror(errno)) < 0)
			err = NULL;
		engine_report_ready(e, err);
		return NULL;
	}
	cfg = event_config_new();
	/* Held verdicts need timers that fire when asked, not a millisecond late. */
	if (cfg)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER | EVENT_BASE_FLAG_NOLOCK);
	e->base = cfg ? event_base_new_with_config(cfg) : NULL;
	if (cfg)
		event_config_free(cfg);
	if (!e->base) {
		err = strdup("engine: cannot create its event loop");
		goto fail;
	}
	e->queue = nfqueue_open(e->config.queue, e->exact_bytes || e->config.capture ? 0xffff : ENGINE_COPY_RANGE,
	                        !e->exact_bytes, e->config.queue_maxlen, &err);
	if (!e->queue)
		goto fail;
	e->injector = inject_open(&err);
	if (!e->injector)
		goto fail;
	queue_event = event_new(e->base, nfqueue_fd(e->queue), EV_READ | EV_PERSIST, engine_on_queue, e);
	stop_event = event_new(e->base, e->stop_pipe[0], EV_READ, engine_on_stop, e);
	if (!queue_event || !stop_event || event_add(queue_event, NULL) < 0 || event_add(stop_event, NULL) < 0) {
		err = strdup("engine: cannot watch its sockets");
		goto fail;
	}
	{
		tick_event = event_new(e->base, -1, EV_PERSIST, engine_on_tick, e);
		struct timeval tick = { 0, ENGINE_TICK_US };
		if (!tick_event || event_add(tick_event, &tick) < 0) {
			err = strdup("engine: cannot start its timer");
			goto fail;
		}
	}
	e->held_timer = evtimer_new(e->base, engine_on_held, e);
	if (!e->held_timer) {
		err = strdup("engine: cannot start its timer");
		goto fail;
	}
	engine_report_ready(e, NULL);
	event_base_dispatch(e->base);
	/* Held packets are let go, never left waiting in the kernel. */
	if (!e->error)
		engine_release_held(e, 1);

	int64_t drops = nfqueue_kernel_drops(e->config.queue);
	e->stats.queue_drops = nfqueue_overruns(e->queue) + (drops > 0 ? (uint64_t)drops : 0);
	goto out;
fail:
	engine_report_ready(e, err);
out:
	if (queue_event)
		event_free(queue_event);
	if (stop_event)
		event_free(stop_event);
	if (tick_event)
		event_free(tick_event);
	if (e->held_timer)
		event_free(e->held_timer);
	e->held_timer = NULL;
	nfqueue_close(e->queue);
	e->queue = NULL;
	inject_close(e->injector);
	e->injector = NULL;
	if (e->base)
		event_base_free(e->base);
	e->base = NULL;
	return NULL;
}

static int engine_timer_compare(const void *a, const void *b)
{
	const struct engine_timer *x = a, *y = b;
	return (x->at_ns > y->at_ns) - (x->at_ns < y->at_ns);
}

struct engine *engine_start(const struct engine_config *config, char **err)
{
	struct engine *e = calloc(1, sizeof *e);
	if (!e)
		goto nomem;
	e->config = *config;
	e->stop_pipe[0] = e->stop_pipe[1] = -1;
	e->failed_pipe[0] = e->failed_pipe[1] = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->ready_cond, NULL);
	e->rules = calloc(config->rule_count ? config->rule_count : 1, sizeof *e->rules);
	e->flows = flow_table_new(config->seed);
	if (!e->rules || !e->flows)
		goto nomem;
	flow_table_set_rule_count(e->flows, config->rule_count);
	memcpy(e->rules, config->rules, config->rule_count * sizeof *e->rules);
	e->config.rules = e->rules;
	for (size_t i = 0; i < config->rule_count; i++) {
		if (e->rules[i].after_ns >= 0)
			e->has_timed_rules = 1;
		if (fault_rule_needs_whole_packets(&e->rules[i]))
			e->exact_bytes = 1;
		e->rules[i].sources = NULL;
		e->rules[i].source_count = 0;
		if (e->rules[i].type == FAULT_RATE_BLOCK) {
			e->rules[i].sources = calloc(FAULT_MAX_SOURCES, sizeof *e->rules[i].sources);
			if (!e->rules[i].sources)
				goto nomem;
		}
	}
	if (config->timer_count) {
		e->timers = calloc(config->timer_count, sizeof *e->timers);
		if (!e->timers)
			goto nomem;
		memcpy(e->timers, config->timers, config->timer_count * sizeof *e->timers);
		qsort(e->timers, config->timer_count, sizeof *e->timers, engine_timer_compare);
		e->config.timers = e->timers;
	}
	e->started_ns = engine_now_ns();
	atomic_store(&e->t0_ns, e->started_ns);
	if (pipe2(e->stop_pipe, O_CLOEXEC) < 0 || pipe2(e->failed_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		if (asprintf(err, "engine: pipe: %s", strerror(errno)) < 0)
			*err = NULL;
		goto fail;
	}
	if (pthread_create(&e->thread, NULL, engine_thread, e) != 0) {
		*err = strdup("engine: cannot start its thread");
		goto fail;
	}
	e->thread_started = 1;
	pthread_mutex_lock(&e->lock);
	while (!e->ready)
		pthread_cond_wait(&e->ready_cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
	if (e->setup_error) {
		*err = e->setup_error;
		e->setup_error = NULL;
		goto fail;
	}
	return e;
nomem:
	*err = strdup("engine: out of memory");
fail:
	engine_free(e);
	return NULL;
}

void engine_set_start(struct engine *e, int64_t t0_ns)
{
	atomic_store(&e->t0_ns, t0_ns);
}

void engine_stop(struct engine *e)
{
	if (!e || e->stopped)
		return;
	e->stopped = 1;
	if (e->thread_started) {
		char byte = 1;
		if (write(e->stop_pipe[1], &byte, 1) < 0) {
			/* The pipe is ours and empty; a failure here means the
			 * thread is gone already, and join tells. */
		}
		pthread_join(e->thread, NULL);
		e->thread_started = 0;
	}
	/* Flows that never got an answer timed out from the client's view. */
	size_t n = flow_table_count(e->flows);
	for (uint32_t id = 1; id <= n; id++) {
		struct flow *f = flow_table_get(e->flows, id);
		if (f->end == FLOW_END_OPEN && (f->state == FLOW_SYN_SENT || f->dropped))
			flow_end(f, FLOW_END_TIMEOUT, 0);
	}
}

struct flow_table *engine_flows(struct engine *e)
{
	return e->flows;
}

const struct engine_event *engine_events(const struct engine *e, size_t *count)
{
	*count = e->event_count;
	return e->events;
}

struct engine_stats engine_stats(const struct engine *e)
{
	return e->stats;
}

const char *engine_error(const struct engine *e)
{
	return e->error;
}

int engine_failure_fd(const struct engine *e)
{
	return e->failed_pipe[0];
}

int engine_error_is_scenario(const struct engine *e)
{
	return e->error && e->error_is_scenario;
}

int engine_http403(struct engine *e, int64_t now_ns)
{
	if (now_ns < atomic_load(&e->http403_until_ns))
		return 1;
	/* A block with action http403 holds within its time window. */
	int64_t t = now_ns - atomic_load(&e->t0_ns);
	for (size_t i = 0; i < e->config.rule_count; i++) {
		const struct fault_rule *r = &e->rules[i];
		if (r->type == FAULT_BLOCK && r->http403 && t >= r->from_ns && (r->until_ns < 0 || t < r->until_ns))
			return 1;
	}
	return 0;
}

int64_t engine_start_ns(const struct engine *e)
{
	return atomic_load(&e->t0_ns);
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	engine_stop(e);
	if (e->stop_pipe[0] >= 0)
		close(e->stop_pipe[0]);
	if (e->stop_pipe[1] >= 0)
		close(e->stop_pipe[1]);
	if (e->failed_pipe[0] >= 0)
		close(e->failed_pipe[0]);
	if (e->failed_pipe[1] >= 0)
		close(e->failed_pipe[1]);
	flow_table_free(e->flows);
	for (size_t i = 0; e->rules && i < e->config.rule_count; i++)
		free(e->rules[i].sources);
	free(e->held);
	free(e->timers);
	free(e->rules);
	free(e->events);
	free(e->error);
	free(e->setup_error);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->ready_cond);
	free(e);
}
