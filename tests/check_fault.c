/* check_fault.c — unit tests for sim/fault.c: how rules are asked (in order,
 * the first that acts decides), their common keys (dirs, from/until window,
 * flows by ordinal, server port, p drawn once per connection from the flow's
 * seeded stream), and the connection faults: reset (after_bytes, after_ms by
 * packet or by tick, never in SYN_SENT, every later packet answered again),
 * refuse, unreachable and blackhole; `first`, and the recorded decisions.
 *
 * Then the models of the other faults, pinned with fixed seeds and stated
 * bounds: loss (random and Gilbert-Elliott bursts), delay with jitter,
 * reorder, rate (a link: exact serialisation arithmetic), truncate and
 * silenced flows, conn_cap, block, rate_block, idle_timeout, mtu, duplicate,
 * corrupt, match, router_restart, hooks, and the determinism of a mixed rule
 * set. Time is only ever the synthetic clock s->now: nothing here measures
 * time. Set CHECK_FAULT_FIGURES=1 to print the measured figures.
 *
 * Packets are built by filling struct packet directly, and go through a small
 * copy of what the engine does with a decision: the flow is looked up (opened
 * when new, or when an opening SYN reuses the tuple of a closed flow), the
 * rules decide, flow_update() follows only packets that are let through
 * (accepted, held, duplicated or corrupted), and the flow ends as the engine
 * would end it (reset, refuse, unreachable, truncate, forget). */
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/fault.h"
#include "sim/flow.h"
#include "sim/packet.h"

#define CLIENT_IP 0xc6120002u  /* 198.18.0.2 */
#define SERVER_IP 0xc6130002u  /* 198.19.0.2 */
#define MS 1000000LL
#define SEC 1000000000LL

/* ---- packets and the engine's part -------------------------------------- */

struct tuple {
	uint8_t proto;
	uint32_t client_ip, server_ip;   /* host order */
	uint16_t client_port, server_port;
};

static void set_ipv4(struct packet_addr *a, uint32_t ip)
{
	memset(a, 0, sizeof *a);
	a->family = AF_INET;
	a->bytes[0] = (uint8_t)(ip >> 24);
	a->bytes[1] = (uint8_t)(ip >> 16);
	a->bytes[2] = (uint8_t)(ip >> 8);
	a->bytes[3] = (uint8_t)ip;
}

static struct packet make_packet(const struct tuple *tu, enum flow_dir dir, uint8_t flags,
                                 uint32_t seq, uint32_t ack, size_t payload_len)
{
	struct packet p;
	memset(&p, 0, sizeof p);
	p.family = AF_INET;
	p.proto = tu->proto;
	p.ttl = 64;
	p.l4_off = 20;
	if (dir == DIR_UP) {
		set_ipv4(&p.src, tu->client_ip); p.sport = tu->client_port;
		set_ipv4(&p.dst, tu->server_ip); p.dport = tu->server_port;
	} else {
		set_ipv4(&p.src, tu->server_ip); p.sport = tu->server_port;
		set_ipv4(&p.dst, tu->client_ip); p.dport = tu->client_port;
	}
	if (tu->proto == IPPROTO_TCP) {
		p.seq = seq;
		p.ack = ack;
		p.tcp_flags = flags;
		p.window = 502;
		p.l4_hdr_len = 20;
	} else {
		p.l4_hdr_len = 8;
	}
	p.payload_off = p.l4_off + p.l4_hdr_len;
	p.payload_len = payload_len;
	p.len = p.payload_off + payload_len;
	return p;
}

/* A run: the flow table, the rules, and the run's clock. */
struct sim {
	struct flow_table *t;
	struct fault_rule rules[8];
	size_t n;
	int64_t now;   /* ns since the run started (the engine's t_ns) */
};

static void sim_init(struct sim *s, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->t = flow_table_new(seed);
	ck_assert_ptr_nonnull(s->t);
}

static void sim_done(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rules[i].sources);
	flow_table_free(s->t);
}

static struct fault_rule *sim_rule(struct sim *s, enum fault_type type)
{
	ck_assert_uint_lt(s->n, sizeof s->rules / sizeof s->rules[0]);
	struct fault_rule *r = &s->rules[s->n++];
	fault_rule_init(r, type);
	return r;
}

static int is_opening_syn(const struct packet *p, enum flow_dir dir)
{
	return p->proto == IPPROTO_TCP && dir == DIR_UP &&
	       (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

/* One packet as the engine takes it; returns the decision, and the flow in
 * *fp when fp is not NULL. */
static struct fault_decision sim_packet(struct sim *s, const struct packet *p, enum flow_dir dir,
                                        struct flow **fp)
{
	struct flow *f = flow_lookup(s->t, p, dir);
	if ((!f || (is_opening_syn(p, dir) && f->state == FLOW_CLOSED)) &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		f = flow_open(s->t, p, dir, s->now);
		ck_assert_ptr_nonnull(f);
	}
	struct fault_decision d;
	memset(&d, 0x5a, sizeof d);  /* fault_decide must fill every field */
	fault_decide(s->t, s->rules, s->n, f, p, dir, s->now, f ? s->now - f->opened_ns : 0, &d);
	switch (d.action) {
	case ACTION_ACCEPT:
	case ACTION_DELAY:       /* held, then let through */
	case ACTION_DUPLICATE:
	case ACTION_CORRUPT:
		if (f)
			flow_update(f, p, dir, s->now);
		break;
	case ACTION_DROP:
		if (f) {
			f->dropped++;
			f->last_ns = s->now;
			if (d.rule >= 0 && s->rules[d.rule].type == FAULT_IDLE_TIMEOUT)
				f->silenced = 1;
		}
		break;
	case ACTION_TRUNCATE:
		f->dropped++;
		f->silenced = 1;
		flow_end(f, FLOW_END_FIN, s->now);
		break;
	case ACTION_FORGET:
		f->dropped++;
		flow_end(f, FLOW_END_RESET_INJECTED, s->now);
		break;
	case ACTION_RESET:
		f->dropped++;
		flow_end(f, FLOW_END_RESET_INJECTED, s->now);
		break;
	case ACTION_REFUSE:
		f->dropped++;
		flow_end(f, FLOW_END_REFUSED, s->now);
		break;
	case ACTION_UNREACHABLE:
		if (f) {
			f->dropped++;
			if (f->state == FLOW_SYN_SENT)
				flow_end(f, d.code == UNREACH_PORT ? FLOW_END_REFUSED : FLOW_END_TIMEOUT, s->now);
		}
		break;
	default:
		if (f)
			f->dropped++;
		break;
	}
	if (fp)
		*fp = f;
	return d;
}

/* The engine's periodic tick for one flow; an ACTION_RESET ends it. */
static int sim_tick(struct sim *s, struct flow *f, struct fault_decision *d)
{
	int acted = fault_tick(s->t, s->rules, s->n, f, s->now, s->now - f->opened_ns, d);
	if (acted) {
		ck_assert_int_eq(d->action, ACTION_RESET);
		flow_end(f, FLOW_END_RESET_INJECTED, s->now);
	}
	return acted;
}

/* Both ends of one TCP connection. */
struct conn {
	struct tuple tu;
	uint32_t next[3];   /* by enum flow_dir: the next sequence number that side sends */
	struct flow *f;     /* after its first packet */
};

static void conn_init(struct conn *c, uint16_t client_port, uint16_t server_port)
{
	memset(c, 0, sizeof *c);
	c->tu.proto = IPPROTO_TCP;
	c->tu.client_ip = CLIENT_IP;
	c->tu.server_ip = SERVER_IP;
	c->tu.client_port = client_port;
	c->tu.server_port = server_port;
	c->next[DIR_UP] = 1000000 + client_port;
	c->next[DIR_DOWN] = 3000000000u;
}

static struct fault_decision conn_send_at(struct sim *s, struct conn *c, enum flow_dir dir, uint8_t flags,
                                          uint32_t seq, size_t len)
{
	enum flow_dir other = dir == DIR_UP ? DIR_DOWN : DIR_UP;
	struct packet p = make_packet(&c->tu, dir, flags, seq, (flags & TCP_ACK) ? c->next[other] : 0, len);
	struct flow *f;
	struct fault_decision d = sim_packet(s, &p, dir, &f);
	c->f = f;
	return d;
}

/* A segment from the side's next sequence number; the sender moves on
 * whatever becomes of it. */
static struct fault_decision conn_send(struct sim *s, struct conn *c, enum flow_dir dir, uint8_t flags, size_t len)
{
	struct fault_decision d = conn_send_at(s, c, dir, flags, c->next[dir], len);
	c->next[dir] += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	return d;
}

static enum fault_action conn_action(struct sim *s, struct conn *c, enum flow_dir dir, uint8_t flags, size_t len)
{
	return conn_send(s, c, dir, flags, len).action;
}

/* Open the connection; every packet of the handshake must pass. */
static struct flow *conn_open(struct sim *s, struct conn *c)
{
	ck_assert_int_eq(conn_action(s, c, DIR_UP, TCP_SYN, 0), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(s, c, DIR_DOWN, TCP_SYN | TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(s, c, DIR_UP, TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(c->f->state, FLOW_ESTABLISHED);
	return c->f;
}

static void assert_accept(const struct fault_decision *d)
{
	ck_assert_int_eq(d->action, ACTION_ACCEPT);
	ck_assert_int_eq(d->rule, -1);
	ck_assert_int_eq(d->first, 0);
}

/* ---- rules: defaults, order, common keys -------------------------------- */

START_TEST(test_rule_defaults)
{
	struct fault_rule r;
	memset(&r, 0x77, sizeof r);
	fault_rule_init(&r, FAULT_RESET);
	ck_assert_int_eq(r.type, FAULT_RESET);
	ck_assert_uint_eq(r.dirs, DIR_UP | DIR_DOWN);
	ck_assert_int_eq(r.from_ns, 0);
	ck_assert_int_eq(r.until_ns, -1);
	ck_assert_uint_eq(r.flow_count, 0);
	ck_assert_uint_eq(r.port, 0);
	ck_assert_double_eq(r.p, 1.0);
	ck_assert_int_eq(r.after_bytes, -1);
	ck_assert_int_eq(r.after_ns, -1);
	ck_assert_uint_eq(r.to, TARGET_CLIENT | TARGET_SERVER);
	fault_rule_init(&r, FAULT_UNREACHABLE);
	ck_assert_int_eq(r.type, FAULT_UNREACHABLE);
	ck_assert_int_eq(r.code, UNREACH_HOST);

	ck_assert_str_eq(fault_type_name(FAULT_RESET), "reset");
	ck_assert_str_eq(fault_type_name(FAULT_REFUSE), "refuse");
	ck_assert_str_eq(fault_type_name(FAULT_UNREACHABLE), "unreachable");
	ck_assert_str_eq(fault_type_name(FAULT_BLACKHOLE), "blackhole");
	ck_assert_str_eq(fault_type_name(FAULT_TYPE_COUNT), "?");
	ck_assert_str_eq(fault_action_name(ACTION_ACCEPT), "accept");
	ck_assert_str_eq(fault_action_name(ACTION_DROP), "drop");
	ck_assert_str_eq(fault_action_name(ACTION_RESET), "reset");
	ck_assert_str_eq(fault_action_name(ACTION_REFUSE), "refuse");
	ck_assert_str_eq(fault_action_name(ACTION_UNREACHABLE), "unreachable");
}
END_TEST

START_TEST(test_no_rules_accepts)
{
	struct sim s;
	sim_init(&s, 1);
	struct conn c;
	conn_init(&c, 41234, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	conn_open(&s, &c);
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 1000);
	assert_accept(&d);
	ck_assert_uint_eq(c.f->decisions, 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_first_applicable_rule_wins)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_BLACKHOLE)->port = 81;       /* 0: another port */
	sim_rule(&s, FAULT_REFUSE);                     /* 1: only opening SYNs */
	sim_rule(&s, FAULT_UNREACHABLE)->dirs = DIR_DOWN; /* 2 */
	sim_rule(&s, FAULT_BLACKHOLE);                  /* 3 */
	struct conn c;
	conn_init(&c, 41234, 80);

	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.rule, 1);
	/* Later rules were not asked: nothing drawn for them. */
	ck_assert_int_eq(c.f->rules[2].decided, 0);
	ck_assert_int_eq(c.f->rules[3].decided, 0);

	/* A connection picked up mid-stream: refuse lets it be, then the
	 * direction decides between rules 2 and 3. */
	conn_init(&c, 41235, 80);
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
	ck_assert_int_eq(d.rule, 2);
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 3);
	ck_assert_uint_eq(c.f->rules[0].fired, 0);
	ck_assert_uint_eq(c.f->rules[1].fired, 0);
	ck_assert_uint_eq(c.f->rules[2].count, 1);
	ck_assert_uint_eq(c.f->rules[3].count, 1);

	/* On port 81 rule 0 comes first and takes everything. */
	conn_init(&c, 41236, 81);
	d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_rule_that_does_not_act_falls_through)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *reset = sim_rule(&s, FAULT_RESET);
	reset->after_bytes = 1000;
	sim_rule(&s, FAULT_BLACKHOLE)->dirs = DIR_DOWN;
	struct conn c;
	conn_init(&c, 41234, 80);
	/* The blackhole would eat the SYN|ACK: open the flow mid-stream. */
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 400);
	assert_accept(&d);
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 1);
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 600);
	assert_accept(&d);
	/* The reset comes first once it acts. */
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 1);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_dirs)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_BLACKHOLE);
	r->dirs = DIR_UP;
	r->from_ns = 1 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	s.now = 2 * SEC;
	for (int i = 0; i < 3; i++) {
		struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 100);
		ck_assert_int_eq(d.action, ACTION_DROP);
		d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
		assert_accept(&d);
	}
	ck_assert_uint_eq(c.f->down.bytes, 300);
	ck_assert_uint_eq(c.f->up.bytes, 0);

	s.rules[0].type = FAULT_UNREACHABLE;
	s.rules[0].dirs = DIR_DOWN;
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 100);
	assert_accept(&d);
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
	sim_done(&s);
}
END_TEST

START_TEST(test_window)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_BLACKHOLE);
	r->from_ns = 1 * SEC;
	r->until_ns = 2 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	static const struct { int64_t t; enum fault_action action; } steps[] = {
		{ 0, ACTION_ACCEPT },
		{ 1 * SEC - 1, ACTION_ACCEPT },
		{ 1 * SEC, ACTION_DROP },        /* from is included */
		{ 1500 * MS, ACTION_DROP },
		{ 2 * SEC - 1, ACTION_DROP },
		{ 2 * SEC, ACTION_ACCEPT },      /* until is not */
		{ 100 * SEC, ACTION_ACCEPT },
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		s.now = steps[i].t;
		struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 10);
		if (d.action != steps[i].action)
			ck_abort_msg("at %lld ns: %s, want %s", (long long)steps[i].t,
			             fault_action_name(d.action), fault_action_name(steps[i].action));
	}
	/* No end. */
	s.rules[0].until_ns = -1;
	s.now = 1000 * SEC;
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 0), ACTION_DROP);
	/* The window is in run time, not the flow's age. */
	conn_init(&c, 41235, 80);
	s.rules[0].from_ns = 1000 * SEC;
	s.now = 999 * SEC;
	conn_open(&s, &c);
	s.now = 1000 * SEC;
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 0), ACTION_DROP);
	sim_done(&s);
}
END_TEST

START_TEST(test_flows_filter)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_BLACKHOLE);
	r->flows[0] = 2;
	r->flows[1] = 4;
	r->flow_count = 2;
	for (uint32_t id = 1; id <= 5; id++) {
		struct conn c;
		conn_init(&c, (uint16_t)(41000 + id), 80);
		struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
		ck_assert_uint_eq(c.f->id, id);
		if (id == 2 || id == 4) {
			ck_assert_int_eq(d.action, ACTION_DROP);
			ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_SYN | TCP_ACK, 0), ACTION_DROP);
		} else {
			assert_accept(&d);
			conn_send(&s, &c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
			ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 0), ACTION_ACCEPT);
		}
	}
	sim_done(&s);
}
END_TEST

START_TEST(test_port_filter)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_BLACKHOLE)->port = 8080;
	struct conn web, alt;
	conn_init(&web, 41234, 80);
	conn_init(&alt, 41234, 8080);
	conn_open(&s, &web);
	ck_assert_int_eq(conn_action(&s, &alt, DIR_UP, TCP_SYN, 0), ACTION_DROP);
	/* The server's port, whichever way the packet goes. */
	ck_assert_int_eq(conn_action(&s, &alt, DIR_DOWN, TCP_SYN | TCP_ACK, 0), ACTION_DROP);
	ck_assert_int_eq(conn_action(&s, &web, DIR_DOWN, TCP_ACK, 100), ACTION_ACCEPT);
	/* A client port equal to the rule's port is not the server port. */
	struct conn odd;
	conn_init(&odd, 8080, 80);
	conn_open(&s, &odd);
	sim_done(&s);
}
END_TEST

START_TEST(test_packet_without_flow)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_BLACKHOLE);
	sim_rule(&s, FAULT_UNREACHABLE);
	struct tuple tu = { IPPROTO_ICMP, CLIENT_IP, SERVER_IP, 0, 0 };
	struct packet p = make_packet(&tu, DIR_UP, 0, 0, 0, 56);
	struct flow *f = (struct flow *)&p;
	struct fault_decision d = sim_packet(&s, &p, DIR_UP, &f);
	ck_assert_ptr_null(f);
	assert_accept(&d);
	ck_assert_uint_eq(flow_table_count(s.t), 0);
	sim_done(&s);
}
END_TEST

/* ---- p: one draw per connection ----------------------------------------- */

#define P_FLOWS 1000

/* Open P_FLOWS connections under a blackhole with p = 0.5; chosen[i] says
 * whether flow i + 1 was taken. Returns how many were. */
static int choose(uint64_t seed, uint8_t chosen[P_FLOWS])
{
	struct sim s;
	sim_init(&s, seed);
	sim_rule(&s, FAULT_BLACKHOLE)->p = 0.5;
	int count = 0;
	for (int i = 0; i < P_FLOWS; i++) {
		struct conn c;
		conn_init(&c, (uint16_t)(10000 + i), 80);
		struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
		ck_assert_uint_eq(c.f->id, (uint32_t)i + 1);
		ck_assert_int_eq(c.f->rules[0].decided, 1);
		ck_assert_int_eq(c.f->rules[0].chosen, d.action == ACTION_DROP);
		chosen[i] = d.action == ACTION_DROP;
		count += chosen[i];
	}
	sim_done(&s);
	return count;
}

START_TEST(test_p_fraction)
{
	static uint8_t chosen[P_FLOWS];
	static const uint64_t seeds[] = { 1, 42, 20240601 };
	for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
		int count = choose(seeds[k], chosen);
		double fraction = (double)count / P_FLOWS;
		if (fraction < 0.45 || fraction > 0.55)
			ck_abort_msg("seed %llu: %d of %d flows chosen at p = 0.5",
			             (unsigned long long)seeds[k], count, P_FLOWS);
	}
}
END_TEST

START_TEST(test_p_same_seed_same_choices)
{
	static uint8_t a[P_FLOWS], b[P_FLOWS], other[P_FLOWS];
	choose(42, a);
	choose(42, b);
	ck_assert_mem_eq(a, b, P_FLOWS);
	choose(43, other);
	ck_assert_mem_ne(a, other, P_FLOWS);
	int differ = 0;
	for (int i = 0; i < P_FLOWS; i++)
		differ += a[i] != other[i];
	/* Independent streams: about half differ, not a handful. */
	ck_assert_int_gt(differ, P_FLOWS / 4);
}
END_TEST

START_TEST(test_p_drawn_once_per_flow)
{
	struct sim s;
	sim_init(&s, 7);
	sim_rule(&s, FAULT_BLACKHOLE)->p = 0.5;
	int seen[2] = { 0, 0 };
	for (int i = 0; i < 40; i++) {
		struct conn c;
		conn_init(&c, (uint16_t)(30000 + i), 80);
		/* Mid-stream flows so that unchosen ones carry on normally. */
		struct fault_decision first = conn_send(&s, &c, DIR_UP, TCP_ACK, 10);
		struct flow *f = c.f;
		uint64_t state = f->rng.state;
		for (int k = 0; k < 20; k++) {
			struct fault_decision d = conn_send(&s, &c, k % 2 ? DIR_UP : DIR_DOWN, TCP_ACK, 10);
			ck_assert_int_eq(d.action, first.action);
		}
		ck_assert_uint_eq(f->rng.state, state);
		seen[first.action == ACTION_DROP]++;
	}
	/* Both outcomes occurred, so "the same" above meant something. */
	ck_assert_int_gt(seen[0], 0);
	ck_assert_int_gt(seen[1], 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_p_certain_and_never)
{
	struct sim s;
	sim_init(&s, 7);
	struct fault_rule *never = sim_rule(&s, FAULT_BLACKHOLE);
	never->p = 0.0;
	sim_rule(&s, FAULT_UNREACHABLE);   /* p = 1 */
	for (int i = 0; i < 50; i++) {
		struct conn c;
		conn_init(&c, (uint16_t)(30000 + i), 80);
		struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
		ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
		ck_assert_int_eq(d.rule, 1);
		/* Neither p = 0 nor p = 1 takes a number from the stream. */
		struct rng fresh;
		rng_seed(&fresh, 7, c.f->id);
		ck_assert_uint_eq(c.f->rng.state, fresh.state);
	}
	sim_done(&s);
}
END_TEST

START_TEST(test_p_depends_on_seed_and_ordinal_only)
{
	/* Open 200 flows, then let them send their first packets in opposite
	 * orders: each flow's draw is the same either way. */
	struct sim a, b;
	sim_init(&a, 99);
	sim_init(&b, 99);
	struct fault_rule *r;
	r = sim_rule(&a, FAULT_BLACKHOLE);
	r->p = 0.3;
	r->from_ns = 1 * SEC;
	r = sim_rule(&b, FAULT_BLACKHOLE);
	r->p = 0.3;
	r->from_ns = 1 * SEC;
	static struct conn ca[200], cb[200];
	for (int i = 0; i < 200; i++) {
		conn_init(&ca[i], (uint16_t)(30000 + i), 80);
		conn_init(&cb[i], (uint16_t)(30000 + i), 80);
		conn_open(&a, &ca[i]);
		conn_open(&b, &cb[i]);
	}
	a.now = b.now = 2 * SEC;
	for (int i = 0; i < 200; i++)
		conn_send(&a, &ca[i], DIR_UP, TCP_ACK, 1);
	for (int i = 199; i >= 0; i--)
		conn_send(&b, &cb[i], DIR_UP, TCP_ACK, 1);
	int chosen = 0;
	for (uint32_t id = 1; id <= 200; id++) {
		ck_assert_int_eq(flow_table_get(a.t, id)->rules[0].chosen, flow_table_get(b.t, id)->rules[0].chosen);
		chosen += flow_table_get(a.t, id)->rules[0].chosen;
	}
	ck_assert_int_gt(chosen, 20);
	ck_assert_int_lt(chosen, 120);
	char da[65], db[65];
	flow_table_digest(a.t, da);
	flow_table_digest(b.t, db);
	ck_assert_str_eq(da, db);
	sim_done(&a);
	sim_done(&b);
}
END_TEST

/* ---- reset -------------------------------------------------------------- */

START_TEST(test_reset_after_bytes)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_bytes = 1000;
	r->dirs = DIR_UP;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	/* Up to exactly after_bytes delivered: all accepted. */
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 400);
	assert_accept(&d);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 5000), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 400), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, 200), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_uint_eq(f->up.bytes, 1000);
	ck_assert_uint_eq(f->decisions, 0);
	/* The byte that would cross it resets the connection. */
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 1);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_uint_eq(d.to, TARGET_CLIENT | TARGET_SERVER);
	ck_assert_uint_eq(d.at_bytes, 1000);
	ck_assert_uint_eq(f->up.bytes, 1000);
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_uint_eq(f->rules[0].count, 1);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_bytes_one_packet_crosses)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_bytes = 1000;
	r->dirs = DIR_DOWN;
	r->to = TARGET_CLIENT;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 5000), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 600), ACTION_ACCEPT);
	struct fault_decision d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 600);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 600);
	ck_assert_uint_eq(d.to, TARGET_CLIENT);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_bytes_both_directions)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RESET)->after_bytes = 1000;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 600), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 400), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 0), ACTION_ACCEPT);
	struct fault_decision d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 1);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 1000);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_bytes_counts_distinct_bytes)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_bytes = 1000;
	r->dirs = DIR_DOWN;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	uint32_t start = c.next[DIR_DOWN];
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 500), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 500), ACTION_ACCEPT);
	/* Retransmissions of what was delivered do not cross the line. */
	for (int i = 0; i < 5; i++) {
		struct fault_decision d = conn_send_at(&s, &c, DIR_DOWN, TCP_ACK, start, 500);
		assert_accept(&d);
		d = conn_send_at(&s, &c, DIR_DOWN, TCP_ACK, start + 250, 750);
		assert_accept(&d);
	}
	/* One that reaches one byte further does. */
	struct fault_decision d = conn_send_at(&s, &c, DIR_DOWN, TCP_ACK, start + 250, 751);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 1000);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_bytes_midstream_late_segments)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_bytes = 1000;
	r->dirs = DIR_DOWN;
	struct conn c;
	conn_init(&c, 41234, 80);
	/* Picked up mid-stream at seq S: 300 bytes counted. */
	uint32_t s0 = c.next[DIR_DOWN];
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 300), ACTION_ACCEPT);
	/* Segments sent before S arrive late: they are not ~4 GiB of new
	 * data, and what they carry before S does not count. */
	struct fault_decision d = conn_send_at(&s, &c, DIR_DOWN, TCP_ACK, s0 - 500, 400);
	assert_accept(&d);
	d = conn_send_at(&s, &c, DIR_DOWN, TCP_ACK, s0 - 500, 1400);   /* ends at S + 900 */
	assert_accept(&d);
	ck_assert_uint_eq(c.f->down.bytes, 900);
	d = conn_send_at(&s, &c, DIR_DOWN, TCP_ACK, s0 + 900, 101);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 900);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_zero_bytes)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RESET)->after_bytes = 0;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 0), ACTION_ACCEPT);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, 77);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_ms_by_packet)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RESET)->after_ns = 500 * MS;
	struct conn c;
	conn_init(&c, 41234, 80);
	s.now = 10 * SEC;   /* the flow opens late in the run: age counts */
	struct flow *f = conn_open(&s, &c);
	s.now += 100 * MS;
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 100), ACTION_ACCEPT);
	s.now = f->opened_ns + 500 * MS - 1;
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 300), ACTION_ACCEPT);
	s.now = f->opened_ns + 500 * MS;
	struct fault_decision d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 10);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_uint_eq(d.at_bytes, 400);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);

	/* The same straight through fault_decide: only age_ns matters. */
	struct sim s2;
	sim_init(&s2, 1);
	sim_rule(&s2, FAULT_RESET)->after_ns = 500 * MS;
	struct conn c2;
	conn_init(&c2, 41234, 80);
	f = conn_open(&s2, &c2);
	struct packet p = make_packet(&c2.tu, DIR_UP, TCP_ACK, c2.next[DIR_UP], c2.next[DIR_DOWN], 0);
	fault_decide(s2.t, s2.rules, s2.n, f, &p, DIR_UP, 0, 499 * MS, &d);
	ck_assert_int_eq(d.action, ACTION_ACCEPT);
	fault_decide(s2.t, s2.rules, s2.n, f, &p, DIR_UP, 0, 500 * MS, &d);
	ck_assert_int_eq(d.action, ACTION_RESET);
	sim_done(&s2);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_ms_only_its_dirs)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_ns = 500 * MS;
	r->dirs = DIR_UP;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	s.now = 600 * MS;
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 100), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 0), ACTION_RESET);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_after_ms_by_tick)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_ns = 500 * MS;
	r->to = TARGET_SERVER;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 120), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 30), ACTION_ACCEPT);
	/* The connection then sits idle: only ticks come. */
	struct fault_decision d;
	s.now = 499 * MS;
	ck_assert_int_eq(sim_tick(&s, f, &d), 0);
	ck_assert_int_eq(d.action, ACTION_ACCEPT);
	ck_assert_int_eq(d.rule, -1);
	s.now = 500 * MS;
	ck_assert_int_eq(sim_tick(&s, f, &d), 1);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_uint_eq(d.to, TARGET_SERVER);
	ck_assert_uint_eq(d.at_bytes, 150);
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	/* Once is enough. */
	s.now = 600 * MS;
	ck_assert_int_eq(sim_tick(&s, f, &d), 0);
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 10), ACTION_RESET_AGAIN);
	sim_done(&s);
}
END_TEST

START_TEST(test_tick_needs_both_triggers)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_ns = 500 * MS;
	r->after_bytes = 1000;
	r->dirs = DIR_DOWN;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 800), ACTION_ACCEPT);
	struct fault_decision d;
	s.now = 700 * MS;
	ck_assert_int_eq(sim_tick(&s, f, &d), 0);
	/* More than after_bytes went through before after_ms: not yet... */
	s.now = 100 * MS;
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 800), ACTION_ACCEPT);
	ck_assert_uint_eq(f->down.bytes, 1600);
	s.now = 499 * MS;
	ck_assert_int_eq(sim_tick(&s, f, &d), 0);
	/* ...until both hold. */
	s.now = 500 * MS;
	ck_assert_int_eq(sim_tick(&s, f, &d), 1);
	ck_assert_uint_eq(d.at_bytes, 1600);
	sim_done(&s);
}
END_TEST

START_TEST(test_tick_leaves_other_flows_alone)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *timed = sim_rule(&s, FAULT_RESET);
	timed->after_ns = 100 * MS;
	timed->port = 443;
	sim_rule(&s, FAULT_RESET)->after_bytes = 10;   /* no time: never by tick */
	struct fault_decision d;

	/* Another port: not covered. */
	struct conn web;
	conn_init(&web, 41234, 80);
	struct flow *fw = conn_open(&s, &web);
	/* Still in SYN_SENT. */
	struct conn syn;
	conn_init(&syn, 41235, 443);
	conn_send(&s, &syn, DIR_UP, TCP_SYN, 0);
	/* UDP. */
	struct tuple tu = { IPPROTO_UDP, CLIENT_IP, SERVER_IP, 53000, 443 };
	struct packet q = make_packet(&tu, DIR_UP, 0, 0, 0, 40);
	struct flow *fu;
	sim_packet(&s, &q, DIR_UP, &fu);
	/* Closed cleanly. */
	struct conn done;
	conn_init(&done, 41236, 443);
	conn_open(&s, &done);
	ck_assert_int_eq(conn_action(&s, &done, DIR_UP, TCP_FIN | TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &done, DIR_DOWN, TCP_FIN | TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &done, DIR_UP, TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(done.f->end, FLOW_END_FIN);

	s.now = 10 * SEC;
	ck_assert_int_eq(sim_tick(&s, fw, &d), 0);
	ck_assert_int_eq(sim_tick(&s, syn.f, &d), 0);
	ck_assert_int_eq(sim_tick(&s, fu, &d), 0);
	ck_assert_int_eq(sim_tick(&s, done.f, &d), 0);

	/* Outside its window the rule does not tick either. */
	struct conn late;
	conn_init(&late, 41237, 443);
	s.now = 0;
	struct flow *fl = conn_open(&s, &late);
	s.rules[0].until_ns = 1 * SEC;
	s.now = 2 * SEC;
	ck_assert_int_eq(sim_tick(&s, fl, &d), 0);
	s.rules[0].until_ns = -1;
	ck_assert_int_eq(sim_tick(&s, fl, &d), 1);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_not_in_syn_sent)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RESET);   /* no trigger: at once */
	struct conn c;
	conn_init(&c, 41234, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	d = conn_send_at(&s, &c, DIR_UP, TCP_SYN, c.next[DIR_UP] - 1, 0);   /* retransmitted */
	assert_accept(&d);
	/* The SYN|ACK still finds the flow in SYN_SENT. */
	d = conn_send(&s, &c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	assert_accept(&d);
	ck_assert_int_eq(c.f->state, FLOW_SYN_RECEIVED);
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_lets_rst_through)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RESET)->after_ns = 500 * MS;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	s.now = 600 * MS;
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_RST | TCP_ACK, 0);
	assert_accept(&d);
	ck_assert_int_eq(f->end, FLOW_END_RESET_BY_CLIENT);
	/* Closed: nothing more to reset. */
	ck_assert_int_eq(sim_tick(&s, f, &d), 0);
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 10);
	assert_accept(&d);
	sim_done(&s);
}
END_TEST

START_TEST(test_reset_again_after_injection)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_bytes = 100;
	r->until_ns = 1 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 101), ACTION_RESET);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	uint64_t packets = f->packets;
	/* Whatever comes later, in either direction, even past the rule's
	 * window, is answered with RST again; RSTs are just dropped. */
	s.now = 5 * SEC;
	static const struct { enum flow_dir dir; uint8_t flags; size_t len; enum fault_action action; } later[] = {
		{ DIR_UP, TCP_ACK, 101, ACTION_RESET_AGAIN },
		{ DIR_UP, TCP_ACK | TCP_FIN, 0, ACTION_RESET_AGAIN },
		{ DIR_DOWN, TCP_ACK | TCP_PSH, 1000, ACTION_RESET_AGAIN },
		{ DIR_DOWN, TCP_ACK, 0, ACTION_RESET_AGAIN },
		{ DIR_UP, TCP_RST, 0, ACTION_DROP },
		{ DIR_DOWN, TCP_RST | TCP_ACK, 0, ACTION_DROP },
		{ DIR_UP, TCP_ACK, 0, ACTION_RESET_AGAIN },
	};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
		struct fault_decision d = conn_send(&s, &c, later[i].dir, later[i].flags, later[i].len);
		if (d.action != later[i].action)
			ck_abort_msg("packet %zu after the reset: %s, want %s", i,
			             fault_action_name(d.action), fault_action_name(later[i].action));
		ck_assert_ptr_eq(c.f, f);
	}
	ck_assert_uint_eq(f->packets, packets);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);

	/* A new SYN on the same tuple is a new connection, judged afresh. */
	s.now = 0;
	conn_init(&c, 41234, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	ck_assert_uint_eq(c.f->id, 2);
	sim_done(&s);
}
END_TEST

/* ---- refuse, unreachable, blackhole ------------------------------------- */

START_TEST(test_refuse_opening_syn)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_REFUSE);
	struct conn c;
	conn_init(&c, 41234, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN | 0xc0, 0);  /* with ECE|CWR */
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	struct flow *f = c.f;
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_int_eq(f->end, FLOW_END_REFUSED);
	/* The client tries again: a new connection, refused in its turn. */
	d = conn_send_at(&s, &c, DIR_UP, TCP_SYN, c.next[DIR_UP] - 1, 0);
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.first, 1);
	ck_assert_ptr_ne(c.f, f);
	ck_assert_uint_eq(c.f->id, 2);
	sim_done(&s);
}
END_TEST

START_TEST(test_refuse_only_the_opening_syn)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_REFUSE)->from_ns = 1 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	s.now = 2 * SEC;
	/* An established connection's packets, whatever their flags. */
	static const struct { enum flow_dir dir; uint8_t flags; size_t len; } pkts[] = {
		{ DIR_UP, TCP_ACK | TCP_PSH, 100 },
		{ DIR_DOWN, TCP_SYN | TCP_ACK, 0 },
		{ DIR_DOWN, TCP_ACK, 1000 },
		{ DIR_UP, TCP_SYN | TCP_ACK, 0 },
		{ DIR_UP, TCP_FIN | TCP_ACK, 0 },
		{ DIR_DOWN, TCP_FIN | TCP_ACK, 0 },
	};
	for (size_t i = 0; i < sizeof pkts / sizeof pkts[0]; i++) {
		struct fault_decision d = conn_send(&s, &c, pkts[i].dir, pkts[i].flags, pkts[i].len);
		assert_accept(&d);
	}
	/* A SYN from the server's side is not the client's opening SYN. */
	struct conn back;
	conn_init(&back, 41235, 80);
	struct fault_decision d = conn_send(&s, &back, DIR_DOWN, TCP_SYN, 0);
	assert_accept(&d);
	/* Nor a SYN with RST. */
	conn_init(&back, 41236, 80);
	d = conn_send(&s, &back, DIR_UP, TCP_SYN | TCP_RST, 0);
	assert_accept(&d);
	/* Nor when the rule is for the other direction. */
	s.rules[0].dirs = DIR_DOWN;
	conn_init(&back, 41237, 80);
	d = conn_send(&s, &back, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	sim_done(&s);
}
END_TEST

START_TEST(test_unreachable_every_packet)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_UNREACHABLE);
	r->code = UNREACH_ADMIN;
	r->from_ns = 1 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	s.now = 1 * SEC;
	for (int i = 0; i < 6; i++) {
		struct fault_decision d = conn_send(&s, &c, i % 2 ? DIR_DOWN : DIR_UP, TCP_ACK, (size_t)i * 10);
		ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
		ck_assert_int_eq(d.rule, 0);
		ck_assert_int_eq(d.code, UNREACH_ADMIN);
		ck_assert_int_eq(d.first, i == 0);
	}
	ck_assert_uint_eq(f->rules[0].count, 6);
	ck_assert_uint_eq(f->decisions, 6);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	sim_done(&s);
}
END_TEST

START_TEST(test_unreachable_retransmitted_syns)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_UNREACHABLE);   /* host unreachable */
	struct conn c;
	conn_init(&c, 41234, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
	ck_assert_int_eq(d.code, UNREACH_HOST);
	ck_assert_int_eq(d.first, 1);
	struct flow *f = c.f;
	ck_assert_int_eq(f->end, FLOW_END_TIMEOUT);
	/* The client's retries are the same attempt. */
	for (int i = 0; i < 3; i++) {
		s.now += 1 * SEC;
		d = conn_send_at(&s, &c, DIR_UP, TCP_SYN, c.next[DIR_UP] - 1, 0);
		ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
		ck_assert_int_eq(d.first, 0);
		ck_assert_ptr_eq(c.f, f);
	}
	ck_assert_uint_eq(f->rules[0].count, 4);
	ck_assert_uint_eq(flow_table_count(s.t), 1);
	sim_done(&s);
}
END_TEST

START_TEST(test_blackhole_every_packet)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_BLACKHOLE);
	r->from_ns = 1 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	uint64_t packets = f->packets;
	s.now = 1 * SEC;
	static const uint8_t flags[] = { TCP_ACK, TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK, TCP_RST, TCP_SYN };
	for (size_t i = 0; i < 10; i++) {
		struct fault_decision d = conn_send(&s, &c, i % 2 ? DIR_DOWN : DIR_UP, flags[i % 5], i % 5 == 1 ? 500 : 0);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, 0);
		ck_assert_int_eq(d.first, i == 0);
	}
	/* Nothing got through: the flow did not move. */
	ck_assert_uint_eq(f->packets, packets);
	ck_assert_uint_eq(f->dropped, 10);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_uint_eq(f->rules[0].count, 10);
	ck_assert_uint_eq(f->decisions, 10);
	sim_done(&s);
}
END_TEST

START_TEST(test_first_per_rule_and_flow)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_BLACKHOLE)->until_ns = 1 * SEC;
	sim_rule(&s, FAULT_UNREACHABLE);
	struct conn a, b;
	conn_init(&a, 41234, 80);
	conn_init(&b, 41235, 80);
	struct fault_decision d = conn_send(&s, &a, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.first, 1);
	d = conn_send_at(&s, &a, DIR_UP, TCP_SYN, a.next[DIR_UP] - 1, 0);
	ck_assert_int_eq(d.first, 0);
	/* Another flow: its own first time. */
	d = conn_send(&s, &b, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.first, 1);
	/* Another rule on the same flow: its own first time too. */
	s.now = 1 * SEC;
	d = conn_send_at(&s, &a, DIR_UP, TCP_SYN, a.next[DIR_UP] - 1, 0);
	ck_assert_int_eq(d.action, ACTION_UNREACHABLE);
	ck_assert_int_eq(d.rule, 1);
	ck_assert_int_eq(d.first, 1);
	d = conn_send_at(&s, &a, DIR_UP, TCP_SYN, a.next[DIR_UP] - 1, 0);
	ck_assert_int_eq(d.first, 0);
	ck_assert_uint_eq(a.f->decisions, 4);
	ck_assert_uint_eq(b.f->decisions, 1);
	sim_done(&s);
}
END_TEST

/* ---- decisions and the digest ------------------------------------------- */

/* A fixed run: a reset after bytes on flow 1, a blackhole window over
 * flow 2, a refused flow 3. Returns the digest. */
static void scripted_run(uint64_t seed, int reverse, int64_t blackhole_until, char out[65])
{
	struct sim s;
	sim_init(&s, seed);
	struct fault_rule *r = sim_rule(&s, FAULT_RESET);
	r->after_bytes = 3000;
	r->flows[0] = 1;
	r->flow_count = 1;
	r = sim_rule(&s, FAULT_BLACKHOLE);
	r->flows[0] = 2;
	r->flow_count = 1;
	r->from_ns = 1 * SEC;
	r->until_ns = blackhole_until;
	r = sim_rule(&s, FAULT_REFUSE);
	r->flows[0] = 3;
	r->flow_count = 1;
	struct conn c[3];
	for (int i = 0; i < 3; i++) {
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
		conn_send(&s, &c[i], DIR_UP, TCP_SYN, 0);
	}
	for (int i = 0; i < 2; i++) {
		conn_send(&s, &c[i], DIR_DOWN, TCP_SYN | TCP_ACK, 0);
		conn_send(&s, &c[i], DIR_UP, TCP_ACK, 0);
	}
	for (int step = 0; step < 8; step++) {
		s.now = step * 300 * MS;
		for (int k = 0; k < 2; k++) {
			int i = reverse ? 1 - k : k;
			conn_send(&s, &c[i], DIR_DOWN, TCP_ACK, 1000);
			conn_send(&s, &c[i], DIR_UP, TCP_ACK, 0);
		}
	}
	flow_table_digest(s.t, out);
	ck_assert_uint_eq(flow_table_get(s.t, 1)->decisions, 1);
	ck_assert_uint_gt(flow_table_get(s.t, 2)->decisions, 0);
	ck_assert_uint_eq(flow_table_get(s.t, 3)->decisions, 1);
	sim_done(&s);
}

START_TEST(test_decisions_recorded)
{
	char a[65], b[65], c[65], other[65];
	scripted_run(5, 0, 2 * SEC, a);
	scripted_run(5, 0, 2 * SEC, b);
	ck_assert_str_eq(a, b);
	/* Flows interleaved the other way round: the same decisions. */
	scripted_run(5, 1, 2 * SEC, c);
	ck_assert_str_eq(a, c);
	/* A longer blackhole: one more decision, another digest. */
	scripted_run(5, 0, 2200 * MS, other);
	ck_assert_str_ne(a, other);
}
END_TEST

START_TEST(test_accepts_are_not_recorded)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RESET)->after_bytes = 1 << 20;
	sim_rule(&s, FAULT_REFUSE)->from_ns = 1 * SEC;
	sim_rule(&s, FAULT_BLACKHOLE)->port = 443;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	s.now = 2 * SEC;
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(conn_action(&s, &c, i % 2 ? DIR_UP : DIR_DOWN, TCP_ACK, 1000), ACTION_ACCEPT);
	ck_assert_uint_eq(f->decisions, 0);
	char d[65];
	flow_table_digest(s.t, d);
	ck_assert_str_eq(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sim_done(&s);
}
END_TEST

/* ---- helpers for the fault models --------------------------------------- */

/* Print a measured figure when CHECK_FAULT_FIGURES is set (for reports). */
static void figure(const char *what, double value)
{
	if (getenv("CHECK_FAULT_FIGURES")) {
		printf("figure: %s = %.6f\n", what, value);
		fflush(stdout);
	}
}

static struct tuple udp_tuple(uint32_t client_ip, uint16_t client_port, uint16_t server_port)
{
	struct tuple tu = { IPPROTO_UDP, client_ip, SERVER_IP, client_port, server_port };
	return tu;
}

/* One UDP datagram of `wire` bytes in all (IP and UDP headers included). */
static struct fault_decision udp_send(struct sim *s, const struct tuple *tu, enum flow_dir dir, size_t wire,
                                      struct flow **fp)
{
	/* Called in loops of 100k: plain tests, since every ck_assert leaves a
	 * checkpoint behind (a write). */
	if (wire < 28)
		ck_abort_msg("a UDP datagram is at least 28 bytes, not %zu", wire);
	struct packet p = make_packet(tu, dir, 0, 0, 0, wire - 28);
	return sim_packet(s, &p, dir, fp);
}

/* A segment whose payload bytes are really there: the first `caplen` bytes
 * of the packet are at p.data (the headers are zeros: fault.c reads only the
 * payload). caplen SIZE_MAX: the whole packet. */
static struct fault_decision conn_send_payload(struct sim *s, struct conn *c, enum flow_dir dir, uint8_t flags,
                                               const void *payload, size_t len, size_t caplen)
{
	static uint8_t buf[4096];
	enum flow_dir other = dir == DIR_UP ? DIR_DOWN : DIR_UP;
	struct packet p = make_packet(&c->tu, dir, flags, c->next[dir], (flags & TCP_ACK) ? c->next[other] : 0, len);
	ck_assert_uint_le(p.len, sizeof buf);
	memset(buf, 0, sizeof buf);
	memcpy(buf + p.payload_off, payload, len);
	p.data = buf;
	p.caplen = caplen == SIZE_MAX ? p.len : caplen;
	struct flow *f;
	struct fault_decision d = sim_packet(s, &p, dir, &f);
	c->f = f;
	c->next[dir] += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	return d;
}

/* Bursts in a drop pattern: maximal runs of consecutive drops. */
static size_t count_bursts(const uint8_t *dropped, size_t n)
{
	size_t bursts = 0;
	for (size_t i = 0; i < n; i++)
		bursts += dropped[i] && (i == 0 || !dropped[i - 1]);
	return bursts;
}

static uint8_t *xcalloc(size_t n)
{
	uint8_t *v = calloc(n, 1);
	ck_assert_ptr_nonnull(v);
	return v;
}

/* ---- loss ---------------------------------------------------------------- */

#define LOSS_PACKETS 100000
#define GILBERT_PACKETS 200000

/* n datagrams of one UDP flow through a single loss rule (model chosen by
 * the caller in *proto); dropped[i] says whether packet i was lost. Returns
 * the count lost. */
static size_t loss_run(uint64_t seed, const struct fault_rule *proto, uint8_t *dropped, size_t n)
{
	struct sim s;
	sim_init(&s, seed);
	s.rules[s.n++] = *proto;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct flow *f = NULL;
	size_t lost = 0;
	for (size_t i = 0; i < n; i++) {
		s.now = (int64_t)i * 1000;   /* 1 us apart: loss ignores time */
		struct fault_decision d = udp_send(&s, &tu, DIR_UP, 200, &f);
		/* Plain tests in the loop (see udp_send). */
		if (d.action == ACTION_DROP) {
			if (d.rule != 0 || d.first != (lost == 0))
				ck_abort_msg("packet %zu: dropped by rule %d, first %d", i, d.rule, d.first);
			dropped[i] = 1;
			lost++;
		} else {
			if (d.action != ACTION_ACCEPT || d.rule != -1)
				ck_abort_msg("packet %zu: %s by rule %d", i, fault_action_name(d.action), d.rule);
			dropped[i] = 0;
		}
	}
	ck_assert_uint_eq(flow_table_count(s.t), 1);
	ck_assert_uint_eq(f->dropped, lost);
	ck_assert_uint_eq(f->rules[0].count, lost);
	ck_assert_uint_eq(f->decisions, lost);
	ck_assert_uint_eq(f->packets, n - lost);
	sim_done(&s);
	return lost;
}

static struct fault_rule random_loss(double p)
{
	struct fault_rule r;
	fault_rule_init(&r, FAULT_LOSS);
	r.p = p;
	return r;
}

static struct fault_rule gilbert_loss(double p, double r_, double loss_good, double loss_bad)
{
	struct fault_rule r;
	fault_rule_init(&r, FAULT_LOSS);
	r.gilbert = 1;
	r.p = p;
	r.r = r_;
	r.loss_good = loss_good;
	r.loss_bad = loss_bad;
	return r;
}

START_TEST(test_loss_random_rate)
{
	uint8_t *dropped = xcalloc(LOSS_PACKETS);
	struct fault_rule r = random_loss(0.1);
	static const uint64_t seeds[] = { 1, 42, 20240601 };
	for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
		size_t lost = loss_run(seeds[k], &r, dropped, LOSS_PACKETS);
		double rate = (double)lost / LOSS_PACKETS;
		if (k == 0)
			figure("loss random p=0.1 seed 1: rate", rate);
		if (rate < 0.09 || rate > 0.11)
			ck_abort_msg("seed %llu: loss rate %.4f at p = 0.1 over %d packets",
			             (unsigned long long)seeds[k], rate, LOSS_PACKETS);
		/* Independent losses come mostly alone. */
		double burst = (double)lost / (double)count_bursts(dropped, LOSS_PACKETS);
		if (k == 0)
			figure("loss random p=0.1 seed 1: mean burst", burst);
		ck_assert_double_lt(burst, 1.2);
	}
	free(dropped);
}
END_TEST

START_TEST(test_loss_random_never_and_always)
{
	uint8_t *dropped = xcalloc(1000);
	struct fault_rule r = random_loss(0.0);
	ck_assert_uint_eq(loss_run(3, &r, dropped, 1000), 0);
	r = random_loss(1.0);
	ck_assert_uint_eq(loss_run(3, &r, dropped, 1000), 1000);
	free(dropped);

	/* Neither takes a number from the flow's stream. */
	struct sim s;
	sim_init(&s, 3);
	sim_rule(&s, FAULT_LOSS)->p = 0.0;
	sim_rule(&s, FAULT_LOSS)->p = 1.0;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct flow *f;
	for (int i = 0; i < 10; i++) {
		struct fault_decision d = udp_send(&s, &tu, i % 2 ? DIR_DOWN : DIR_UP, 100, &f);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, 1);
	}
	struct rng fresh;
	rng_seed(&fresh, 3, f->id);
	ck_assert_uint_eq(f->rng.state, fresh.state);
	sim_done(&s);
}
END_TEST

START_TEST(test_loss_random_same_seed_same_pattern)
{
	uint8_t *a = xcalloc(LOSS_PACKETS), *b = xcalloc(LOSS_PACKETS), *other = xcalloc(LOSS_PACKETS);
	struct fault_rule r = random_loss(0.1);
	size_t la = loss_run(42, &r, a, LOSS_PACKETS);
	size_t lb = loss_run(42, &r, b, LOSS_PACKETS);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(a, b, LOSS_PACKETS);
	loss_run(43, &r, other, LOSS_PACKETS);
	size_t differ = 0;
	for (size_t i = 0; i < LOSS_PACKETS; i++)
		differ += a[i] != other[i];
	/* Independent patterns differ in about 2 * 0.1 * 0.9 = 18 % of places. */
	figure("loss random seeds 42 vs 43: packets that differ", (double)differ);
	ck_assert_uint_gt(differ, LOSS_PACKETS / 10);
	free(a);
	free(b);
	free(other);
}
END_TEST

START_TEST(test_loss_gilbert_bursts)
{
	uint8_t *dropped = xcalloc(GILBERT_PACKETS);
	/* p = good to bad, r = bad to good; all lost in bad, none in good. */
	struct fault_rule g = gilbert_loss(0.01, 0.25, 0.0, 1.0);
	size_t lost = loss_run(7, &g, dropped, GILBERT_PACKETS);
	size_t bursts = count_bursts(dropped, GILBERT_PACKETS);
	double rate = (double)lost / GILBERT_PACKETS;
	double burst = (double)lost / (double)bursts;
	figure("gilbert p=0.01 r=0.25 seed 7: loss rate (expected p/(p+r) = 0.0385)", rate);
	figure("gilbert p=0.01 r=0.25 seed 7: bursts", (double)bursts);
	figure("gilbert p=0.01 r=0.25 seed 7: mean burst (expected 1/r = 4)", burst);
	/* Each connection starts in the good state, where nothing is lost. */
	ck_assert_int_eq(dropped[0], 0);
	if (burst < 3.4 || burst > 4.6)
		ck_abort_msg("mean burst %.3f packets, want 1/r = 4 (3.4..4.6)", burst);
	if (rate < 0.03 || rate > 0.047)
		ck_abort_msg("loss rate %.4f, want p/(p+r) = 0.0385 (0.03..0.047)", rate);

	/* Random loss at the same rate loses packets mostly alone: about
	 * 1 / (1 - rate) = 1.04 per burst. */
	uint8_t *alone = xcalloc(GILBERT_PACKETS);
	struct fault_rule r = random_loss(rate);
	size_t lost_random = loss_run(7, &r, alone, GILBERT_PACKETS);
	double burst_random = (double)lost_random / (double)count_bursts(alone, GILBERT_PACKETS);
	figure("random loss at the same rate, seed 7: loss rate", (double)lost_random / GILBERT_PACKETS);
	figure("random loss at the same rate, seed 7: mean burst", burst_random);
	ck_assert_double_ge(burst_random, 1.0);
	ck_assert_double_lt(burst_random, 1.1);
	ck_assert_double_gt(burst, 3.0 * burst_random);
	free(dropped);
	free(alone);
}
END_TEST

START_TEST(test_loss_gilbert_states)
{
	uint8_t *a = xcalloc(GILBERT_PACKETS), *b = xcalloc(GILBERT_PACKETS);
	/* Deterministic per seed. */
	struct fault_rule g = gilbert_loss(0.01, 0.25, 0.0, 1.0);
	loss_run(11, &g, a, GILBERT_PACKETS);
	loss_run(11, &g, b, GILBERT_PACKETS);
	ck_assert_mem_eq(a, b, GILBERT_PACKETS);
	/* Never leaving the good state (p = 0) with loss_good = 0: no loss. */
	g = gilbert_loss(0.0, 0.25, 0.0, 1.0);
	ck_assert_uint_eq(loss_run(11, &g, a, 10000), 0);
	/* Straight into the bad state and never out (p = 1, r = 0): every
	 * packet but the first, which is decided in the good state. */
	g = gilbert_loss(1.0, 0.0, 0.0, 1.0);
	ck_assert_uint_eq(loss_run(11, &g, a, 10000), 9999);
	ck_assert_int_eq(a[0], 0);
	/* Loss inside the good state: p = 0, loss_good = 0.1 is random loss. */
	g = gilbert_loss(0.0, 0.25, 0.1, 1.0);
	double rate = (double)loss_run(11, &g, a, LOSS_PACKETS) / LOSS_PACKETS;
	ck_assert_double_gt(rate, 0.09);
	ck_assert_double_lt(rate, 0.11);
	free(a);
	free(b);
}
END_TEST

/* ---- delay and reorder -------------------------------------------------- */

START_TEST(test_delay_jitter)
{
	struct sim s;
	sim_init(&s, 5);
	struct fault_rule *r = sim_rule(&s, FAULT_DELAY);
	r->delay_ns = 100 * MS;
	r->jitter_ns = 20 * MS;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct flow *f;
	int64_t sum = 0, lo = INT64_MAX, hi = 0;
	for (int i = 0; i < 10000; i++) {
		s.now = (int64_t)i * MS;
		struct fault_decision d = udp_send(&s, &tu, i % 2 ? DIR_DOWN : DIR_UP, 200, &f);
		ck_assert_int_eq(d.action, ACTION_DELAY);
		ck_assert_int_eq(d.rule, 0);
		ck_assert_int_eq(d.first, i == 0);
		ck_assert_int_eq(d.keep_order, 1);
		if (d.delay_ns < 80 * MS || d.delay_ns > 120 * MS)
			ck_abort_msg("packet %d held %lld ns, outside 100 +- 20 ms", i, (long long)d.delay_ns);
		sum += d.delay_ns;
		lo = d.delay_ns < lo ? d.delay_ns : lo;
		hi = d.delay_ns > hi ? d.delay_ns : hi;
	}
	/* Held packets are let through: the flow followed all of them. */
	ck_assert_uint_eq(f->packets, 10000);
	double mean = (double)sum / 10000.0;
	figure("delay 100 +- 20 ms seed 5: mean delay (ms)", mean / 1e6);
	figure("delay 100 +- 20 ms seed 5: min delay (ms)", (double)lo / 1e6);
	figure("delay 100 +- 20 ms seed 5: max delay (ms)", (double)hi / 1e6);
	if (mean < 98.0 * MS || mean > 102.0 * MS)
		ck_abort_msg("mean delay %.3f ms, want 100 ms within 2 %%", mean / 1e6);
	/* The jitter covers its whole range. */
	ck_assert_int_lt(lo, 81 * MS);
	ck_assert_int_gt(hi, 119 * MS);
	sim_done(&s);
}
END_TEST

START_TEST(test_delay_without_jitter)
{
	struct sim s;
	sim_init(&s, 5);
	sim_rule(&s, FAULT_DELAY)->delay_ns = 300 * MS;
	struct conn c;
	conn_init(&c, 41234, 80);
	static const uint8_t flags[] = { TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_ACK | TCP_PSH };
	for (int i = 0; i < 20; i++) {
		enum flow_dir dir = i == 1 || (i > 2 && i % 2) ? DIR_DOWN : DIR_UP;
		struct fault_decision d = conn_send(&s, &c, dir, flags[i < 3 ? i : 3], i < 3 ? 0 : 100);
		ck_assert_int_eq(d.action, ACTION_DELAY);
		ck_assert_int_eq(d.delay_ns, 300 * MS);
		ck_assert_int_eq(d.keep_order, 1);
	}
	/* Held packets move the flow on as accepted ones do. */
	ck_assert_int_eq(c.f->state, FLOW_ESTABLISHED);
	/* No jitter, no draws. */
	struct rng fresh;
	rng_seed(&fresh, 5, c.f->id);
	ck_assert_uint_eq(c.f->rng.state, fresh.state);
	sim_done(&s);
}
END_TEST

START_TEST(test_delay_never_below_zero)
{
	/* 5 ms +- 10 ms: a quarter of the draws come out below 0, are held
	 * 0 ns, and so are not held at all. */
	struct sim s;
	sim_init(&s, 9);
	struct fault_rule *r = sim_rule(&s, FAULT_DELAY);
	r->delay_ns = 5 * MS;
	r->jitter_ns = 10 * MS;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	int accepted = 0;
	for (int i = 0; i < 10000; i++) {
		struct fault_decision d = udp_send(&s, &tu, DIR_UP, 100, NULL);
		if (d.action == ACTION_ACCEPT) {
			ck_assert_int_eq(d.rule, -1);
			accepted++;
			continue;
		}
		ck_assert_int_eq(d.action, ACTION_DELAY);
		ck_assert_int_gt(d.delay_ns, 0);
		ck_assert_int_le(d.delay_ns, 15 * MS);
	}
	figure("delay 5 +- 10 ms seed 9: fraction not held", accepted / 10000.0);
	ck_assert_int_gt(accepted, 2200);
	ck_assert_int_lt(accepted, 2800);
	sim_done(&s);
}
END_TEST

START_TEST(test_reorder_fraction)
{
	struct sim s;
	sim_init(&s, 13);
	struct fault_rule *r = sim_rule(&s, FAULT_REORDER);
	r->p = 0.25;
	r->delay_ns = 50 * MS;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct flow *f;
	int held = 0;
	for (int i = 0; i < 10000; i++) {
		struct fault_decision d = udp_send(&s, &tu, i % 3 ? DIR_DOWN : DIR_UP, 300, &f);
		if (d.action == ACTION_ACCEPT) {
			ck_assert_int_eq(d.rule, -1);
			continue;
		}
		ck_assert_int_eq(d.action, ACTION_DELAY);
		ck_assert_int_eq(d.rule, 0);
		ck_assert_int_eq(d.delay_ns, 50 * MS);
		/* Not kept in order: later packets overtake it. */
		ck_assert_int_eq(d.keep_order, 0);
		held++;
	}
	ck_assert_uint_eq(f->packets, 10000);
	ck_assert_uint_eq(f->rules[0].count, (uint32_t)held);
	figure("reorder p=0.25 seed 13: fraction held", held / 10000.0);
	ck_assert_int_gt(held, 2300);
	ck_assert_int_lt(held, 2700);
	sim_done(&s);

	/* p = 1: every packet held, the same time, no draws. */
	sim_init(&s, 13);
	sim_rule(&s, FAULT_REORDER)->delay_ns = 20 * MS;
	for (int i = 0; i < 100; i++) {
		struct fault_decision d = udp_send(&s, &tu, DIR_UP, 300, &f);
		ck_assert_int_eq(d.action, ACTION_DELAY);
		ck_assert_int_eq(d.delay_ns, 20 * MS);
	}
	struct rng fresh;
	rng_seed(&fresh, 13, f->id);
	ck_assert_uint_eq(f->rng.state, fresh.state);
	sim_done(&s);
}
END_TEST

/* ---- rate ----------------------------------------------------------------- */

/* 1500 bytes at 8 Mbit/s: 1500 * 8 / 8e6 s. */
#define TX_1500 1500000LL

static int64_t held_ns(const struct fault_decision *d)
{
	if (d->action == ACTION_ACCEPT) {
		ck_assert_int_eq(d->rule, -1);
		return 0;
	}
	ck_assert_int_eq(d->action, ACTION_DELAY);
	ck_assert_int_eq(d->keep_order, 1);
	ck_assert_int_gt(d->delay_ns, 0);
	return d->delay_ns;
}

START_TEST(test_rate_back_to_back)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RATE)->bits_per_s = 8e6;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct flow *f;
	s.now = 1 * SEC;
	/* A burst at one moment queues: each waits for those before it. */
	for (int k = 0; k < 10; k++) {
		struct fault_decision d = udp_send(&s, &tu, DIR_UP, 1500, &f);
		int64_t h = held_ns(&d);
		if (h != k * TX_1500)
			ck_abort_msg("packet %d of the burst held %lld ns, want %lld", k, (long long)h,
			             (long long)(k * TX_1500));
		if (k == 1)
			figure("rate 8 Mbit/s: delay step per 1500-byte packet (ns)", (double)h);
	}
	ck_assert_int_eq(f->rules[0].free_ns[DIR_UP], 1 * SEC + 10 * TX_1500);
	/* Later but still queued: it waits for the rest. */
	s.now = 1 * SEC + 5 * MS;
	struct fault_decision d = udp_send(&s, &tu, DIR_UP, 1500, &f);
	ck_assert_int_eq(held_ns(&d), 10 * TX_1500 - 5 * MS);
	/* A short packet takes its own length: 40 bytes are 40 us. */
	d = udp_send(&s, &tu, DIR_UP, 40, &f);
	ck_assert_int_eq(held_ns(&d), 11 * TX_1500 - 5 * MS);
	d = udp_send(&s, &tu, DIR_UP, 40, &f);
	ck_assert_int_eq(held_ns(&d), 11 * TX_1500 - 5 * MS + 40000);
	/* Once the link is idle a packet goes at once: not held, and the
	 * link is then busy for its own length. */
	s.now = 1 * SEC + 11 * TX_1500 + 2 * 40000;
	d = udp_send(&s, &tu, DIR_UP, 1500, &f);
	ck_assert_int_eq(held_ns(&d), 0);
	d = udp_send(&s, &tu, DIR_UP, 1500, &f);
	ck_assert_int_eq(held_ns(&d), TX_1500);
	s.now = 10 * SEC;
	d = udp_send(&s, &tu, DIR_UP, 1500, &f);
	ck_assert_int_eq(held_ns(&d), 0);
	ck_assert_int_eq(f->rules[0].free_ns[DIR_UP], 10 * SEC + TX_1500);
	sim_done(&s);
}
END_TEST

START_TEST(test_rate_per_direction_and_flow)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_RATE)->bits_per_s = 8e6;
	struct tuple a = udp_tuple(CLIENT_IP, 40000, 443), b = udp_tuple(CLIENT_IP, 40001, 443);
	s.now = 1 * SEC;
	for (int k = 0; k < 4; k++) {
		struct fault_decision d = udp_send(&s, &a, DIR_UP, 1500, NULL);
		ck_assert_int_eq(held_ns(&d), k * TX_1500);
	}
	/* The other direction is its own link, and so is the other flow. */
	for (int k = 0; k < 3; k++) {
		struct fault_decision d = udp_send(&s, &a, DIR_DOWN, 1500, NULL);
		ck_assert_int_eq(held_ns(&d), k * TX_1500);
		d = udp_send(&s, &b, DIR_UP, 1500, NULL);
		ck_assert_int_eq(held_ns(&d), k * TX_1500);
	}
	struct fault_decision d = udp_send(&s, &a, DIR_UP, 1500, NULL);
	ck_assert_int_eq(held_ns(&d), 4 * TX_1500);
	sim_done(&s);
}
END_TEST

START_TEST(test_rate_shared)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_RATE);
	r->bits_per_s = 8e6;
	r->shared = 1;
	struct tuple a = udp_tuple(CLIENT_IP, 40000, 443), b = udp_tuple(CLIENT_IP, 40001, 443);
	s.now = 1 * SEC;
	/* Two flows on one link: one queue. */
	for (int k = 0; k < 6; k++) {
		struct fault_decision d = udp_send(&s, k % 2 ? &b : &a, DIR_UP, 1500, NULL);
		ck_assert_int_eq(held_ns(&d), k * TX_1500);
	}
	ck_assert_int_eq(s.rules[0].shared_free_ns[DIR_UP], 1 * SEC + 6 * TX_1500);
	/* Still one link per direction. */
	struct fault_decision d = udp_send(&s, &b, DIR_DOWN, 1500, NULL);
	ck_assert_int_eq(held_ns(&d), 0);
	d = udp_send(&s, &a, DIR_DOWN, 1500, NULL);
	ck_assert_int_eq(held_ns(&d), TX_1500);
	/* The per-flow links were not used. */
	ck_assert_int_eq(flow_table_get(s.t, 1)->rules[0].free_ns[DIR_UP], 0);
	sim_done(&s);
}
END_TEST

/* ---- truncate, silenced flows --------------------------------------------- */

START_TEST(test_truncate_after_bytes)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_TRUNCATE);
	r->after_bytes = 1000;
	r->dirs = DIR_UP;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 400);
	assert_accept(&d);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 5000), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 400), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, 200), ACTION_ACCEPT);
	ck_assert_uint_eq(f->up.bytes, 1000);
	ck_assert_uint_eq(f->decisions, 0);
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 1);
	ck_assert_int_eq(d.action, ACTION_TRUNCATE);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_uint_eq(d.at_bytes, 1000);
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_int_eq(f->end, FLOW_END_FIN);
	ck_assert_int_eq(f->silenced, 1);
	uint64_t packets = f->packets;
	/* Then the connection vanishes: everything dropped, even past the
	 * window, not decided again and not recorded. */
	s.now = 5 * SEC;
	static const struct { enum flow_dir dir; uint8_t flags; size_t len; } later[] = {
		{ DIR_UP, TCP_ACK, 100 }, { DIR_DOWN, TCP_ACK | TCP_PSH, 1000 },
		{ DIR_UP, TCP_FIN | TCP_ACK, 0 }, { DIR_DOWN, TCP_RST, 0 }, { DIR_UP, TCP_ACK, 0 },
	};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
		d = conn_send(&s, &c, later[i].dir, later[i].flags, later[i].len);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, -1);
		ck_assert_int_eq(d.first, 0);
		ck_assert_ptr_eq(c.f, f);
	}
	ck_assert_uint_eq(f->packets, packets);
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_uint_eq(f->rules[0].count, 1);
	/* A new SYN on the tuple is a new connection. */
	conn_init(&c, 41234, 80);
	d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	ck_assert_uint_eq(c.f->id, 2);
	sim_done(&s);
}
END_TEST

START_TEST(test_truncate_not_in_syn_sent)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_TRUNCATE);   /* no trigger: at once */
	struct conn c;
	conn_init(&c, 41234, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	d = conn_send(&s, &c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	assert_accept(&d);
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(d.action, ACTION_TRUNCATE);
	ck_assert_uint_eq(d.at_bytes, 0);
	/* Never UDP. */
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 53);
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	assert_accept(&d);
	sim_done(&s);
}
END_TEST

START_TEST(test_silenced_flow_drops_everything)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_LOSS)->p = 0.5;
	sim_rule(&s, FAULT_BLACKHOLE)->port = 80;
	s.rules[0].from_ns = s.rules[1].from_ns = 1 * SEC;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 53);
	struct flow *fu;
	udp_send(&s, &tu, DIR_UP, 100, &fu);
	s.now = 2 * SEC;
	uint64_t state = f->rng.state, decisions = f->decisions;
	f->silenced = 1;
	fu->silenced = 1;
	for (int i = 0; i < 20; i++) {
		struct fault_decision d = conn_send(&s, &c, i % 2 ? DIR_UP : DIR_DOWN, TCP_ACK, 100);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, -1);
		d = udp_send(&s, &tu, i % 2 ? DIR_UP : DIR_DOWN, 100, NULL);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, -1);
	}
	/* The rules were not asked: no draws, nothing recorded. */
	ck_assert_uint_eq(f->rng.state, state);
	ck_assert_uint_eq(f->decisions, decisions);
	ck_assert_int_eq(f->rules[0].decided, 0);
	ck_assert_int_eq(f->rules[1].decided, 0);
	ck_assert_uint_eq(fu->decisions, 0);
	sim_done(&s);
}
END_TEST

/* ---- conn_cap -------------------------------------------------------------- */

#define CLIENT_B 0xc6120003u  /* 198.18.0.3 */

static struct fault_rule *conn_cap_rule(struct sim *s, uint32_t max, int action, int per_source)
{
	struct fault_rule *r = sim_rule(s, FAULT_CONN_CAP);
	r->max_conns = max;
	r->action = action;
	r->per_source = per_source;
	return r;
}

static void conn_from(struct conn *c, uint32_t client_ip, uint16_t client_port)
{
	conn_init(c, client_port, 80);
	c->tu.client_ip = client_ip;
}

START_TEST(test_conn_cap_refuse)
{
	struct sim s;
	sim_init(&s, 1);
	conn_cap_rule(&s, 2, ACTION_REFUSE, 1);
	struct conn c[5];
	for (int i = 0; i < 5; i++)
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
	/* Two SYNs: both may open. A half-open connection counts already. */
	struct fault_decision d = conn_send(&s, &c[0], DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	conn_open(&s, &c[1]);
	/* The third while both are open: refused, and over the limit. */
	d = conn_send(&s, &c[2], DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_ptr_nonnull(d.why);
	ck_assert_str_eq(d.why, "over the connection limit");
	ck_assert_int_eq(c[2].f->rules[0].caught, 1);
	ck_assert_int_eq(c[2].f->end, FLOW_END_REFUSED);
	/* The first two carry on. */
	conn_send(&s, &c[0], DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_UP, TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c[1], DIR_DOWN, TCP_ACK, 1000), ACTION_ACCEPT);
	/* Flow 1 ends: its place is free for a fourth. */
	flow_end(c[0].f, FLOW_END_FIN, s.now);
	struct flow *f4 = conn_open(&s, &c[3]);
	ck_assert_uint_eq(f4->id, 4);
	ck_assert_int_eq(f4->rules[0].caught, 0);
	/* And full again. */
	ck_assert_int_eq(conn_action(&s, &c[4], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	sim_done(&s);
}
END_TEST

START_TEST(test_conn_cap_per_source_and_global)
{
	struct sim s;
	sim_init(&s, 1);
	conn_cap_rule(&s, 2, ACTION_REFUSE, 1);
	struct conn a[3], b[3];
	for (int i = 0; i < 3; i++) {
		conn_from(&a[i], CLIENT_IP, (uint16_t)(41000 + i));
		conn_from(&b[i], CLIENT_B, (uint16_t)(41000 + i));
	}
	conn_open(&s, &a[0]);
	conn_open(&s, &a[1]);
	/* Another client has its own two. */
	conn_open(&s, &b[0]);
	conn_open(&s, &b[1]);
	ck_assert_int_eq(conn_action(&s, &a[2], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	ck_assert_int_eq(conn_action(&s, &b[2], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	sim_done(&s);

	/* Global: all clients together. */
	sim_init(&s, 1);
	conn_cap_rule(&s, 2, ACTION_REFUSE, 0);
	for (int i = 0; i < 3; i++) {
		conn_from(&a[i], CLIENT_IP, (uint16_t)(41000 + i));
		conn_from(&b[i], CLIENT_B, (uint16_t)(41000 + i));
	}
	conn_open(&s, &a[0]);
	conn_open(&s, &a[1]);
	ck_assert_int_eq(conn_action(&s, &b[0], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	/* A refused connection does not take a place; a closed one frees one. */
	ck_assert_int_eq(conn_action(&s, &a[1], DIR_UP, TCP_RST | TCP_ACK, 0), ACTION_ACCEPT);
	ck_assert_int_eq(a[1].f->end, FLOW_END_RESET_BY_CLIENT);
	conn_open(&s, &b[1]);
	ck_assert_int_eq(conn_action(&s, &b[2], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	sim_done(&s);
}
END_TEST

START_TEST(test_conn_cap_blackhole)
{
	struct sim s;
	sim_init(&s, 1);
	conn_cap_rule(&s, 2, ACTION_DROP, 1);
	struct conn c[4];
	for (int i = 0; i < 4; i++)
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
	conn_open(&s, &c[0]);
	conn_open(&s, &c[1]);
	struct fault_decision d = conn_send(&s, &c[2], DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	struct flow *f = c[2].f;
	/* Every packet of it, whichever way, for its whole life. */
	static const struct { enum flow_dir dir; uint8_t flags; size_t len; } later[] = {
		{ DIR_UP, TCP_SYN, 0 }, { DIR_DOWN, TCP_SYN | TCP_ACK, 0 }, { DIR_UP, TCP_ACK, 0 },
		{ DIR_UP, TCP_ACK | TCP_PSH, 300 }, { DIR_DOWN, TCP_ACK, 1000 }, { DIR_UP, TCP_RST, 0 },
	};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
		if (later[i].flags == TCP_SYN)
			d = conn_send_at(&s, &c[2], DIR_UP, TCP_SYN, c[2].next[DIR_UP] - 1, 0);
		else
			d = conn_send(&s, &c[2], later[i].dir, later[i].flags, later[i].len);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, 0);
		ck_assert_int_eq(d.first, 0);
		ck_assert_ptr_eq(c[2].f, f);
	}
	ck_assert_uint_eq(f->dropped, 1 + sizeof later / sizeof later[0]);
	ck_assert_uint_eq(f->packets, 0);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	/* The others are untouched; a caught connection, still open, does not
	 * count toward the limit. */
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_DOWN, TCP_ACK, 1000), ACTION_ACCEPT);
	flow_end(c[0].f, FLOW_END_FIN, s.now);
	conn_open(&s, &c[3]);
	sim_done(&s);
}
END_TEST

START_TEST(test_conn_cap_reset_after_bytes)
{
	struct sim s;
	sim_init(&s, 1);
	conn_cap_rule(&s, 2, ACTION_RESET, 1)->after_bytes = 1000;
	struct conn c[3];
	for (int i = 0; i < 3; i++)
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
	conn_open(&s, &c[0]);
	conn_open(&s, &c[1]);
	/* Over the limit, but the handshake and the first 1000 bytes pass. */
	struct flow *f = conn_open(&s, &c[2]);
	ck_assert_int_eq(f->rules[0].caught, 1);
	ck_assert_int_eq(conn_action(&s, &c[2], DIR_UP, TCP_ACK, 600), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c[2], DIR_DOWN, TCP_ACK, 400), ACTION_ACCEPT);
	ck_assert_uint_eq(f->decisions, 0);
	struct fault_decision d = conn_send(&s, &c[2], DIR_DOWN, TCP_ACK, 1);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_uint_eq(d.at_bytes, 1000);
	ck_assert_uint_eq(d.to, TARGET_CLIENT | TARGET_SERVER);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	ck_assert_int_eq(conn_action(&s, &c[2], DIR_UP, TCP_ACK, 10), ACTION_RESET_AGAIN);
	/* Connections under the limit are not reset, whatever they carry. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(conn_action(&s, &c[i % 2], DIR_DOWN, TCP_ACK, 1400), ACTION_ACCEPT);
	sim_done(&s);

	/* Without after_bytes: at its first packet after the SYN-ACK. */
	sim_init(&s, 1);
	conn_cap_rule(&s, 1, ACTION_RESET, 1);
	conn_init(&c[0], 41000, 80);
	conn_init(&c[1], 41001, 80);
	conn_open(&s, &c[0]);
	ck_assert_int_eq(conn_action(&s, &c[1], DIR_UP, TCP_SYN, 0), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &c[1], DIR_DOWN, TCP_SYN | TCP_ACK, 0), ACTION_ACCEPT);
	d = conn_send(&s, &c[1], DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_uint_eq(d.at_bytes, 0);
	sim_done(&s);
}
END_TEST

START_TEST(test_conn_cap_large_limit)
{
	/* The limit holds at any size: 300 open connections, the 301st is
	 * over; one ends, and one more fits. */
	struct sim s;
	sim_init(&s, 1);
	conn_cap_rule(&s, 300, ACTION_REFUSE, 0);
	static struct conn c[302];
	for (int i = 0; i < 300; i++) {
		conn_from(&c[i], i % 2 ? CLIENT_B : CLIENT_IP, (uint16_t)(20000 + i));
		struct fault_decision d = conn_send(&s, &c[i], DIR_UP, TCP_SYN, 0);
		if (d.action != ACTION_ACCEPT)
			ck_abort_msg("connection %d of 300: %s", i + 1, fault_action_name(d.action));
	}
	conn_from(&c[300], CLIENT_IP, 30000);
	ck_assert_int_eq(conn_action(&s, &c[300], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	flow_end(c[7].f, FLOW_END_FIN, s.now);
	conn_from(&c[301], CLIENT_B, 30001);
	ck_assert_int_eq(conn_action(&s, &c[301], DIR_UP, TCP_SYN, 0), ACTION_ACCEPT);
	conn_from(&c[300], CLIENT_IP, 30002);
	ck_assert_int_eq(conn_action(&s, &c[300], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	sim_done(&s);
}
END_TEST

/* ---- block, rate_block ------------------------------------------------------ */

START_TEST(test_block_refuse_in_window)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_BLOCK);
	r->action = ACTION_REFUSE;
	r->from_ns = 10 * SEC;
	r->until_ns = 20 * SEC;
	struct conn c[5];
	for (int i = 0; i < 5; i++)
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
	conn_open(&s, &c[0]);
	s.now = 10 * SEC - 1;
	conn_open(&s, &c[1]);
	s.now = 10 * SEC;
	struct fault_decision d = conn_send(&s, &c[2], DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	/* Connections opened before the window: their packets are dropped. */
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_UP, TCP_ACK, 100), ACTION_DROP);
	ck_assert_int_eq(conn_action(&s, &c[1], DIR_DOWN, TCP_ACK, 100), ACTION_DROP);
	s.now = 20 * SEC - 1;
	ck_assert_int_eq(conn_action(&s, &c[3], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	s.now = 20 * SEC;
	conn_open(&s, &c[4]);
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_UP, TCP_ACK, 100), ACTION_ACCEPT);
	sim_done(&s);
}
END_TEST

START_TEST(test_block_blackhole_and_http403)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_BLOCK);
	r->action = ACTION_DROP;
	r->from_ns = 10 * SEC;
	r->until_ns = 20 * SEC;
	struct conn c;
	conn_init(&c, 41000, 80);
	conn_open(&s, &c);
	s.now = 15 * SEC;
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 100), ACTION_DROP);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 100), ACTION_DROP);
	struct conn n;
	conn_init(&n, 41001, 80);
	ck_assert_int_eq(conn_action(&s, &n, DIR_UP, TCP_SYN, 0), ACTION_DROP);
	sim_done(&s);

	/* http403: packets pass; inside the window the rule counts as fired
	 * and tells the engine the server answers 403. */
	sim_init(&s, 1);
	r = sim_rule(&s, FAULT_BLOCK);
	r->http403 = 1;
	r->from_ns = 10 * SEC;
	r->until_ns = 20 * SEC;
	conn_init(&c, 41000, 80);
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	ck_assert_int_eq(d.http403_until_ns, 0);
	s.now = 10 * SEC;
	for (int i = 0; i < 5; i++) {
		d = i == 0 ? conn_send(&s, &c, DIR_DOWN, TCP_SYN | TCP_ACK, 0)
		           : conn_send(&s, &c, i % 2 ? DIR_UP : DIR_DOWN, TCP_ACK, 100);
		ck_assert_int_eq(d.action, ACTION_ACCEPT);
		ck_assert_int_eq(d.rule, 0);
		ck_assert_int_ne(d.http403_until_ns, 0);
		ck_assert_int_eq(d.first, i == 0);
	}
	ck_assert_int_eq(c.f->rules[0].fired, 1);
	ck_assert_int_eq(c.f->state, FLOW_ESTABLISHED);
	ck_assert_uint_eq(c.f->up.bytes + c.f->down.bytes, 400);
	s.now = 20 * SEC;
	d = conn_send(&s, &c, DIR_UP, TCP_ACK, 100);
	assert_accept(&d);
	ck_assert_int_eq(d.http403_until_ns, 0);
	sim_done(&s);
}
END_TEST

static struct fault_rule *rate_block_rule(struct sim *s, int action)
{
	struct fault_rule *r = sim_rule(s, FAULT_RATE_BLOCK);
	r->conns = 3;
	r->within_ns = 10 * SEC;
	r->block_ns = 30 * SEC;
	r->action = action;
	/* As the engine does for its copy of the rules; sim_done frees it. */
	r->sources = calloc(FAULT_MAX_SOURCES, sizeof *r->sources);
	ck_assert_ptr_nonnull(r->sources);
	return r;
}

START_TEST(test_rate_block_window)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = rate_block_rule(&s, ACTION_REFUSE);
	struct conn c[12];
	for (int i = 0; i < 12; i++)
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
	/* Three new connections in 10 s are fine. */
	for (int i = 0; i < 3; i++) {
		s.now = i * SEC;
		conn_open(&s, &c[i]);
	}
	/* The fourth is caught, and the source is blocked for 30 s from it. */
	s.now = 3 * SEC;
	struct fault_decision d = conn_send(&s, &c[3], DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_str_eq(d.why, "too many new connections: source blocked");
	ck_assert_uint_eq(r->source_count, 1);
	ck_assert_int_eq(r->sources[0].blocked_until_ns, 33 * SEC);
	/* Blocked: its older connections too, and new ones until the end. */
	s.now = 5 * SEC;
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_UP, TCP_ACK, 100), ACTION_DROP);
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_DOWN, TCP_ACK, 100), ACTION_DROP);
	s.now = 20 * SEC;
	ck_assert_int_eq(conn_action(&s, &c[4], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	/* Another client is counted on its own. */
	struct conn other;
	conn_from(&other, CLIENT_B, 41000);
	conn_open(&s, &other);
	ck_assert_uint_eq(r->source_count, 2);
	s.now = 33 * SEC - 1;
	ck_assert_int_eq(conn_action(&s, &c[5], DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	ck_assert_int_eq(r->sources[0].blocked_until_ns, 33 * SEC);
	/* After the block, accepted again, with a clean count: three more
	 * may open, the next one within 10 s is caught again. */
	s.now = 33 * SEC;
	conn_open(&s, &c[6]);
	ck_assert_int_eq(conn_action(&s, &c[0], DIR_UP, TCP_ACK, 100), ACTION_ACCEPT);
	s.now = 34 * SEC;
	conn_open(&s, &c[7]);
	s.now = 35 * SEC;
	conn_open(&s, &c[8]);
	s.now = 36 * SEC;
	d = conn_send(&s, &c[9], DIR_UP, TCP_SYN, 0);
	if (d.action != ACTION_REFUSE)
		ck_abort_msg("4th new connection within 10 s after a block ended: %s, want refuse",
		             fault_action_name(d.action));
	ck_assert_int_eq(r->sources[0].blocked_until_ns, 66 * SEC);
	sim_done(&s);
}
END_TEST

START_TEST(test_rate_block_spread_out)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = rate_block_rule(&s, ACTION_REFUSE);
	/* One every 3.5 s: never more than 3 within 10 s. */
	for (int i = 0; i < 100; i++) {
		struct conn c;
		conn_init(&c, (uint16_t)(41000 + i), 80);
		s.now = i * 3500 * MS;
		conn_open(&s, &c);
	}
	ck_assert_int_eq(r->sources[0].blocked_until_ns, 0);
	sim_done(&s);

	/* The window is open at its far end: 10 s after the first, it no
	 * longer counts. */
	sim_init(&s, 1);
	r = rate_block_rule(&s, ACTION_REFUSE);
	static const int64_t at[] = { 0, 1 * SEC, 2 * SEC, 10 * SEC, 11 * SEC, 12 * SEC };
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		struct conn c;
		conn_init(&c, (uint16_t)(42000 + i), 80);
		s.now = at[i];
		conn_open(&s, &c);
	}
	struct conn c;
	conn_init(&c, 43000, 80);
	s.now = 12 * SEC + 1;
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_SYN, 0), ACTION_REFUSE);
	sim_done(&s);
}
END_TEST

START_TEST(test_rate_block_http403_and_blackhole)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = rate_block_rule(&s, ACTION_REFUSE);
	r->http403 = 1;
	struct conn c[5];
	for (int i = 0; i < 5; i++) {
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
		s.now = i * SEC;
		struct fault_decision d = conn_send(&s, &c[i], DIR_UP, TCP_SYN, 0);
		ck_assert_int_eq(d.action, ACTION_ACCEPT);
		if (i < 3) {
			ck_assert_int_eq(d.rule, -1);
			ck_assert_int_eq(d.http403_until_ns, 0);
		} else {
			/* The server answers 403 until the block ends (the
			 * engine's clock). */
			ck_assert_int_eq(d.rule, 0);
			ck_assert_int_eq(d.http403_until_ns, 33 * SEC);
		}
	}
	sim_done(&s);

	sim_init(&s, 1);
	rate_block_rule(&s, ACTION_DROP);
	for (int i = 0; i < 5; i++) {
		conn_init(&c[i], (uint16_t)(41000 + i), 80);
		s.now = i * SEC;
		enum fault_action a = conn_action(&s, &c[i], DIR_UP, TCP_SYN, 0);
		ck_assert_int_eq(a, i < 3 ? ACTION_ACCEPT : ACTION_DROP);
	}
	sim_done(&s);
}
END_TEST

/* ---- idle_timeout ----------------------------------------------------------- */

START_TEST(test_idle_timeout_reset)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_IDLE_TIMEOUT);
	r->idle_ns = 30 * SEC;
	r->action = ACTION_RESET;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	/* Exactly idle_ns after the last packet: not yet. */
	s.now = 30 * SEC;
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 100);
	assert_accept(&d);
	ck_assert_int_eq(f->last_ns, 30 * SEC);
	s.now = 60 * SEC + 1;
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_FORGET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	/* Dead from then on, as after a reset. */
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 0), ACTION_RESET_AGAIN);

	/* A connection still waiting for its SYN-ACK is left alone. */
	struct conn syn;
	conn_init(&syn, 41235, 80);
	s.now = 0;
	ck_assert_int_eq(conn_action(&s, &syn, DIR_UP, TCP_SYN, 0), ACTION_ACCEPT);
	s.now = 100 * SEC;
	d = conn_send_at(&s, &syn, DIR_UP, TCP_SYN, syn.next[DIR_UP] - 1, 0);
	assert_accept(&d);
	ck_assert_int_eq(syn.f->state, FLOW_SYN_SENT);
	/* Nor UDP. */
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 53);
	s.now = 0;
	udp_send(&s, &tu, DIR_UP, 100, NULL);
	s.now = 100 * SEC;
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	assert_accept(&d);
	/* Traffic keeps it alive: packets every 20 s never trip a 30 s timeout. */
	struct conn busy;
	conn_init(&busy, 41236, 80);
	s.now = 0;
	conn_open(&s, &busy);
	for (int i = 1; i <= 20; i++) {
		s.now = i * 20 * SEC;
		ck_assert_int_eq(conn_action(&s, &busy, i % 2 ? DIR_UP : DIR_DOWN, TCP_ACK, 0), ACTION_ACCEPT);
	}
	sim_done(&s);
}
END_TEST

START_TEST(test_idle_timeout_blackhole)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_IDLE_TIMEOUT);
	r->idle_ns = 30 * SEC;
	r->action = ACTION_DROP;
	r->dirs = DIR_DOWN;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	/* Not in its direction: passes, and counts as traffic. */
	s.now = 40 * SEC;
	ck_assert_int_eq(conn_action(&s, &c, DIR_UP, TCP_ACK, 100), ACTION_ACCEPT);
	s.now = 50 * SEC;
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 100), ACTION_ACCEPT);
	s.now = 80 * SEC + 1;
	struct fault_decision d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_int_eq(f->silenced, 1);
	/* Every later packet vanishes, in both directions. */
	for (int i = 0; i < 4; i++) {
		d = conn_send(&s, &c, i % 2 ? DIR_DOWN : DIR_UP, TCP_ACK, 100);
		ck_assert_int_eq(d.action, ACTION_DROP);
		ck_assert_int_eq(d.rule, -1);
	}
	ck_assert_uint_eq(f->decisions, 1);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	sim_done(&s);
}
END_TEST

/* ---- mtu, duplicate, corrupt, match ---------------------------------------- */

START_TEST(test_mtu)
{
	struct sim s;
	sim_init(&s, 1);
	sim_rule(&s, FAULT_MTU)->mtu = 1400;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct fault_decision d = udp_send(&s, &tu, DIR_UP, 1400, NULL);
	assert_accept(&d);
	d = udp_send(&s, &tu, DIR_DOWN, 1401, NULL);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 0);
	d = udp_send(&s, &tu, DIR_UP, 9000, NULL);
	ck_assert_int_eq(d.action, ACTION_DROP);
	d = udp_send(&s, &tu, DIR_UP, 28, NULL);
	assert_accept(&d);
	/* icmp: "too big" instead of silence. */
	s.rules[0].icmp = 1;
	d = udp_send(&s, &tu, DIR_UP, 1401, NULL);
	ck_assert_int_eq(d.action, ACTION_TOO_BIG);
	ck_assert_int_eq(d.rule, 0);
	d = udp_send(&s, &tu, DIR_UP, 1400, NULL);
	assert_accept(&d);
	struct conn c;
	conn_init(&c, 41234, 80);
	conn_open(&s, &c);
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 1360), ACTION_ACCEPT);  /* 1400 in all */
	ck_assert_int_eq(conn_action(&s, &c, DIR_DOWN, TCP_ACK, 1361), ACTION_TOO_BIG);
	sim_done(&s);
}
END_TEST

START_TEST(test_duplicate_fraction)
{
	struct sim s;
	sim_init(&s, 17);
	sim_rule(&s, FAULT_DUPLICATE)->p = 0.2;
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 443);
	struct flow *f;
	int copies = 0;
	for (int i = 0; i < 10000; i++) {
		struct fault_decision d = udp_send(&s, &tu, i % 2 ? DIR_DOWN : DIR_UP, 500, &f);
		if (d.action == ACTION_DUPLICATE) {
			ck_assert_int_eq(d.rule, 0);
			copies++;
		} else {
			assert_accept(&d);
		}
	}
	/* Nothing lost: every packet went through once at least. */
	ck_assert_uint_eq(f->packets, 10000);
	ck_assert_uint_eq(f->dropped, 0);
	figure("duplicate p=0.2 seed 17: fraction copied", copies / 10000.0);
	ck_assert_int_gt(copies, 1800);
	ck_assert_int_lt(copies, 2200);
	sim_done(&s);
}
END_TEST

START_TEST(test_corrupt_fraction)
{
	struct sim s;
	sim_init(&s, 19);
	sim_rule(&s, FAULT_CORRUPT)->p = 0.2;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	static uint8_t payload[1000];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)i;
	int changed = 0;
	uint64_t first_at = 0;
	int varied = 0;
	for (int i = 0; i < 10000; i++) {
		struct fault_decision d = conn_send_payload(&s, &c, i % 2 ? DIR_DOWN : DIR_UP, TCP_ACK,
		                                            payload, sizeof payload, SIZE_MAX);
		if (d.action == ACTION_CORRUPT) {
			ck_assert_int_eq(d.rule, 0);
			if (!changed)
				first_at = d.corrupt_at;
			else if (d.corrupt_at != first_at)
				varied = 1;
			changed++;
		} else {
			assert_accept(&d);
		}
	}
	ck_assert_int_eq(varied, 1);
	figure("corrupt p=0.2 seed 19: fraction changed", changed / 10000.0);
	ck_assert_int_gt(changed, 1800);
	ck_assert_int_lt(changed, 2200);
	/* No payload, or payload not all in the bytes at hand: left alone,
	 * and no draw. */
	s.rules[0].p = 0.999;
	uint64_t state = f->rng.state;
	for (int i = 0; i < 50; i++) {
		struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 0);
		assert_accept(&d);
		d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 1000);   /* no data at all */
		assert_accept(&d);
		d = conn_send_payload(&s, &c, DIR_DOWN, TCP_ACK, payload, sizeof payload, 40 + 999);
		assert_accept(&d);
	}
	ck_assert_uint_eq(f->rng.state, state);
	sim_done(&s);
}
END_TEST

START_TEST(test_match)
{
	static const char evil[] = "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char fine[] = "GET /index HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_MATCH);
	memcpy(r->pattern, "/admin", 6);
	r->pattern_len = 6;
	r->action = ACTION_RESET;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	struct fault_decision d = conn_send_payload(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, fine, sizeof fine - 1, SIZE_MAX);
	assert_accept(&d);
	d = conn_send_payload(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, evil, sizeof evil - 1, SIZE_MAX);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);

	/* Drop: the packet is lost, the connection lives on. */
	s.rules[0].action = ACTION_DROP;
	conn_init(&c, 41235, 80);
	f = conn_open(&s, &c);
	d = conn_send_payload(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, evil, sizeof evil - 1, SIZE_MAX);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 0);
	d = conn_send_payload(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, fine, sizeof fine - 1, SIZE_MAX);
	assert_accept(&d);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	/* Only what is in the payload and in the bytes at hand: not past
	 * caplen, and not in bytes after the payload (padding). */
	size_t cut = 40 + 8;   /* "GET /adm" */
	d = conn_send_payload(&s, &c, DIR_UP, TCP_ACK | TCP_PSH, evil, sizeof evil - 1, cut);
	assert_accept(&d);
	{
		/* 8 bytes of payload ("GET /adm"), the rest of the request
		 * after it in the buffer. */
		static uint8_t buf[256];
		struct packet p = make_packet(&c.tu, DIR_UP, TCP_ACK, c.next[DIR_UP], c.next[DIR_DOWN], 8);
		memcpy(buf + p.payload_off, evil, sizeof evil - 1);
		p.data = buf;
		p.caplen = p.payload_off + sizeof evil - 1;
		d = sim_packet(&s, &p, DIR_UP, NULL);
		c.next[DIR_UP] += 8;
		assert_accept(&d);
	}
	/* The other direction too (dir both by default). */
	d = conn_send_payload(&s, &c, DIR_DOWN, TCP_ACK, "see /admin", 10, SIZE_MAX);
	ck_assert_int_eq(d.action, ACTION_DROP);

	/* reset on a packet of a connection not yet open: a drop. */
	s.rules[0].action = ACTION_RESET;
	conn_init(&c, 41236, 80);
	d = conn_send_payload(&s, &c, DIR_UP, TCP_SYN, evil, sizeof evil - 1, SIZE_MAX);
	ck_assert_int_eq(d.action, ACTION_DROP);
	/* And UDP. */
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 53);
	uint8_t buf[128] = { 0 };
	memcpy(buf + 28, "x/adminx", 8);
	struct packet p = make_packet(&tu, DIR_UP, 0, 0, 0, 8);
	p.data = buf;
	p.caplen = p.len;
	d = sim_packet(&s, &p, DIR_UP, NULL);
	ck_assert_int_eq(d.action, ACTION_DROP);
	sim_done(&s);
}
END_TEST

/* ---- router_restart ---------------------------------------------------------- */

START_TEST(test_router_restart)
{
	struct sim s;
	sim_init(&s, 1);
	struct fault_rule *r = sim_rule(&s, FAULT_ROUTER_RESTART);
	r->from_ns = 5 * SEC;
	r->until_ns = 8 * SEC;
	struct conn old, half, during, after;
	conn_init(&old, 41000, 80);
	conn_init(&half, 41001, 80);
	conn_init(&during, 41002, 80);
	conn_init(&after, 41003, 80);
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 53);
	s.now = 1 * SEC;
	struct flow *f = conn_open(&s, &old);
	udp_send(&s, &tu, DIR_UP, 100, NULL);
	/* Before it goes down: nothing. */
	s.now = 5 * SEC - 1;
	ck_assert_int_eq(conn_action(&s, &old, DIR_UP, TCP_ACK, 100), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &half, DIR_UP, TCP_SYN, 0), ACTION_ACCEPT);
	/* Down: everything dropped, whatever the flow. */
	s.now = 5 * SEC;
	struct fault_decision d = conn_send(&s, &old, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(d.first, 1);
	s.now = 8 * SEC - 1;
	ck_assert_int_eq(conn_action(&s, &old, DIR_UP, TCP_ACK, 100), ACTION_DROP);
	ck_assert_int_eq(conn_action(&s, &during, DIR_UP, TCP_SYN, 0), ACTION_DROP);
	d = udp_send(&s, &tu, DIR_DOWN, 100, NULL);
	ck_assert_int_eq(d.action, ACTION_DROP);
	/* Back up: connections from before are forgotten... */
	s.now = 8 * SEC;
	d = conn_send(&s, &old, DIR_UP, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_FORGET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	ck_assert_int_eq(conn_action(&s, &old, DIR_DOWN, TCP_ACK, 100), ACTION_RESET_AGAIN);
	/* ...but not one still in SYN_SENT, not UDP, and not those opened
	 * after it went down. */
	d = conn_send_at(&s, &half, DIR_UP, TCP_SYN, half.next[DIR_UP] - 1, 0);
	assert_accept(&d);
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	assert_accept(&d);
	d = conn_send_at(&s, &during, DIR_UP, TCP_SYN, during.next[DIR_UP] - 1, 0);
	assert_accept(&d);
	conn_send(&s, &during, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	ck_assert_int_eq(conn_action(&s, &during, DIR_UP, TCP_ACK, 100), ACTION_ACCEPT);
	s.now = 100 * SEC;
	conn_open(&s, &after);
	ck_assert_int_eq(conn_action(&s, &after, DIR_DOWN, TCP_ACK, 100), ACTION_ACCEPT);
	ck_assert_int_eq(conn_action(&s, &during, DIR_DOWN, TCP_ACK, 100), ACTION_ACCEPT);
	sim_done(&s);
}
END_TEST

/* ---- hook ------------------------------------------------------------------- */

struct hook_script {
	int action;        /* what the hook answers */
	int64_t delay_ns;  /* for ACTION_DELAY */
	int fail;          /* fail as scenario code would */
	int calls, opening, dir;
	int64_t t_ns;
};

static int test_hook(void *arg, struct flow *f, const struct packet *p, int dir, int opening, int64_t t_ns,
                     struct fault_decision *d)
{
	struct hook_script *h = arg;
	(void)f;
	(void)p;
	h->calls++;
	h->opening = opening;
	h->dir = dir;
	h->t_ns = t_ns;
	if (h->fail) {
		d->error = strdup("scenarios/x.lua:3: attempt to index a nil value");
		return ACTION_DROP;
	}
	if (h->action == ACTION_DELAY)
		d->delay_ns = h->delay_ns;
	return h->action;
}

START_TEST(test_hook_actions)
{
	struct sim s;
	sim_init(&s, 1);
	struct hook_script h = { .action = ACTION_ACCEPT };
	struct fault_rule *r = sim_rule(&s, FAULT_HOOK);
	r->hook = test_hook;
	r->hook_arg = &h;
	struct conn c;
	conn_init(&c, 41234, 80);
	s.now = 2 * SEC;
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_SYN, 0);
	assert_accept(&d);
	ck_assert_int_eq(h.calls, 1);
	ck_assert_int_eq(h.opening, 1);
	ck_assert_int_eq(h.dir, DIR_UP);
	ck_assert_int_eq(h.t_ns, 2 * SEC);
	/* "reset" on the opening SYN is a refusal. */
	h.action = ACTION_RESET;
	d = conn_send_at(&s, &c, DIR_UP, TCP_SYN, c.next[DIR_UP] - 1, 0);
	ck_assert_int_eq(d.action, ACTION_REFUSE);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(h.opening, 0);
	ck_assert_int_eq(c.f->end, FLOW_END_REFUSED);
	/* On an open connection it is a reset. */
	h.action = ACTION_ACCEPT;
	conn_init(&c, 41235, 80);
	struct flow *f = conn_open(&s, &c);
	h.action = ACTION_RESET;
	d = conn_send(&s, &c, DIR_DOWN, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_RESET);
	ck_assert_int_eq(d.rule, 0);
	ck_assert_int_eq(h.dir, DIR_DOWN);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	/* Not on a SYN-ACK before the connection is open, an RST, or UDP:
	 * a drop. */
	struct conn n;
	conn_init(&n, 41236, 80);
	h.action = ACTION_ACCEPT;
	conn_send(&s, &n, DIR_UP, TCP_SYN, 0);
	h.action = ACTION_RESET;
	ck_assert_int_eq(conn_action(&s, &n, DIR_DOWN, TCP_SYN | TCP_ACK, 0), ACTION_DROP);
	ck_assert_int_eq(conn_action(&s, &n, DIR_UP, TCP_RST, 0), ACTION_DROP);
	struct tuple tu = udp_tuple(CLIENT_IP, 40000, 53);
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	ck_assert_int_eq(d.action, ACTION_DROP);
	/* Other actions pass as they are; a delay of 0 is no delay. */
	h.action = ACTION_DELAY;
	h.delay_ns = 250 * MS;
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	ck_assert_int_eq(d.action, ACTION_DELAY);
	ck_assert_int_eq(d.delay_ns, 250 * MS);
	h.delay_ns = 0;
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	assert_accept(&d);
	h.action = ACTION_DUPLICATE;
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	ck_assert_int_eq(d.action, ACTION_DUPLICATE);
	/* on_flow once per connection: a dropped first packet does not make
	 * the next one opening again. */
	struct conn lost;
	conn_init(&lost, 41237, 80);
	h.action = ACTION_DROP;
	d = conn_send(&s, &lost, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(h.opening, 1);
	ck_assert_uint_eq(lost.f->packets, 0);
	h.action = ACTION_ACCEPT;
	d = conn_send_at(&s, &lost, DIR_UP, TCP_SYN, lost.next[DIR_UP] - 1, 0);
	assert_accept(&d);
	ck_assert_int_eq(h.opening, 0);
	/* Without a function the rule does nothing. */
	r->hook = NULL;
	d = udp_send(&s, &tu, DIR_UP, 100, NULL);
	assert_accept(&d);
	sim_done(&s);
}
END_TEST

START_TEST(test_hook_error)
{
	struct sim s;
	sim_init(&s, 1);
	struct hook_script h = { .action = ACTION_ACCEPT };
	sim_rule(&s, FAULT_BLACKHOLE)->port = 443;
	struct fault_rule *r = sim_rule(&s, FAULT_HOOK);
	r->hook = test_hook;
	r->hook_arg = &h;
	struct conn c;
	conn_init(&c, 41234, 80);
	struct flow *f = conn_open(&s, &c);
	h.fail = 1;
	struct fault_decision d = conn_send(&s, &c, DIR_UP, TCP_ACK, 100);
	ck_assert_int_eq(d.action, ACTION_DROP);
	ck_assert_int_eq(d.rule, 1);
	ck_assert_ptr_nonnull(d.error);
	ck_assert_str_eq(d.error, "scenarios/x.lua:3: attempt to index a nil value");
	free(d.error);
	/* An error is not a decision of the scenario. */
	ck_assert_uint_eq(f->decisions, 0);
	ck_assert_int_eq(f->rules[1].fired, 0);
	sim_done(&s);
}
END_TEST

/* ---- determinism of a mixed rule set ---------------------------------------- */

#define MIX_FLOWS 6
#define MIX_STEPS 400

/* Six connections (4 TCP on two ports, 2 UDP) under loss (random down,
 * Gilbert up on port 443), reorder, duplicate, mtu and delay with jitter
 * for some connections. order 0: flows in turn, 1: in reverse, 2: rotated
 * every step. actions[flow][step] and delays[flow][step] receive every
 * decision. */
static void mixed_run(uint64_t seed, int order, char digest[65], uint8_t actions[MIX_FLOWS][MIX_STEPS],
                      int64_t delays[MIX_FLOWS][MIX_STEPS])
{
	struct sim s;
	sim_init(&s, seed);
	struct fault_rule *r = sim_rule(&s, FAULT_LOSS);
	r->p = 0.05;
	r->dirs = DIR_DOWN;
	r = sim_rule(&s, FAULT_LOSS);
	r->gilbert = 1;
	r->p = 0.02;
	r->r = 0.3;
	r->loss_bad = 0.8;
	r->dirs = DIR_UP;
	r->port = 443;
	sim_rule(&s, FAULT_REORDER)->p = 0.1;
	s.rules[2].delay_ns = 20 * MS;
	sim_rule(&s, FAULT_DUPLICATE)->p = 0.05;
	sim_rule(&s, FAULT_MTU)->mtu = 1200;
	r = sim_rule(&s, FAULT_DELAY);
	r->p = 0.5;
	r->delay_ns = 10 * MS;
	r->jitter_ns = 5 * MS;

	struct conn c[MIX_FLOWS];
	struct tuple u[MIX_FLOWS];
	for (int i = 0; i < MIX_FLOWS; i++) {
		if (i < 4) {
			conn_init(&c[i], (uint16_t)(41000 + i), i % 2 ? 443 : 80);
			conn_send(&s, &c[i], DIR_UP, TCP_SYN, 0);
		} else {
			u[i] = udp_tuple(CLIENT_IP, (uint16_t)(50000 + i), 443);
			udp_send(&s, &u[i], DIR_UP, 100, NULL);
		}
	}
	for (int i = 0; i < 4; i++) {
		conn_send(&s, &c[i], DIR_DOWN, TCP_SYN | TCP_ACK, 0);
		conn_send(&s, &c[i], DIR_UP, TCP_ACK, 0);
	}
	for (int step = 0; step < MIX_STEPS; step++) {
		s.now = 1 * SEC + step * MS;
		for (int k = 0; k < MIX_FLOWS; k++) {
			int i = order == 0 ? k : order == 1 ? MIX_FLOWS - 1 - k : (k + step) % MIX_FLOWS;
			enum flow_dir dir = step % 3 ? DIR_DOWN : DIR_UP;
			size_t len = (size_t)(step * 37 % 1400);   /* some over the MTU */
			struct fault_decision d = i < 4 ? conn_send(&s, &c[i], dir, TCP_ACK, len)
			                                : udp_send(&s, &u[i], dir, 28 + len, NULL);
			actions[i][step] = (uint8_t)d.action;
			delays[i][step] = d.action == ACTION_DELAY ? d.delay_ns : 0;
		}
	}
	flow_table_digest(s.t, digest);
	sim_done(&s);
}

START_TEST(test_determinism_mixed_rules)
{
	static uint8_t a[MIX_FLOWS][MIX_STEPS], b[MIX_FLOWS][MIX_STEPS], other[MIX_FLOWS][MIX_STEPS];
	static int64_t da[MIX_FLOWS][MIX_STEPS], db[MIX_FLOWS][MIX_STEPS], dother[MIX_FLOWS][MIX_STEPS];
	char ha[65], hb[65], hother[65];
	mixed_run(77, 0, ha, a, da);
	/* Every kind of decision occurred, so the comparison means something. */
	int seen[ACTION_CORRUPT + 1] = { 0 };
	for (int i = 0; i < MIX_FLOWS; i++)
		for (int k = 0; k < MIX_STEPS; k++)
			seen[a[i][k]]++;
	ck_assert_int_gt(seen[ACTION_ACCEPT], 0);
	ck_assert_int_gt(seen[ACTION_DROP], 0);
	ck_assert_int_gt(seen[ACTION_DELAY], 0);
	ck_assert_int_gt(seen[ACTION_DUPLICATE], 0);
	for (int order = 0; order < 3; order++) {
		mixed_run(77, order, hb, b, db);
		ck_assert_str_eq(ha, hb);
		ck_assert_mem_eq(a, b, sizeof a);
		ck_assert_mem_eq(da, db, sizeof da);
	}
	mixed_run(78, 0, hother, other, dother);
	ck_assert_str_ne(ha, hother);
	ck_assert_mem_ne(a, other, sizeof a);
}
END_TEST

static Suite *fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *rules = tcase_create("rules");
	TCase *p = tcase_create("p");
	TCase *reset = tcase_create("reset");
	TCase *others = tcase_create("refuse unreachable blackhole");
	TCase *decisions = tcase_create("decisions");

	tcase_add_test(rules, test_rule_defaults);
	tcase_add_test(rules, test_no_rules_accepts);
	tcase_add_test(rules, test_first_applicable_rule_wins);
	tcase_add_test(rules, test_rule_that_does_not_act_falls_through);
	tcase_add_test(rules, test_dirs);
	tcase_add_test(rules, test_window);
	tcase_add_test(rules, test_flows_filter);
	tcase_add_test(rules, test_port_filter);
	tcase_add_test(rules, test_packet_without_flow);
	suite_add_tcase(s, rules);

	tcase_add_test(p, test_p_fraction);
	tcase_add_test(p, test_p_same_seed_same_choices);
	tcase_add_test(p, test_p_drawn_once_per_flow);
	tcase_add_test(p, test_p_certain_and_never);
	tcase_add_test(p, test_p_depends_on_seed_and_ordinal_only);
	suite_add_tcase(s, p);

	tcase_add_test(reset, test_reset_after_bytes);
	tcase_add_test(reset, test_reset_after_bytes_one_packet_crosses);
	tcase_add_test(reset, test_reset_after_bytes_both_directions);
	tcase_add_test(reset, test_reset_after_bytes_counts_distinct_bytes);
	tcase_add_test(reset, test_reset_after_bytes_midstream_late_segments);
	tcase_add_test(reset, test_reset_after_zero_bytes);
	tcase_add_test(reset, test_reset_after_ms_by_packet);
	tcase_add_test(reset, test_reset_after_ms_only_its_dirs);
	tcase_add_test(reset, test_reset_after_ms_by_tick);
	tcase_add_test(reset, test_tick_needs_both_triggers);
	tcase_add_test(reset, test_tick_leaves_other_flows_alone);
	tcase_add_test(reset, test_reset_not_in_syn_sent);
	tcase_add_test(reset, test_reset_lets_rst_through);
	tcase_add_test(reset, test_reset_again_after_injection);
	suite_add_tcase(s, reset);

	tcase_add_test(others, test_refuse_opening_syn);
	tcase_add_test(others, test_refuse_only_the_opening_syn);
	tcase_add_test(others, test_unreachable_every_packet);
	tcase_add_test(others, test_unreachable_retransmitted_syns);
	tcase_add_test(others, test_blackhole_every_packet);
	tcase_add_test(others, test_first_per_rule_and_flow);
	suite_add_tcase(s, others);

	tcase_add_test(decisions, test_decisions_recorded);
	tcase_add_test(decisions, test_accepts_are_not_recorded);
	suite_add_tcase(s, decisions);

	TCase *loss = tcase_create("loss");
	tcase_add_test(loss, test_loss_random_rate);
	tcase_add_test(loss, test_loss_random_never_and_always);
	tcase_add_test(loss, test_loss_random_same_seed_same_pattern);
	tcase_add_test(loss, test_loss_gilbert_bursts);
	tcase_add_test(loss, test_loss_gilbert_states);
	suite_add_tcase(s, loss);

	TCase *delay = tcase_create("delay reorder rate");
	tcase_add_test(delay, test_delay_jitter);
	tcase_add_test(delay, test_delay_without_jitter);
	tcase_add_test(delay, test_delay_never_below_zero);
	tcase_add_test(delay, test_reorder_fraction);
	tcase_add_test(delay, test_rate_back_to_back);
	tcase_add_test(delay, test_rate_per_direction_and_flow);
	tcase_add_test(delay, test_rate_shared);
	suite_add_tcase(s, delay);

	TCase *truncate = tcase_create("truncate silenced");
	tcase_add_test(truncate, test_truncate_after_bytes);
	tcase_add_test(truncate, test_truncate_not_in_syn_sent);
	tcase_add_test(truncate, test_silenced_flow_drops_everything);
	suite_add_tcase(s, truncate);

	TCase *policy = tcase_create("conn_cap block rate_block idle_timeout");
	tcase_add_test(policy, test_conn_cap_refuse);
	tcase_add_test(policy, test_conn_cap_per_source_and_global);
	tcase_add_test(policy, test_conn_cap_blackhole);
	tcase_add_test(policy, test_conn_cap_reset_after_bytes);
	tcase_add_test(policy, test_conn_cap_large_limit);
	tcase_add_test(policy, test_block_refuse_in_window);
	tcase_add_test(policy, test_block_blackhole_and_http403);
	tcase_add_test(policy, test_rate_block_window);
	tcase_add_test(policy, test_rate_block_spread_out);
	tcase_add_test(policy, test_rate_block_http403_and_blackhole);
	tcase_add_test(policy, test_idle_timeout_reset);
	tcase_add_test(policy, test_idle_timeout_blackhole);
	suite_add_tcase(s, policy);

	TCase *packets = tcase_create("mtu duplicate corrupt match router_restart hook");
	tcase_add_test(packets, test_mtu);
	tcase_add_test(packets, test_duplicate_fraction);
	tcase_add_test(packets, test_corrupt_fraction);
	tcase_add_test(packets, test_match);
	tcase_add_test(packets, test_router_restart);
	tcase_add_test(packets, test_hook_actions);
	tcase_add_test(packets, test_hook_error);
	suite_add_tcase(s, packets);

	TCase *determinism = tcase_create("determinism");
	tcase_add_test(determinism, test_determinism_mixed_rules);
	suite_add_tcase(s, determinism);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(fault_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
