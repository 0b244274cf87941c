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
		conn_send(&b, &cb[i], DIR_DOWN, TCP_ACK, 1);
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
