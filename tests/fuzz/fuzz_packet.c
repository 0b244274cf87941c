/* fuzz_packet.c — libFuzzer target for the packet engine's pure parts:
 * packet_parse, the flow table, fault_decide / fault_tick over rules of every
 * fault type, and the packets craft.c builds, all driven the way
 * engine_on_packet() and engine_apply() drive them, minus the sockets.
 *
 * Input format (see docs/fuzzing.md):
 *
 *   mask[4]                       little-endian; bit i enables fuzz_rules[i]
 *   then records, until the input ends:
 *     control[1]                  bit 0: direction (0 up, 1 down);
 *                                 bits 1-7: how far the clock moves first
 *     length[2]                   big-endian; cut to what is left
 *     packet[length]              from the IP header on, as NFQUEUE gives it
 *   the record ff 00 00 (at most once) is a flood: FUZZ_FLOOD_FLOWS opening
 *   SYNs, so that the table grows and the sweeps have work.
 *
 * Between packets the clock moves and, as on the engine's tick, finished
 * flows are retired and time-driven resets happen.
 *
 * Each packet is copied into a buffer of exactly its length, so AddressSanitizer
 * sees any read past the copy. Beyond "no crash, no sanitizer report", the
 * target checks what the engine relies on: a decision that needs a flow or a
 * rule has one, every packet craft.c builds parses back to the fields it was
 * given, and its checksums verify. */
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/checksum.h"
#include "sim/craft.h"
#include "sim/fault.h"
#include "sim/flow.h"
#include "sim/packet.h"

#define FUZZ_MS 1000000LL
#define FUZZ_S 1000000000LL

/* The engine clock where a run starts; any value works, 0 would hide bugs
 * that mix run time and engine time. */
#define FUZZ_T0_NS (1000 * FUZZ_S)

/* A broken promise is a finding: abort() so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                                   \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                       \
		}                                                                                  \
	} while (0)

/* The rules, in scenario order. Each input picks a subset with its mask, so
 * every rule can be first in line and any two can meet. Together they cover
 * every fault type and every action, and the common keys (dirs, window,
 * flows, port, p). */
static void fuzz_rules_init(struct fault_rule *rules, size_t *n)
{
	struct fault_rule *r;
	size_t i = 0;

	r = &rules[i++];  /* reset after 300 bytes down, RST to the client only */
	fault_rule_init(r, FAULT_RESET);
	r->dirs = DIR_DOWN;
	r->after_bytes = 300;
	r->to = TARGET_CLIENT;
	r->p = 0.5;

	r = &rules[i++];  /* reset after 2 s (fault_tick), port 443 */
	fault_rule_init(r, FAULT_RESET);
	r->after_ns = 2 * FUZZ_S;
	r->port = 443;

	r = &rules[i++];  /* reset once 10 bytes went up and 1 s passed */
	fault_rule_init(r, FAULT_RESET);
	r->dirs = DIR_UP;
	r->after_bytes = 10;
	r->after_ns = 1 * FUZZ_S;
	r->to = TARGET_SERVER;

	r = &rules[i++];  /* refuse the 2nd and 3rd connections */
	fault_rule_init(r, FAULT_REFUSE);
	r->flows[0] = 2;
	r->flows[1] = 3;
	r->flow_count = 2;

	r = &rules[i++];  /* port unreachable for packets going up, from 1 s to 5 s */
	fault_rule_init(r, FAULT_UNREACHABLE);
	r->dirs = DIR_UP;
	r->code = UNREACH_PORT;
	r->from_ns = 1 * FUZZ_S;
	r->until_ns = 5 * FUZZ_S;

	r = &rules[i++];  /* network unreachable, a third of the connections */
	fault_rule_init(r, FAULT_UNREACHABLE);
	r->code = UNREACH_NET;
	r->p = 0.33;

	r = &rules[i++];  /* administratively prohibited, port 8080 */
	fault_rule_init(r, FAULT_UNREACHABLE);
	r->code = UNREACH_ADMIN;
	r->port = 8080;

	r = &rules[i++];  /* blackhole downward, port 53, most connections */
	fault_rule_init(r, FAULT_BLACKHOLE);
	r->dirs = DIR_DOWN;
	r->port = 53;
	r->p = 0.7;

	r = &rules[i++];  /* Gilbert-Elliott loss */
	fault_rule_init(r, FAULT_LOSS);
	r->gilbert = 1;
	r->p = 0.2;
	r->r = 0.5;
	r->loss_good = 0.05;
	r->loss_bad = 0.9;

	r = &rules[i++];  /* random loss going up */
	fault_rule_init(r, FAULT_LOSS);
	r->dirs = DIR_UP;
	r->p = 0.3;

	r = &rules[i++];  /* delay with more jitter than delay: some packets get 0 */
	fault_rule_init(r, FAULT_DELAY);
	r->delay_ns = 50 * FUZZ_MS;
	r->jitter_ns = 80 * FUZZ_MS;

	r = &rules[i++];  /* reorder half the packets */
	fault_rule_init(r, FAULT_REORDER);
	r->p = 0.5;
	r->delay_ns = 10 * FUZZ_MS;

	r = &rules[i++];  /* 1 Mbit/s per flow and direction */
	fault_rule_init(r, FAULT_RATE);
	r->bits_per_s = 1e6;

	r = &rules[i++];  /* 64 kbit/s shared, downward, after 500 ms */
	fault_rule_init(r, FAULT_RATE);
	r->bits_per_s = 64e3;
	r->shared = 1;
	r->dirs = DIR_DOWN;
	r->from_ns = 500 * FUZZ_MS;

	r = &rules[i++];  /* truncate after 1000 bytes both ways */
	fault_rule_init(r, FAULT_TRUNCATE);
	r->after_bytes = 1000;

	r = &rules[i++];  /* at most 2 connections per source, the rest reset after 50 bytes */
	fault_rule_init(r, FAULT_CONN_CAP);
	r->max_conns = 2;
	r->per_source = 1;
	r->action = ACTION_RESET;
	r->after_bytes = 50;

	r = &rules[i++];  /* one connection in all, the rest refused */
	fault_rule_init(r, FAULT_CONN_CAP);
	r->max_conns = 1;
	r->action = ACTION_REFUSE;

	r = &rules[i++];  /* block port 8443, refusing */
	fault_rule_init(r, FAULT_BLOCK);
	r->port = 8443;
	r->action = ACTION_REFUSE;

	r = &rules[i++];  /* block with http403: the engine lets packets pass */
	fault_rule_init(r, FAULT_BLOCK);
	r->http403 = 1;
	r->action = ACTION_REFUSE;

	r = &rules[i++];  /* more than 3 connections in 1 s: block the source 5 s */
	fault_rule_init(r, FAULT_RATE_BLOCK);
	r->conns = 3;
	r->within_ns = 1 * FUZZ_S;
	r->block_ns = 5 * FUZZ_S;
	r->action = ACTION_REFUSE;

	r = &rules[i++];  /* the same with http403, blackholing nothing */
	fault_rule_init(r, FAULT_RATE_BLOCK);
	r->conns = 1;
	r->within_ns = 2 * FUZZ_S;
	r->block_ns = 3 * FUZZ_S;
	r->http403 = 1;
	r->action = ACTION_DROP;

	r = &rules[i++];  /* rate_block blackholing */
	fault_rule_init(r, FAULT_RATE_BLOCK);
	r->conns = 2;
	r->within_ns = 500 * FUZZ_MS;
	r->block_ns = 1 * FUZZ_S;
	r->action = ACTION_DROP;

	r = &rules[i++];  /* forgotten after 3 s idle: RST */
	fault_rule_init(r, FAULT_IDLE_TIMEOUT);
	r->idle_ns = 3 * FUZZ_S;
	r->action = ACTION_RESET;

	r = &rules[i++];  /* forgotten after 1 s idle: packets vanish */
	fault_rule_init(r, FAULT_IDLE_TIMEOUT);
	r->idle_ns = 1 * FUZZ_S;
	r->action = ACTION_DROP;

	r = &rules[i++];  /* MTU 576, "too big" for the rest */
	fault_rule_init(r, FAULT_MTU);
	r->mtu = 576;
	r->icmp = 1;

	r = &rules[i++];  /* MTU black hole at 1280, going down */
	fault_rule_init(r, FAULT_MTU);
	r->mtu = 1280;
	r->dirs = DIR_DOWN;

	r = &rules[i++];  /* duplicate a third of the packets */
	fault_rule_init(r, FAULT_DUPLICATE);
	r->p = 0.33;

	r = &rules[i++];  /* corrupt half the payloads, checksums fixed */
	fault_rule_init(r, FAULT_CORRUPT);
	r->p = 0.5;
	r->fix_checksum = 1;

	r = &rules[i++];  /* reset a connection whose payload says GET */
	fault_rule_init(r, FAULT_MATCH);
	memcpy(r->pattern, "GET", 3);
	r->pattern_len = 3;
	r->action = ACTION_RESET;

	r = &rules[i++];  /* drop payloads with a 0xff 0x00 */
	fault_rule_init(r, FAULT_MATCH);
	memcpy(r->pattern, "\xff\x00", 2);
	r->pattern_len = 2;
	r->action = ACTION_DROP;

	r = &rules[i++];  /* the router is down from 2 s to 4 s, then forgets */
	fault_rule_init(r, FAULT_ROUTER_RESTART);
	r->from_ns = 2 * FUZZ_S;
	r->until_ns = 4 * FUZZ_S;

	*n = i;
}

#define FUZZ_RETIRE_CLOSED_NS (2 * FUZZ_S)    /* as the engine */
#define FUZZ_RETIRE_OPENING_NS (30 * FUZZ_S)
#define FUZZ_RETIRE_BUDGET 8
#define FUZZ_FLOOD_FLOWS 1040                 /* more than the table's first 1024 buckets */
/* A record with this control byte and length 0 is a flood, not a packet
 * (an empty packet would not parse anyway). Rare on purpose: a flood costs
 * a thousand packets. */
#define FUZZ_FLOOD_CONTROL 0xff

struct fuzz_run {
	struct flow_table *flows;
	struct fault_rule rules[FLOW_MAX_RULES];
	size_t rule_count;
	int has_timed_rules;
	int exact_bytes;  /* a rule needs whole packets: the engine asks for them */
	struct packet_addr router4, router6;  /* the middlebox's addresses, for ICMP */
};

/* The engine clock from a packet's control byte: at least 1 µs per packet,
 * up to 63 ms in 1 ms steps, or up to 32 s in 500 ms steps. */
static int64_t fuzz_clock_step(uint8_t control)
{
	unsigned step = control >> 1;
	if (step == 0)
		return 1000;
	if (step < 64)
		return (int64_t)step * FUZZ_MS;
	return (int64_t)(step - 63) * 500 * FUZZ_MS;
}

/* A crafted packet must be one the parser reads back, with valid checksums. */
static void fuzz_check_ip(const uint8_t *buf, size_t len, struct packet *out)
{
	const char *why = NULL;
	FUZZ_CHECK(len > 0);
	FUZZ_CHECK(packet_parse(out, buf, len, &why) == 0);
	FUZZ_CHECK(out->len == len);
	if (out->family == AF_INET)
		FUZZ_CHECK(checksum_finish(checksum_add(0, buf, out->l4_off)) == 0);
}

static void fuzz_check_tcp(const uint8_t *buf, size_t len, const struct craft_tcp *t)
{
	struct packet q;
	fuzz_check_ip(buf, len, &q);
	FUZZ_CHECK(q.proto == IPPROTO_TCP);
	FUZZ_CHECK(packet_addr_equal(&q.src, &t->src) && packet_addr_equal(&q.dst, &t->dst));
	FUZZ_CHECK(q.sport == t->sport && q.dport == t->dport);
	FUZZ_CHECK(q.seq == t->seq && q.ack == t->ack);
	FUZZ_CHECK(q.tcp_flags == (t->flags & 0x3f) && q.window == t->window);
	FUZZ_CHECK(q.payload_len == 0);
	FUZZ_CHECK(checksum_l4(q.family, q.src.bytes, q.dst.bytes, IPPROTO_TCP,
	                       buf + q.l4_off, len - q.l4_off) == 0);
}

static void fuzz_send_tcp(const struct craft_tcp *t)
{
	uint8_t buf[128];
	size_t len = craft_tcp_segment(buf, sizeof buf, t);
	FUZZ_CHECK(len > 0);
	fuzz_check_tcp(buf, len, t);
}

/* An ICMP error quoting orig, as engine_apply sends it. */
static void fuzz_send_unreachable(const struct packet_addr *from, const struct packet *orig,
                                  enum craft_unreach code)
{
	uint8_t buf[1400];
	struct packet q, quoted;
	size_t len = craft_icmp_unreachable(buf, sizeof buf, from, orig, code);
	FUZZ_CHECK(len > 0);
	fuzz_check_ip(buf, len, &q);
	FUZZ_CHECK(q.family == orig->family);
	FUZZ_CHECK(packet_addr_equal(&q.src, from) && packet_addr_equal(&q.dst, &orig->src));
	if (q.family == AF_INET) {
		FUZZ_CHECK(q.proto == IPPROTO_ICMP && q.icmp_type == ICMP_DEST_UNREACH);
		FUZZ_CHECK(checksum_finish(checksum_add(0, buf + q.l4_off, len - q.l4_off)) == 0);
	} else {
		FUZZ_CHECK(q.proto == IPPROTO_ICMPV6 && q.icmp_type == ICMP6_DST_UNREACH);
		FUZZ_CHECK(checksum_l4(AF_INET6, q.src.bytes, q.dst.bytes, IPPROTO_ICMPV6,
		                       buf + q.l4_off, len - q.l4_off) == 0);
	}
	/* The quote is the start of the original packet, never past what was
	 * copied nor past its IP length. */
	size_t quote = q.payload_len;
	FUZZ_CHECK(quote <= orig->caplen && quote <= orig->len);
	FUZZ_CHECK(memcmp(buf + q.payload_off, orig->data, quote) == 0);
	/* A receiver parses the quote to find its socket: it is input too. */
	(void)packet_parse(&quoted, buf + q.payload_off, quote, NULL);
}

/* RST from one end of f to the other, as engine_send_rst builds it. */
static void fuzz_send_rst(const struct flow *f, int to_client, uint32_t seq, uint32_t ack)
{
	struct craft_tcp t = { .seq = seq, .ack = ack, .flags = TCP_RST | TCP_ACK };
	if (to_client) {
		t.src = f->server; t.sport = f->server_port;
		t.dst = f->client; t.dport = f->client_port;
	} else {
		t.src = f->client; t.sport = f->client_port;
		t.dst = f->server; t.dport = f->server_port;
	}
	fuzz_send_tcp(&t);
}

static void fuzz_send_fin(const struct flow *f, int to_client)
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
	fuzz_send_tcp(&t);
}

static void fuzz_reset_flow(struct flow *f, unsigned to, int64_t now)
{
	if (to & TARGET_CLIENT)
		fuzz_send_rst(f, 1, f->down.next_seq, f->up.next_seq);
	if (to & TARGET_SERVER)
		fuzz_send_rst(f, 0, f->up.next_seq, f->down.next_seq);
	flow_end(f, FLOW_END_RESET_INJECTED, now);
	FUZZ_CHECK(f->state == FLOW_CLOSED && f->end != FLOW_END_OPEN);
}

/* engine_deliver_head: a reset or truncate at a byte count lets the part of
 * the packet up to the count through first. Only its effect on the flow is
 * mirrored here (the engine builds the cut packet itself). */
static void fuzz_deliver_head(const struct fuzz_run *run, struct flow *f, const struct packet *p,
                              enum flow_dir dir, const struct fault_rule *r, int64_t now)
{
	const struct flow_side *s = dir == DIR_UP ? &f->up : &f->down;
	if (!run->exact_bytes || r->after_bytes < 0 || !(r->dirs & dir) || !p->payload_len ||
	    p->caplen < p->len || p->seq != s->next_seq)
		return;
	uint64_t counted = ((r->dirs & DIR_UP) ? f->up.bytes : 0) + ((r->dirs & DIR_DOWN) ? f->down.bytes : 0);
	if (counted >= (uint64_t)r->after_bytes || (uint64_t)r->after_bytes - counted >= p->payload_len)
		return;
	size_t head = (size_t)((uint64_t)r->after_bytes - counted);
	struct packet cut = *p;
	cut.len = p->payload_off + head;
	cut.payload_len = head;
	cut.tcp_flags &= (uint8_t)~TCP_FIN;
	flow_update(f, &cut, dir, now);
}

/* craft_icmp_too_big as the mtu fault sends it. */
static void fuzz_send_too_big(const struct packet_addr *from, const struct packet *orig, uint16_t mtu)
{
	uint8_t buf[1400];
	struct packet q;
	size_t len = craft_icmp_too_big(buf, sizeof buf, from, orig, mtu);
	FUZZ_CHECK(len > 0);
	fuzz_check_ip(buf, len, &q);
	FUZZ_CHECK(packet_addr_equal(&q.src, from) && packet_addr_equal(&q.dst, &orig->src));
	if (q.family == AF_INET) {
		FUZZ_CHECK(q.proto == IPPROTO_ICMP && q.icmp_type == ICMP_DEST_UNREACH && q.icmp_code == 4);
		FUZZ_CHECK(checksum_finish(checksum_add(0, buf + q.l4_off, len - q.l4_off)) == 0);
	} else {
		FUZZ_CHECK(q.proto == IPPROTO_ICMPV6 && q.icmp_type == 2);
		FUZZ_CHECK(checksum_l4(AF_INET6, q.src.bytes, q.dst.bytes, IPPROTO_ICMPV6,
		                       buf + q.l4_off, len - q.l4_off) == 0);
	}
	const uint8_t *rest = buf + q.l4_off + 4;
	FUZZ_CHECK(((uint32_t)rest[0] << 24 | (uint32_t)rest[1] << 16 | (uint32_t)rest[2] << 8 | rest[3]) == mtu);
	FUZZ_CHECK(q.payload_len <= orig->caplen && memcmp(buf + q.payload_off, orig->data, q.payload_len) == 0);
}

/* What engine_apply does to the flow table and which packets it crafts. */
static void fuzz_apply(struct fuzz_run *run, struct flow *f, const struct packet *p, enum flow_dir dir,
                       const struct fault_decision *d, int64_t now)
{
	const struct fault_rule *r = d->rule >= 0 ? &run->rules[d->rule] : NULL;
	char addr[80];

	FUZZ_CHECK(d->rule >= -1 && d->rule < (int)run->rule_count);
	/* Only a connection can be reset, refused, delayed or truncated, and
	 * the engine reads the deciding rule for each of these. */
	if (d->action != ACTION_ACCEPT && d->action != ACTION_DROP)
		FUZZ_CHECK(f != NULL);
	if (d->action != ACTION_ACCEPT && d->action != ACTION_DROP && d->action != ACTION_RESET_AGAIN)
		FUZZ_CHECK(r != NULL);
	if (r && r->type == FAULT_IDLE_TIMEOUT && d->action == ACTION_DROP)
		FUZZ_CHECK(f != NULL);
	(void)fault_action_name(d->action);

	switch (d->action) {
	case ACTION_ACCEPT:
		if (f)
			flow_update(f, p, dir, now);
		break;
	case ACTION_DROP:
		if (f) {
			f->dropped++;
			f->last_ns = now;
		}
		if (r && r->type == FAULT_IDLE_TIMEOUT)
			f->silenced = 1;
		break;
	case ACTION_RESET:
		f->dropped++;
		fuzz_deliver_head(run, f, p, dir, r, now);
		fuzz_reset_flow(f, d->to, now);
		break;
	case ACTION_RESET_AGAIN:
	case ACTION_FORGET:
		f->dropped++;
		if (p->tcp_flags & TCP_ACK)
			fuzz_send_rst(f, dir == DIR_UP, p->ack,
			              p->seq + (uint32_t)p->payload_len + ((p->tcp_flags & TCP_FIN) ? 1 : 0));
		if (d->action == ACTION_FORGET)
			flow_end(f, FLOW_END_RESET_INJECTED, now);
		break;
	case ACTION_REFUSE: {
		f->dropped++;
		struct craft_tcp t = {
			.src = f->server, .sport = f->server_port,
			.dst = f->client, .dport = f->client_port,
			.seq = 0, .ack = p->seq + 1, .flags = TCP_RST | TCP_ACK,
		};
		fuzz_send_tcp(&t);
		flow_end(f, FLOW_END_REFUSED, now);
		(void)packet_addr_format(&f->server, f->server_port, addr, sizeof addr);
		break;
	}
	case ACTION_DELAY: {
		FUZZ_CHECK(d->delay_ns > 0);
		int64_t release = now + d->delay_ns;
		if (d->keep_order && release < f->held_until_ns[dir])
			release = f->held_until_ns[dir];
		if (d->keep_order)
			f->held_until_ns[dir] = release;
		flow_update(f, p, dir, now);
		break;
	}
	case ACTION_TRUNCATE:
		f->dropped++;
		fuzz_deliver_head(run, f, p, dir, r, now);
		fuzz_send_fin(f, 1);
		fuzz_send_fin(f, 0);
		f->silenced = 1;
		flow_end(f, FLOW_END_FIN, now);
		break;
	case ACTION_UNREACHABLE: {
		if (f)
			f->dropped++;
		const struct packet_addr *from = d->code == UNREACH_PORT ? &p->dst
		                               : p->family == AF_INET ? &run->router4 : &run->router6;
		fuzz_send_unreachable(from, p, d->code);
		if (f && f->state == FLOW_SYN_SENT)
			flow_end(f, d->code == UNREACH_PORT ? FLOW_END_REFUSED : FLOW_END_TIMEOUT, now);
		(void)packet_addr_format(&p->src, 0, addr, sizeof addr);
		break;
	}
	case ACTION_TOO_BIG:
		FUZZ_CHECK(r->type == FAULT_MTU && p->len > r->mtu);
		f->dropped++;
		fuzz_send_too_big(p->family == AF_INET ? &run->router4 : &run->router6, p, r->mtu);
		break;
	case ACTION_DUPLICATE:
		flow_update(f, p, dir, now);
		break;
	case ACTION_CORRUPT:
		/* engine_corrupt changes a payload byte it has in the copy. */
		FUZZ_CHECK(p->payload_len > 0 && p->payload_off + p->payload_len <= p->caplen);
		flow_update(f, p, dir, now);
		break;
	}
}

static void fuzz_packet(struct fuzz_run *run, const uint8_t *data, size_t len, enum flow_dir dir, int64_t now);
static void fuzz_decide(struct fuzz_run *run, const struct packet *p, enum flow_dir dir, int64_t now);

/* engine_on_tick: retire finished flows a few at a time, then the
 * time-driven resets of every live flow. The engine retires up to 4096 per
 * 5 ms tick; here a tick comes with each packet, and a small budget makes
 * the sweep stop and resume mid-list. */
static void fuzz_tick(struct fuzz_run *run, int64_t now)
{
	(void)flow_table_retire(run->flows, now, FUZZ_RETIRE_CLOSED_NS, FUZZ_RETIRE_OPENING_NS, FUZZ_RETIRE_BUDGET);
	if (!run->has_timed_rules)
		return;
	for (struct flow *f = flow_table_live_first(run->flows); f; f = flow_table_live_next(f)) {
		struct fault_decision d;
		FUZZ_CHECK(!f->retired);
		if (fault_tick(run->flows, run->rules, run->rule_count, f, now - FUZZ_T0_NS,
		               now - f->opened_ns, &d)) {
			FUZZ_CHECK(d.action == ACTION_RESET && d.rule >= 0 && d.rule < (int)run->rule_count);
			fuzz_reset_flow(f, d.to, now);
		}
	}
}

/* Every flow is live or retired, never both; retired ones have given their
 * working state back and are out of the lookup table. */
static void fuzz_check_table(struct fuzz_run *run)
{
	size_t count = flow_table_count(run->flows), live = 0, retired = 0;
	for (struct flow *f = flow_table_live_first(run->flows); f; f = flow_table_live_next(f)) {
		FUZZ_CHECK(!f->retired && live < count);
		live++;
	}
	for (uint32_t id = 1; id <= count; id++) {
		struct flow *f = flow_table_get(run->flows, id);
		FUZZ_CHECK(f != NULL && f->id == id);
		if (f->retired) {
			FUZZ_CHECK(f->rules == NULL && f->digest == NULL);
			retired++;
		}
	}
	FUZZ_CHECK(retired == flow_table_retired(run->flows) && live + retired == count);
}

/* Flood mode: FUZZ_FLOOD_FLOWS opening SYNs from one client, so the table
 * grows past its first 1024 buckets and the sweeps have work to do. */
static void fuzz_flood(struct fuzz_run *run, int64_t *now)
{
	struct craft_tcp t = {
		.src = { .family = AF_INET, .bytes = { 198, 18, 0, 2 } },
		.dst = { .family = AF_INET, .bytes = { 198, 19, 0, 2 } },
		.dport = 80, .flags = TCP_SYN, .window = 64240,
	};
	uint8_t buf[64];
	struct packet p;
	size_t len = craft_tcp_segment(buf, sizeof buf, &t);
	FUZZ_CHECK(len > 0 && packet_parse(&p, buf, len, NULL) == 0);
	/* Parsed once, the port changed in place: a flood should cost the
	 * flow table and the rules, not the parser. */
	for (uint32_t i = 0; i < FUZZ_FLOOD_FLOWS; i++) {
		p.sport = (uint16_t)(10000 + i);
		p.seq = i * 7919u;
		*now += 1000;
		fuzz_decide(run, &p, DIR_UP, *now);
	}
}

/* engine_on_packet, plus round trips through craft.c for every packet. */
static void fuzz_packet(struct fuzz_run *run, const uint8_t *data, size_t len, enum flow_dir dir, int64_t now)
{
	struct packet p;
	const char *why = NULL;
	char text[80];

	if (packet_parse(&p, data, len, &why) != 0) {
		FUZZ_CHECK(why != NULL);
		return;
	}
	FUZZ_CHECK(p.family == AF_INET || p.family == AF_INET6);
	FUZZ_CHECK(p.l4_off <= p.len && p.payload_off <= p.len && p.payload_off + p.payload_len == p.len);
	FUZZ_CHECK(p.l4_off <= p.caplen);
	(void)packet_addr_format(&p.src, p.sport, text, sizeof text);
	(void)packet_addr_format(&p.dst, p.dport, text, sizeof text);

	/* Whatever the packet, the middlebox may answer it. */
	fuzz_send_unreachable(&p.dst, &p, (enum craft_unreach)(p.ttl & 3));
	if (p.proto == IPPROTO_TCP) {
		struct craft_tcp t = {
			.src = p.dst, .dst = p.src, .sport = p.dport, .dport = p.sport,
			.seq = p.ack, .ack = p.seq + (uint32_t)p.payload_len, .flags = p.tcp_flags,
			.window = p.window, .ttl = p.ttl,
		};
		fuzz_send_tcp(&t);
	}
	fuzz_decide(run, &p, dir, now);
}

/* The engine's part for a parsed packet: its flow, the decision, and
 * carrying it out. */
static void fuzz_decide(struct fuzz_run *run, const struct packet *pp, enum flow_dir dir, int64_t now)
{
	struct packet p = *pp;
	struct flow *f = flow_lookup(run->flows, &p, dir);
	int opening_syn = p.proto == IPPROTO_TCP && dir == DIR_UP &&
	                  (p.tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
	if ((!f || (opening_syn && f->state == FLOW_CLOSED)) &&
	    (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)) {
		f = flow_open(run->flows, &p, dir, now);
		if (!f)
			return;  /* out of memory: the engine stops the run */
		FUZZ_CHECK(flow_lookup(run->flows, &p, dir) == f);
		FUZZ_CHECK(flow_table_get(run->flows, f->id) == f);
	}
	if (f) {
		FUZZ_CHECK(f->proto == p.proto);
		(void)flow_state_name(f->state);
		(void)flow_end_name(f->end);
	}
	struct fault_decision d;
	fault_decide(run->flows, run->rules, run->rule_count, f, &p, dir, now - FUZZ_T0_NS,
	             f ? now - f->opened_ns : 0, &d);
	fuzz_apply(run, f, &p, dir, &d, now);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A rule is large (conn_cap keeps 4096 flow pointers), so the rules live in
 * static storage, not on the stack: the list is built once, and each input
 * copies the rules its mask enables. */
static struct fault_rule fuzz_all_rules[FLOW_MAX_RULES];
static size_t fuzz_all_count;
static struct fuzz_run fuzz_state;

/* *to = *from, but for conn_cap's array of admitted flows (32 KiB; only its
 * first counted_count entries mean anything, and that count is copied):
 * copying it for every rule of every input would be most of the work. */
static void fuzz_rule_copy(struct fault_rule *to, const struct fault_rule *from)
{
	size_t skip_at = offsetof(struct fault_rule, counted);
	size_t skip_end = skip_at + sizeof from->counted;
	memcpy(to, from, skip_at);
	memcpy((char *)to + skip_end, (const char *)from + skip_end, sizeof *from - skip_end);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_rules_init(fuzz_all_rules, &fuzz_all_count);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run *run = &fuzz_state;
	char digest[65];

	if (size < 4)
		return 0;
	uint32_t mask = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
	                (uint32_t)data[3] << 24;
	data += 4;
	size -= 4;

	run->rule_count = 0;
	run->has_timed_rules = run->exact_bytes = 0;
	run->flows = NULL;
	for (size_t i = 0; i < fuzz_all_count; i++) {
		if (!(mask & (1u << i)))
			continue;
		struct fault_rule *r = &run->rules[run->rule_count++];
		fuzz_rule_copy(r, &fuzz_all_rules[i]);
		(void)fault_type_name(r->type);
		if (r->type == FAULT_RATE_BLOCK) {
			r->sources = calloc(FAULT_MAX_SOURCES, sizeof *r->sources);
			if (!r->sources)
				goto out;
		}
		if (r->after_ns >= 0)
			run->has_timed_rules = 1;
		if (fault_rule_needs_whole_packets(r))
			run->exact_bytes = 1;
	}
	run->router4.family = AF_INET;
	memcpy(run->router4.bytes, (const uint8_t[]){ 198, 18, 0, 1 }, 4);
	run->router6.family = AF_INET6;
	memcpy(run->router6.bytes, (const uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, [15] = 1 }, 16);
	run->flows = flow_table_new(42);
	if (!run->flows)
		goto out;
	flow_table_set_rule_count(run->flows, run->rule_count);

	int64_t now = FUZZ_T0_NS;
	int flooded = 0;
	while (size >= 3) {
		uint8_t control = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (control == FUZZ_FLOOD_CONTROL && len == 0 && !flooded) {
			fuzz_flood(run, &now);
			flooded = 1;
			continue;
		}
		now += fuzz_clock_step(control);
		fuzz_tick(run, now);
		/* An exact copy: reading past it is a heap overflow ASan sees. */
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			goto out;
		memcpy(copy, data, len);
		fuzz_packet(run, copy, len, (control & 1) ? DIR_DOWN : DIR_UP, now);
		free(copy);
		data += len;
		size -= len;
	}
	fuzz_check_table(run);
	flow_table_digest(run->flows, digest);
	FUZZ_CHECK(strlen(digest) == 64);

out:
	flow_table_free(run->flows);
	for (size_t i = 0; i < run->rule_count; i++)
		free(run->rules[i].sources);
	return 0;
}
