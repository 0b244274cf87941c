/* check_fault.c — unit tests for sim/fault.c: how rules are asked (in order,
 * the first that acts decides), their common keys (dirs, from/until window,
 * flows by ordinal, server port, p drawn once per connection from the flow's
 * seeded stream), and the connection faults: reset (after_bytes, after_ms by
 * packet or by tick, never in SYN_SENT, every later packet answered again),
 * refuse, unreachable and blackhole; `first`, and the recorded decisions.
 *
 * Packets are built by filling struct packet directly, and go through a small
 * copy of what the engine does with a decision: the flow is looked up (opened
 * when new, or when an opening SYN reuses the tuple of a closed flow), the
 * rules decide, flow_update() follows only accepted packets, and an
 * ACTION_RESET or ACTION_REFUSE ends the flow as the engine would. */
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
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
		if (f)
			flow_update(f, p, dir, s->now);
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
