/* check_flow.c — unit tests for sim/flow.c: the connection table (open and
 * look up by direction, ordinals, port reuse, growth), the TCP tracking that
 * fault decisions and injected RSTs rely on (handshake and teardown states,
 * how a flow ended, next sequence numbers, distinct byte counts, streams past
 * 4 GiB, mid-stream pickup), UDP counts, and the decision digest.
 *
 * Packets are built by filling struct packet the way packet_parse would, and
 * fed to the table the way the engine does: look the flow up, open it when
 * it is new (or when an opening SYN reuses the tuple of a closed flow), then
 * flow_update() for a packet that is let through. */
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/flow.h"
#include "sim/packet.h"

#define CLIENT_IP 0xc6120002u  /* 198.18.0.2 */
#define SERVER_IP 0xc6130002u  /* 198.19.0.2 */
#define MS 1000000LL

/* SHA-256 of no input at all: the digest of a table without decisions. */
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct tuple {
	uint8_t proto;
	uint32_t client_ip, server_ip;   /* host order */
	uint16_t client_port, server_port;
};

static struct tuple tcp_tuple(uint16_t client_port)
{
	struct tuple tu = { IPPROTO_TCP, CLIENT_IP, SERVER_IP, client_port, 80 };
	return tu;
}

static void set_ipv4(struct packet_addr *a, uint32_t ip)
{
	memset(a, 0, sizeof *a);
	a->family = AF_INET;
	a->bytes[0] = (uint8_t)(ip >> 24);
	a->bytes[1] = (uint8_t)(ip >> 16);
	a->bytes[2] = (uint8_t)(ip >> 8);
	a->bytes[3] = (uint8_t)ip;
}

/* A packet of the conversation tu travelling in dir. */
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

static int is_opening_syn(const struct packet *p, enum flow_dir dir)
{
	return p->proto == IPPROTO_TCP && dir == DIR_UP &&
	       (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
}

/* Let p through the table as the engine does for an accepted packet. */
static struct flow *feed(struct flow_table *t, const struct packet *p, enum flow_dir dir, int64_t now)
{
	struct flow *f = flow_lookup(t, p, dir);
	if (!f || (is_opening_syn(p, dir) && f->state == FLOW_CLOSED))
		f = flow_open(t, p, dir, now);
	ck_assert_ptr_nonnull(f);
	flow_update(f, p, dir, now);
	return f;
}

/* Both ends of one TCP connection, each sending from its next sequence
 * number and acknowledging all the other side sent. */
struct conn {
	struct flow_table *t;
	struct tuple tu;
	uint32_t next[3];   /* by enum flow_dir: the next sequence number that side sends */
	int64_t now;
};

static void conn_init(struct conn *c, struct flow_table *t, uint16_t client_port,
                      uint32_t client_isn, uint32_t server_isn)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->tu = tcp_tuple(client_port);
	c->next[DIR_UP] = client_isn;
	c->next[DIR_DOWN] = server_isn;
	c->now = 1000 * MS;
}

static enum flow_dir other_dir(enum flow_dir dir)
{
	return dir == DIR_UP ? DIR_DOWN : DIR_UP;
}

static struct packet conn_packet(const struct conn *c, enum flow_dir dir, uint8_t flags, size_t len)
{
	return make_packet(&c->tu, dir, flags, c->next[dir],
	                   (flags & TCP_ACK) ? c->next[other_dir(dir)] : 0, len);
}

static struct flow *conn_send(struct conn *c, enum flow_dir dir, uint8_t flags, size_t len)
{
	struct packet p = conn_packet(c, dir, flags, len);
	struct flow *f = feed(c->t, &p, dir, c->now);
	c->next[dir] += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	c->now += MS;
	return f;
}

/* A segment at an explicit sequence number (retransmissions, reordering);
 * the side's next sequence number is not moved. */
static struct flow *conn_send_at(struct conn *c, enum flow_dir dir, uint8_t flags, uint32_t seq, size_t len)
{
	struct packet p = make_packet(&c->tu, dir, flags, seq,
	                              (flags & TCP_ACK) ? c->next[other_dir(dir)] : 0, len);
	struct flow *f = feed(c->t, &p, dir, c->now);
	c->now += MS;
	return f;
}

static struct flow *conn_handshake(struct conn *c)
{
	struct flow *f = conn_send(c, DIR_UP, TCP_SYN, 0);
	ck_assert_ptr_eq(conn_send(c, DIR_DOWN, TCP_SYN | TCP_ACK, 0), f);
	ck_assert_ptr_eq(conn_send(c, DIR_UP, TCP_ACK, 0), f);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	return f;
}

static int addr_is(const struct packet_addr *a, uint32_t ip)
{
	struct packet_addr want;
	set_ipv4(&want, ip);
	return packet_addr_equal(a, &want);
}

/* ---- the table ---------------------------------------------------------- */

START_TEST(test_open_and_lookup_by_direction)
{
	struct flow_table *t = flow_table_new(1);
	ck_assert_ptr_nonnull(t);
	struct tuple tu = tcp_tuple(41234);
	struct packet syn = make_packet(&tu, DIR_UP, TCP_SYN, 1000, 0, 0);
	struct packet synack = make_packet(&tu, DIR_DOWN, TCP_SYN | TCP_ACK, 5000, 1001, 0);

	ck_assert_ptr_null(flow_lookup(t, &syn, DIR_UP));
	struct flow *f = flow_open(t, &syn, DIR_UP, 5 * MS);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->id, 1);
	ck_assert_uint_eq(f->proto, IPPROTO_TCP);
	ck_assert(addr_is(&f->client, CLIENT_IP));
	ck_assert(addr_is(&f->server, SERVER_IP));
	ck_assert_uint_eq(f->client_port, 41234);
	ck_assert_uint_eq(f->server_port, 80);
	ck_assert_int_eq(f->opened_ns, 5 * MS);
	ck_assert_int_eq(f->last_ns, 5 * MS);
	ck_assert_int_eq(f->closed_ns, 0);
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	ck_assert_int_eq(f->midstream, 0);
	ck_assert_uint_eq(f->packets, 0);
	ck_assert_uint_eq(flow_table_count(t), 1);

	/* Both directions of the conversation find it... */
	ck_assert_ptr_eq(flow_lookup(t, &syn, DIR_UP), f);
	ck_assert_ptr_eq(flow_lookup(t, &synack, DIR_DOWN), f);
	/* ...but the same packet said to travel the other way is another one. */
	ck_assert_ptr_null(flow_lookup(t, &syn, DIR_DOWN));
	ck_assert_ptr_null(flow_lookup(t, &synack, DIR_UP));

	/* Every part of the key counts. */
	struct tuple other = tu;
	other.client_port = 41235;
	struct packet p = make_packet(&other, DIR_UP, TCP_SYN, 1000, 0, 0);
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	other = tu;
	other.server_port = 81;
	p = make_packet(&other, DIR_UP, TCP_SYN, 1000, 0, 0);
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	other = tu;
	other.client_ip = CLIENT_IP + 1;
	p = make_packet(&other, DIR_UP, TCP_SYN, 1000, 0, 0);
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	other = tu;
	other.server_ip = SERVER_IP + 1;
	p = make_packet(&other, DIR_UP, TCP_SYN, 1000, 0, 0);
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	other = tu;
	other.proto = IPPROTO_UDP;
	p = make_packet(&other, DIR_UP, 0, 0, 0, 10);
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	/* The same numbers over IPv6 are another address. */
	p = syn;
	p.family = AF_INET6;
	p.src.family = p.dst.family = AF_INET6;
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	flow_table_free(t);
}
END_TEST

START_TEST(test_open_from_server_side_packet)
{
	struct flow_table *t = flow_table_new(1);
	struct tuple tu = tcp_tuple(41234);
	/* The first packet seen comes from the server: the client is still the
	 * client-network side. */
	struct packet p = make_packet(&tu, DIR_DOWN, TCP_ACK | TCP_PSH, 7000, 3000, 100);
	struct flow *f = flow_open(t, &p, DIR_DOWN, 0);
	ck_assert_ptr_nonnull(f);
	ck_assert(addr_is(&f->client, CLIENT_IP));
	ck_assert(addr_is(&f->server, SERVER_IP));
	ck_assert_uint_eq(f->client_port, 41234);
	ck_assert_uint_eq(f->server_port, 80);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_int_eq(f->midstream, 1);
	struct packet up = make_packet(&tu, DIR_UP, TCP_ACK, 3000, 7100, 0);
	ck_assert_ptr_eq(flow_lookup(t, &up, DIR_UP), f);
	/* A SYN from the server's side is not a client opening a connection. */
	tu.client_port = 41235;
	p = make_packet(&tu, DIR_DOWN, TCP_SYN, 7000, 0, 0);
	f = flow_open(t, &p, DIR_DOWN, 0);
	ck_assert_uint_eq(f->client_port, 41235);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_int_eq(f->midstream, 1);
	flow_table_free(t);
}
END_TEST

START_TEST(test_ordinals_in_opening_order)
{
	struct flow_table *t = flow_table_new(1);
	struct flow *f[4];
	ck_assert_uint_eq(flow_table_count(t), 0);
	ck_assert_ptr_null(flow_table_get(t, 1));
	for (int i = 0; i < 4; i++) {
		/* Mixed protocols and ports: ordinals follow only the order. */
		struct tuple tu = tcp_tuple((uint16_t)(50000 - 7 * i));
		if (i == 2)
			tu.proto = IPPROTO_UDP;
		struct packet p = make_packet(&tu, i == 3 ? DIR_DOWN : DIR_UP, TCP_SYN, 1, 0, 0);
		f[i] = flow_open(t, &p, i == 3 ? DIR_DOWN : DIR_UP, i * MS);
		ck_assert_ptr_nonnull(f[i]);
		ck_assert_uint_eq(f[i]->id, (uint32_t)i + 1);
		ck_assert_uint_eq(flow_table_count(t), (size_t)i + 1);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(flow_table_get(t, (uint32_t)i + 1), f[i]);
	ck_assert_ptr_null(flow_table_get(t, 0));
	ck_assert_ptr_null(flow_table_get(t, 5));
	ck_assert_ptr_null(flow_table_get(t, UINT32_MAX));
	flow_table_free(t);
}
END_TEST

START_TEST(test_only_tcp_and_udp_have_flows)
{
	struct flow_table *t = flow_table_new(1);
	struct tuple tu = tcp_tuple(0);
	tu.proto = IPPROTO_ICMP;
	tu.server_port = 0;
	struct packet p = make_packet(&tu, DIR_UP, 0, 0, 0, 56);
	ck_assert_ptr_null(flow_open(t, &p, DIR_UP, 0));
	ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
	ck_assert_uint_eq(flow_table_count(t), 0);
	/* The next real flow is still number 1. */
	struct tuple udp = tcp_tuple(5353);
	udp.proto = IPPROTO_UDP;
	p = make_packet(&udp, DIR_UP, 0, 0, 0, 20);
	struct flow *f = flow_open(t, &p, DIR_UP, 0);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->id, 1);
	flow_table_free(t);
}
END_TEST

START_TEST(test_port_reuse_finds_newest)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 9000);
	struct flow *old = conn_handshake(&c);
	conn_send(&c, DIR_UP, TCP_RST, 0);
	ck_assert_int_eq(old->state, FLOW_CLOSED);
	ck_assert_int_eq(old->end, FLOW_END_RESET_BY_CLIENT);

	/* The client opens again from the same port. */
	conn_init(&c, t, 41234, 555555, 777777);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	ck_assert_ptr_ne(f, old);
	ck_assert_uint_eq(f->id, 2);
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	ck_assert_uint_eq(f->up.isn, 555555);
	struct packet up = conn_packet(&c, DIR_UP, TCP_ACK, 0);
	struct packet down = conn_packet(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	ck_assert_ptr_eq(flow_lookup(t, &up, DIR_UP), f);
	ck_assert_ptr_eq(flow_lookup(t, &down, DIR_DOWN), f);
	/* The old flow keeps its number and how it ended. */
	ck_assert_ptr_eq(flow_table_get(t, 1), old);
	ck_assert_int_eq(old->end, FLOW_END_RESET_BY_CLIENT);
	ck_assert_uint_eq(flow_table_count(t), 2);
	flow_table_free(t);
}
END_TEST

/* The table starts with 1024 buckets; well past that every flow must still be
 * found from both sides, and a reused tuple must find its newest flow. */
#define MANY_FLOWS 5000

static struct tuple many_tuple(int i)
{
	struct tuple tu = tcp_tuple((uint16_t)(20000 + i % 1000));
	tu.client_ip = CLIENT_IP + (uint32_t)(i / 1000);
	return tu;
}

START_TEST(test_table_grows_past_1024)
{
	struct flow_table *t = flow_table_new(1);
	for (int i = 0; i < MANY_FLOWS; i++) {
		struct tuple tu = many_tuple(i);
		struct packet p = make_packet(&tu, DIR_UP, TCP_SYN, (uint32_t)i, 0, 0);
		ck_assert_ptr_null(flow_lookup(t, &p, DIR_UP));
		struct flow *f = flow_open(t, &p, DIR_UP, i);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(f->id, (uint32_t)i + 1);
	}
	ck_assert_uint_eq(flow_table_count(t), MANY_FLOWS);
	for (int i = 0; i < MANY_FLOWS; i++) {
		struct tuple tu = many_tuple(i);
		struct packet up = make_packet(&tu, DIR_UP, TCP_SYN, (uint32_t)i, 0, 0);
		struct packet down = make_packet(&tu, DIR_DOWN, TCP_SYN | TCP_ACK, 7, (uint32_t)i + 1, 0);
		struct flow *f = flow_table_get(t, (uint32_t)i + 1);
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_eq(flow_lookup(t, &up, DIR_UP), f);
		ck_assert_ptr_eq(flow_lookup(t, &down, DIR_DOWN), f);
		ck_assert_uint_eq(f->client_port, tu.client_port);
		ck_assert(addr_is(&f->client, tu.client_ip));
	}

	/* Reuse tuples opened before and after the growth. */
	int reused[] = { 0, 2, 1023, 1024, 4999 };
	for (size_t k = 0; k < sizeof reused / sizeof reused[0]; k++) {
		struct tuple tu = many_tuple(reused[k]);
		struct packet rst = make_packet(&tu, DIR_UP, TCP_RST, (uint32_t)reused[k] + 1, 0, 0);
		struct flow *old = flow_table_get(t, (uint32_t)reused[k] + 1);
		flow_update(old, &rst, DIR_UP, 0);
		struct packet syn = make_packet(&tu, DIR_UP, TCP_SYN, 99, 0, 0);
		struct flow *f = feed(t, &syn, DIR_UP, 0);
		ck_assert_ptr_ne(f, old);
		ck_assert_uint_eq(f->id, MANY_FLOWS + k + 1);
		ck_assert_ptr_eq(flow_lookup(t, &syn, DIR_UP), f);
		struct packet down = make_packet(&tu, DIR_DOWN, TCP_SYN | TCP_ACK, 7, 100, 0);
		ck_assert_ptr_eq(flow_lookup(t, &down, DIR_DOWN), f);
	}
	ck_assert_uint_eq(flow_table_count(t), MANY_FLOWS + 5);
	flow_table_free(t);
}
END_TEST

/* ---- UDP ---------------------------------------------------------------- */

START_TEST(test_udp_counts)
{
	struct flow_table *t = flow_table_new(1);
	struct tuple tu = tcp_tuple(53000);
	tu.proto = IPPROTO_UDP;
	tu.server_port = 53;
	struct packet q = make_packet(&tu, DIR_UP, 0, 0, 0, 29);
	struct packet r = make_packet(&tu, DIR_DOWN, 0, 0, 0, 45);
	struct packet empty = make_packet(&tu, DIR_UP, 0, 0, 0, 0);

	struct flow *f = feed(t, &q, DIR_UP, 1 * MS);
	ck_assert_uint_eq(f->proto, IPPROTO_UDP);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_ptr_eq(feed(t, &r, DIR_DOWN, 2 * MS), f);
	/* UDP has no sequence numbers: a repeated datagram is more bytes. */
	ck_assert_ptr_eq(feed(t, &q, DIR_UP, 3 * MS), f);
	ck_assert_ptr_eq(feed(t, &empty, DIR_UP, 4 * MS), f);
	ck_assert_uint_eq(f->up.bytes, 58);
	ck_assert_uint_eq(f->down.bytes, 45);
	ck_assert_uint_eq(f->up.packets, 3);
	ck_assert_uint_eq(f->down.packets, 1);
	ck_assert_uint_eq(f->packets, 4);
	ck_assert_int_eq(f->last_ns, 4 * MS);
	ck_assert_int_eq(f->opened_ns, 1 * MS);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	ck_assert_uint_eq(flow_table_count(t), 1);
	flow_table_free(t);
}
END_TEST

/* ---- TCP states and endings --------------------------------------------- */

START_TEST(test_handshake_states)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	ck_assert_int_eq(f->midstream, 0);
	conn_send(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_SYN_RECEIVED);
	conn_send(&c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	ck_assert_int_eq(f->midstream, 0);
	ck_assert_uint_eq(f->packets, 3);
	ck_assert_str_eq(flow_state_name(f->state), "established");
	flow_table_free(t);
}
END_TEST

START_TEST(test_handshake_states_in_order_only)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN | 0xc0, 0);  /* SYN with ECE|CWR */
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	ck_assert_int_eq(f->midstream, 0);
	/* A retransmitted SYN and an ACK from the client before any answer
	 * do not move the handshake on. */
	conn_send_at(&c, DIR_UP, TCP_SYN, 1000, 0);
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	conn_send(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_SYN_RECEIVED);
	/* A retransmitted SYN|ACK is still half way. */
	conn_send_at(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 70000, 0);
	ck_assert_int_eq(f->state, FLOW_SYN_RECEIVED);
	/* The handshake's last ACK may carry data. */
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 10);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_uint_eq(f->up.bytes, 10);
	flow_table_free(t);
}
END_TEST

START_TEST(test_fin_both_ways_ends_fin)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 100);
	conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 2000);
	conn_send(&c, DIR_UP, TCP_FIN | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	ck_assert_int_eq(f->up.fin_seen, 1);
	ck_assert_int_eq(f->down.fin_seen, 0);
	conn_send(&c, DIR_DOWN, TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	conn_send(&c, DIR_DOWN, TCP_FIN | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	ck_assert_int_eq(f->closed_ns, 0);
	int64_t last_ack_at = c.now;
	conn_send(&c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->end, FLOW_END_FIN);
	ck_assert_int_eq(f->closed_ns, last_ack_at);
	ck_assert_str_eq(flow_end_name(f->end), "fin");
	flow_table_free(t);
}
END_TEST

START_TEST(test_fin_server_first_needs_last_ack)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	conn_send(&c, DIR_DOWN, TCP_FIN | TCP_ACK | TCP_PSH, 500);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	/* The client's FIN also acknowledges the server's: not over yet. */
	conn_send(&c, DIR_UP, TCP_FIN | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	/* An ACK that does not cover the client's FIN is not the last one. */
	struct packet stale = make_packet(&c.tu, DIR_DOWN, TCP_ACK, c.next[DIR_DOWN], c.next[DIR_UP] - 1, 0);
	feed(t, &stale, DIR_DOWN, c.now);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	conn_send(&c, DIR_DOWN, TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->end, FLOW_END_FIN);
	flow_table_free(t);
}
END_TEST

START_TEST(test_fin_one_way_stays_open)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	conn_send(&c, DIR_UP, TCP_FIN | TCP_ACK, 0);
	conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 3000);
	conn_send(&c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSING);
	ck_assert_int_eq(f->end, FLOW_END_OPEN);
	ck_assert_int_eq(f->closed_ns, 0);
	flow_table_free(t);
}
END_TEST

START_TEST(test_rst_from_client)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 100);
	int64_t at = c.now;
	conn_send(&c, DIR_UP, TCP_RST | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->end, FLOW_END_RESET_BY_CLIENT);
	ck_assert_int_eq(f->closed_ns, at);
	ck_assert_str_eq(flow_end_name(f->end), "reset_by_client");
	flow_table_free(t);
}
END_TEST

START_TEST(test_rst_from_server)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 100);
	conn_send(&c, DIR_UP, TCP_FIN | TCP_ACK, 0);
	int64_t at = c.now;
	conn_send(&c, DIR_DOWN, TCP_RST, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->end, FLOW_END_RESET_BY_SERVER);
	ck_assert_int_eq(f->closed_ns, at);
	ck_assert_str_eq(flow_end_name(f->end), "reset_by_server");
	flow_table_free(t);
}
END_TEST

START_TEST(test_rst_in_handshake_from_server_after_synack)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	conn_send(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	/* The server accepted, then reset: a reset, not a refusal. */
	conn_send(&c, DIR_DOWN, TCP_RST, 0);
	ck_assert_int_eq(f->end, FLOW_END_RESET_BY_SERVER);
	flow_table_free(t);
}
END_TEST

START_TEST(test_rst_answering_syn_is_refused)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 0);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	int64_t at = c.now;
	conn_send(&c, DIR_DOWN, TCP_RST | TCP_ACK, 0);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->end, FLOW_END_REFUSED);
	ck_assert_int_eq(f->closed_ns, at);
	ck_assert_str_eq(flow_end_name(f->end), "refused");
	/* The client tries again from the same port: a new flow. */
	struct flow *again = conn_send(&c, DIR_UP, TCP_SYN, 0);
	ck_assert_ptr_ne(again, f);
	ck_assert_uint_eq(again->id, 2);
	ck_assert_int_eq(again->state, FLOW_SYN_SENT);
	ck_assert_int_eq(f->end, FLOW_END_REFUSED);
	flow_table_free(t);
}
END_TEST

START_TEST(test_rst_from_client_in_syn_sent)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 0);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	conn_send(&c, DIR_UP, TCP_RST, 0);
	ck_assert_int_eq(f->end, FLOW_END_RESET_BY_CLIENT);
	flow_table_free(t);
}
END_TEST

START_TEST(test_flow_end_first_cause_wins)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	flow_end(f, FLOW_END_RESET_INJECTED, 100 * MS);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->closed_ns, 100 * MS);
	flow_end(f, FLOW_END_REFUSED, 200 * MS);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	ck_assert_int_eq(f->closed_ns, 100 * MS);
	/* A late RST of one of the ends does not rewrite history either. */
	c.now = 300 * MS;
	conn_send(&c, DIR_UP, TCP_RST, 0);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	ck_assert_int_eq(f->closed_ns, 100 * MS);
	flow_end(f, FLOW_END_TIMEOUT, 400 * MS);
	ck_assert_int_eq(f->end, FLOW_END_RESET_INJECTED);
	ck_assert_int_eq(f->closed_ns, 100 * MS);
	ck_assert_str_eq(flow_end_name(f->end), "reset_injected");

	/* After a clean close, an injected reset is too late. */
	conn_init(&c, t, 41235, 1000, 70000);
	f = conn_handshake(&c);
	conn_send(&c, DIR_UP, TCP_FIN | TCP_ACK, 0);
	conn_send(&c, DIR_DOWN, TCP_FIN | TCP_ACK, 0);
	conn_send(&c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(f->end, FLOW_END_FIN);
	flow_end(f, FLOW_END_RESET_INJECTED, c.now);
	ck_assert_int_eq(f->end, FLOW_END_FIN);
	flow_table_free(t);
}
END_TEST

START_TEST(test_flow_end_timeout_keeps_attempt_open)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	/* A connection attempt that timed out (the engine answered its SYN
	 * with a host unreachable): the client's retransmitted SYNs are still
	 * the same attempt, so the flow is not closed. */
	flow_end(f, FLOW_END_TIMEOUT, 5 * MS);
	ck_assert_int_eq(f->end, FLOW_END_TIMEOUT);
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	ck_assert_ptr_eq(conn_send_at(&c, DIR_UP, TCP_SYN, 1000, 0), f);
	ck_assert_uint_eq(flow_table_count(t), 1);
	/* Then the server refuses: it stays a timeout, but now it is closed. */
	flow_end(f, FLOW_END_REFUSED, 9 * MS);
	ck_assert_int_eq(f->end, FLOW_END_TIMEOUT);
	ck_assert_int_eq(f->state, FLOW_CLOSED);
	ck_assert_int_eq(f->closed_ns, 9 * MS);
	ck_assert_str_eq(flow_end_name(f->end), "timeout");
	flow_table_free(t);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(flow_end_name(FLOW_END_OPEN), "open");
	ck_assert_str_eq(flow_end_name(FLOW_END_FIN), "fin");
	ck_assert_str_eq(flow_end_name(FLOW_END_RESET_INJECTED), "reset_injected");
	ck_assert_str_eq(flow_end_name(FLOW_END_RESET_BY_CLIENT), "reset_by_client");
	ck_assert_str_eq(flow_end_name(FLOW_END_RESET_BY_SERVER), "reset_by_server");
	ck_assert_str_eq(flow_end_name(FLOW_END_REFUSED), "refused");
	ck_assert_str_eq(flow_end_name(FLOW_END_TIMEOUT), "timeout");
	ck_assert_str_eq(flow_end_name((enum flow_end)99), "?");
	ck_assert_str_eq(flow_state_name(FLOW_SYN_SENT), "syn_sent");
	ck_assert_str_eq(flow_state_name(FLOW_SYN_RECEIVED), "syn_received");
	ck_assert_str_eq(flow_state_name(FLOW_ESTABLISHED), "established");
	ck_assert_str_eq(flow_state_name(FLOW_CLOSING), "closing");
	ck_assert_str_eq(flow_state_name(FLOW_CLOSED), "closed");
	ck_assert_str_eq(flow_state_name((enum flow_state)99), "?");
}
END_TEST

/* ---- sequence numbers and bytes ----------------------------------------- */

START_TEST(test_next_seq_per_side)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 7000000);
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 0);
	ck_assert_int_eq(f->up.isn_known, 1);
	ck_assert_uint_eq(f->up.isn, 1000);
	ck_assert_uint_eq(f->up.next_seq, 1001);
	ck_assert_int_eq(f->up.ack_seen, 0);
	ck_assert_int_eq(f->down.isn_known, 0);

	conn_send(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	ck_assert_uint_eq(f->down.isn, 7000000);
	ck_assert_uint_eq(f->down.next_seq, 7000001);
	ck_assert_int_eq(f->down.ack_seen, 1);
	ck_assert_uint_eq(f->down.last_ack, 1001);
	conn_send(&c, DIR_UP, TCP_ACK, 0);
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 100);
	ck_assert_uint_eq(f->up.next_seq, 1101);
	conn_send(&c, DIR_DOWN, TCP_ACK, 1460);
	conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 540);
	ck_assert_uint_eq(f->down.next_seq, 7002001);
	ck_assert_uint_eq(f->down.last_ack, 1101);
	conn_send(&c, DIR_UP, TCP_ACK, 0);
	ck_assert_uint_eq(f->up.last_ack, 7002001);
	ck_assert_uint_eq(f->up.window, 502);

	/* A retransmission does not move next_seq back. */
	conn_send_at(&c, DIR_DOWN, TCP_ACK, 7000001, 1460);
	ck_assert_uint_eq(f->down.next_seq, 7002001);

	/* What an RST injected now must carry: toward the client the server's
	 * next sequence number, toward the server the client's. */
	ck_assert_uint_eq(f->down.next_seq, c.next[DIR_DOWN]);
	ck_assert_uint_eq(f->up.next_seq, c.next[DIR_UP]);

	/* A FIN takes one sequence number. */
	conn_send(&c, DIR_UP, TCP_FIN | TCP_ACK, 0);
	ck_assert_uint_eq(f->up.next_seq, 1102);
	ck_assert_uint_eq(f->up.next_seq, c.next[DIR_UP]);
	ck_assert_uint_eq(f->up.bytes, 100);
	ck_assert_uint_eq(f->down.bytes, 2000);
	ck_assert_uint_eq(f->up.packets, 5);
	ck_assert_uint_eq(f->down.packets, 4);
	ck_assert_uint_eq(f->packets, 9);
	flow_table_free(t);
}
END_TEST

START_TEST(test_next_seq_across_seq_wrap)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 0xfffffff0u, 0xffffff00u);
	struct flow *f = conn_handshake(&c);
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 100);
	ck_assert_uint_eq(f->up.next_seq, 0x00000055u);
	conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 1000);
	ck_assert_uint_eq(f->down.next_seq, 0x000002e9u);
	/* Old data from before the wrap is behind, not ahead. */
	conn_send_at(&c, DIR_DOWN, TCP_ACK, 0xffffff01u, 200);
	ck_assert_uint_eq(f->down.next_seq, 0x000002e9u);
	ck_assert_uint_eq(f->up.bytes, 100);
	ck_assert_uint_eq(f->down.bytes, 1000);
	flow_table_free(t);
}
END_TEST

START_TEST(test_retransmissions_not_counted_twice)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	uint32_t start = c.next[DIR_UP];
	conn_send(&c, DIR_UP, TCP_ACK, 1000);
	conn_send(&c, DIR_UP, TCP_ACK, 1000);
	ck_assert_uint_eq(f->up.bytes, 2000);
	conn_send_at(&c, DIR_UP, TCP_ACK, start, 1000);
	conn_send_at(&c, DIR_UP, TCP_ACK, start + 1000, 1000);
	ck_assert_uint_eq(f->up.bytes, 2000);
	/* Half old, half new: only the new half counts. */
	conn_send_at(&c, DIR_UP, TCP_ACK, start + 1500, 1000);
	ck_assert_uint_eq(f->up.bytes, 2500);
	ck_assert_uint_eq(f->up.next_seq, start + 2500);
	ck_assert_uint_eq(f->up.packets, 2 + 5);
	ck_assert_uint_eq(f->down.bytes, 0);
	flow_table_free(t);
}
END_TEST

START_TEST(test_out_of_order_segments)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	struct flow *f = conn_handshake(&c);
	uint32_t s = c.next[DIR_DOWN];
	/* 2, 1, 4, 3, then everything again. */
	conn_send_at(&c, DIR_DOWN, TCP_ACK, s + 1448, 1448);
	conn_send_at(&c, DIR_DOWN, TCP_ACK, s, 1448);
	conn_send_at(&c, DIR_DOWN, TCP_ACK, s + 3 * 1448, 1000);
	ck_assert_uint_eq(f->down.next_seq, s + 3 * 1448 + 1000);
	conn_send_at(&c, DIR_DOWN, TCP_ACK, s + 2 * 1448, 1448);
	ck_assert_uint_eq(f->down.bytes, 3 * 1448 + 1000);
	for (int i = 0; i < 3; i++)
		conn_send_at(&c, DIR_DOWN, TCP_ACK, s + (uint32_t)i * 1448, 1448);
	ck_assert_uint_eq(f->down.bytes, 3 * 1448 + 1000);
	ck_assert_uint_eq(f->down.next_seq, s + 3 * 1448 + 1000);
	ck_assert_uint_eq(f->down.packets, 1 + 7);
	flow_table_free(t);
}
END_TEST

START_TEST(test_midstream_pickup)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 50000, 90000);
	/* The engine started after the handshake: the first packet is data. */
	struct flow *f = conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 300);
	ck_assert_int_eq(f->midstream, 1);
	ck_assert_int_eq(f->state, FLOW_ESTABLISHED);
	ck_assert_int_eq(f->up.isn_known, 1);
	ck_assert_uint_eq(f->up.isn, 49999);
	ck_assert_uint_eq(f->up.bytes, 300);
	ck_assert_uint_eq(f->up.next_seq, 50300);
	ck_assert_uint_eq(flow_stream_offset(&f->up, 50000), 0);
	ck_assert_int_eq(f->down.isn_known, 0);
	/* The other side is picked up at its own first packet. */
	conn_send(&c, DIR_DOWN, TCP_ACK, 0);
	ck_assert_int_eq(f->down.isn_known, 1);
	ck_assert_uint_eq(f->down.isn, 89999);
	ck_assert_uint_eq(f->down.next_seq, 90000);
	conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 1000);
	conn_send(&c, DIR_UP, TCP_ACK, 200);
	ck_assert_uint_eq(f->down.bytes, 1000);
	ck_assert_uint_eq(f->up.bytes, 500);
	ck_assert_uint_eq(f->down.next_seq, 91000);
	/* It ends like any other flow. */
	conn_send(&c, DIR_DOWN, TCP_RST, 0);
	ck_assert_int_eq(f->end, FLOW_END_RESET_BY_SERVER);
	flow_table_free(t);
}
END_TEST

START_TEST(test_midstream_pure_ack_first)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 50000, 90000);
	struct flow *f = conn_send(&c, DIR_UP, TCP_ACK, 0);
	ck_assert_int_eq(f->midstream, 1);
	ck_assert_uint_eq(f->up.next_seq, 50000);
	ck_assert_uint_eq(f->up.bytes, 0);
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 10);
	ck_assert_uint_eq(f->up.bytes, 10);
	ck_assert_uint_eq(f->up.next_seq, 50010);
	flow_table_free(t);
}
END_TEST

START_TEST(test_midstream_data_from_before_pickup)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 50000, 90000);
	struct flow *f = conn_send(&c, DIR_DOWN, TCP_ACK | TCP_PSH, 300);
	ck_assert_uint_eq(f->down.bytes, 300);
	/* Segments sent before the one picked up arrive late (reordering, or
	 * retransmissions): what lies before the first byte seen is not
	 * counted, and certainly not as ~4 GiB. */
	conn_send_at(&c, DIR_DOWN, TCP_ACK, 89000, 500);
	ck_assert_uint_eq(f->down.bytes, 300);
	conn_send_at(&c, DIR_DOWN, TCP_ACK, 89800, 400);
	ck_assert_uint_eq(f->down.bytes, 300);
	/* One that starts before and ends past what was seen adds its tail. */
	conn_send_at(&c, DIR_DOWN, TCP_ACK, 89900, 600);
	ck_assert_uint_eq(f->down.bytes, 500);
	ck_assert_uint_eq(f->down.next_seq, 90500);
	conn_send_at(&c, DIR_DOWN, TCP_ACK, 90500, 100);
	ck_assert_uint_eq(f->down.bytes, 600);
	ck_assert_uint_eq(flow_stream_offset(&f->down, 90600), 600);
	flow_table_free(t);
}
END_TEST

START_TEST(test_syn_carrying_data)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 1000, 70000);
	/* TCP Fast Open: the SYN carries the request; its data starts after
	 * the SYN's own sequence number. */
	struct flow *f = conn_send(&c, DIR_UP, TCP_SYN, 100);
	ck_assert_int_eq(f->state, FLOW_SYN_SENT);
	ck_assert_uint_eq(f->up.isn, 1000);
	ck_assert_uint_eq(f->up.next_seq, 1101);
	ck_assert_uint_eq(f->up.bytes, 100);
	conn_send(&c, DIR_DOWN, TCP_SYN | TCP_ACK, 0);
	conn_send(&c, DIR_UP, TCP_ACK | TCP_PSH, 50);
	ck_assert_uint_eq(f->up.bytes, 150);
	ck_assert_uint_eq(f->up.next_seq, 1151);
	/* The server did not take the SYN's data; the client sends it again. */
	conn_send_at(&c, DIR_UP, TCP_ACK, 1001, 100);
	ck_assert_uint_eq(f->up.bytes, 150);
	flow_table_free(t);
}
END_TEST

START_TEST(test_stream_offset)
{
	struct flow_side s;
	memset(&s, 0, sizeof s);
	s.isn_known = 1;
	s.isn = 1000;
	ck_assert_uint_eq(flow_stream_offset(&s, 1001), 0);
	ck_assert_uint_eq(flow_stream_offset(&s, 2001), 1000);
	s.bytes = 5000;
	ck_assert_uint_eq(flow_stream_offset(&s, 1001 + 4000), 4000);
	ck_assert_uint_eq(flow_stream_offset(&s, 1001 + 70000), 70000);

	/* The sequence number wraps, the offset does not. */
	s.isn = 0xffffff00u;
	s.bytes = 0;
	ck_assert_uint_eq(flow_stream_offset(&s, 0xffffff01u), 0);
	ck_assert_uint_eq(flow_stream_offset(&s, 0x00000010u), 0x10f);

	/* Past 4 GiB the offset keeps counting, using bytes as the reference:
	 * the nearest candidate to it wins. */
	s.isn = 0xfffff000u;
	s.bytes = 0x100000000ULL + 5000;
	uint32_t origin = s.isn + 1;
	ck_assert_uint_eq(flow_stream_offset(&s, origin + 3000), 0x100000000ULL + 3000);
	ck_assert_uint_eq(flow_stream_offset(&s, origin + 70000), 0x100000000ULL + 70000);
	ck_assert_uint_eq(flow_stream_offset(&s, origin - 1000), 0x100000000ULL - 1000);
	ck_assert_uint_eq(flow_stream_offset(&s, origin), 0x100000000ULL);
	s.bytes = 0x300000000ULL - 10;
	ck_assert_uint_eq(flow_stream_offset(&s, origin + 20), 0x300000000ULL + 20);
	ck_assert_uint_eq(flow_stream_offset(&s, origin - 20), 0x300000000ULL - 20);
}
END_TEST

/* A stream longer than 4 GiB through the table, in GSO-sized segments,
 * starting just before the sequence space wraps. */
#define SEGMENT 65000u
#define STREAM_BYTES (5ULL << 30)

START_TEST(test_stream_longer_than_4gib)
{
	struct flow_table *t = flow_table_new(1);
	struct conn c;
	conn_init(&c, t, 41234, 3, 0xfff00000u);
	struct flow *f = conn_handshake(&c);
	uint32_t origin = c.next[DIR_DOWN];
	uint64_t sent = 0;
	int retransmitted = 0;
	while (sent < STREAM_BYTES) {
		size_t len = STREAM_BYTES - sent < SEGMENT ? (size_t)(STREAM_BYTES - sent) : SEGMENT;
		uint32_t seq = c.next[DIR_DOWN];
		if (flow_stream_offset(&f->down, seq) != sent)
			ck_abort_msg("offset of seq %u is %llu, want %llu", seq,
			             (unsigned long long)flow_stream_offset(&f->down, seq), (unsigned long long)sent);
		conn_send(&c, DIR_DOWN, TCP_ACK, len);
		sent += len;
		if (f->down.bytes != sent)
			ck_abort_msg("bytes %llu after %llu sent", (unsigned long long)f->down.bytes,
			             (unsigned long long)sent);
		if (f->down.next_seq != (uint32_t)(origin + sent))
			ck_abort_msg("next_seq %u after %llu sent", f->down.next_seq, (unsigned long long)sent);
		/* Just past 4 GiB, a segment from just before it comes again. */
		if (!retransmitted && sent > (1ULL << 32) + 2 * SEGMENT) {
			uint32_t old = origin + (uint32_t)((1ULL << 32) - SEGMENT);
			ck_assert_uint_eq(flow_stream_offset(&f->down, old), (1ULL << 32) - SEGMENT);
			conn_send_at(&c, DIR_DOWN, TCP_ACK, old, SEGMENT);
			ck_assert_uint_eq(f->down.bytes, sent);
			retransmitted = 1;
		}
		/* The client acknowledges now and then. */
		if ((f->down.packets & 63) == 0)
			conn_send(&c, DIR_UP, TCP_ACK, 0);
	}
	ck_assert(retransmitted);
	ck_assert_uint_eq(f->down.bytes, STREAM_BYTES);
	ck_assert_uint_eq(f->down.next_seq, (uint32_t)(origin + STREAM_BYTES));
	ck_assert_uint_eq(flow_stream_offset(&f->down, f->down.next_seq), STREAM_BYTES);
	ck_assert_uint_eq(f->up.bytes, 0);
	flow_table_free(t);
}
END_TEST

/* ---- the decision digest ------------------------------------------------ */

/* A small script of what happens to each of three flows: 'p' a packet let
 * through, a digit d a decision of rule d (action ACTION-like value 1 + d%3),
 * 'x' a decision of rule 0 with action 5. */
static const char *const script_base[3] = { "ppp0pp1p", "p2pppp", "pxp0p0" };

enum interleave { ROUND_ROBIN, FLOW_BY_FLOW, LAST_FLOW_FIRST };

static void run_script(struct flow_table *t, const char *const script[3], enum interleave order)
{
	struct flow *f[3];
	/* Flows open in the same order every time: that is what numbers them. */
	for (int i = 0; i < 3; i++) {
		struct tuple tu = tcp_tuple((uint16_t)(40000 + i));
		struct packet syn = make_packet(&tu, DIR_UP, TCP_SYN, 100, 0, 0);
		f[i] = feed(t, &syn, DIR_UP, 0);
		ck_assert_uint_eq(f[i]->id, (uint32_t)i + 1);
	}
	size_t pos[3] = { 0, 0, 0 };
	for (;;) {
		int i = -1;
		switch (order) {
		case ROUND_ROBIN:
			for (int k = 0; k < 3; k++) {
				int cand = (int)((pos[0] + pos[1] + pos[2] + (size_t)k) % 3);
				if (script[cand][pos[cand]]) {
					i = cand;
					break;
				}
			}
			break;
		case FLOW_BY_FLOW:
			for (int k = 0; k < 3 && i < 0; k++)
				if (script[k][pos[k]])
					i = k;
			break;
		case LAST_FLOW_FIRST:
			for (int k = 2; k >= 0 && i < 0; k--)
				if (script[k][pos[k]])
					i = k;
			break;
		}
		if (i < 0)
			break;
		char op = script[i][pos[i]++];
		/* fault_decide marks where the decided packet sits; here, its
		 * place in the script stands for it. */
		f[i]->decision_point = pos[i];
		if (op == 'p') {
			struct tuple tu = tcp_tuple((uint16_t)(40000 + i));
			struct packet p = make_packet(&tu, DIR_UP, TCP_ACK, 101, 1, 0);
			feed(t, &p, DIR_UP, 0);
		} else if (op == 'x') {
			flow_record_decision(t, f[i], 0, 5);
		} else {
			flow_record_decision(t, f[i], op - '0', 1 + (op - '0') % 3);
		}
	}
}

static void script_digest(const char *const script[3], enum interleave order, char out[65])
{
	struct flow_table *t = flow_table_new(42);
	run_script(t, script, order);
	flow_table_digest(t, out);
	flow_table_free(t);
}

START_TEST(test_digest_format_and_empty)
{
	struct flow_table *t = flow_table_new(1);
	char d[65];
	memset(d, 'z', sizeof d);
	flow_table_digest(t, d);
	ck_assert_uint_eq(strlen(d), 64);
	ck_assert_str_eq(d, SHA256_EMPTY);
	/* Flows without decisions add nothing. */
	struct conn c;
	conn_init(&c, t, 41234, 1, 2);
	conn_handshake(&c);
	flow_table_digest(t, d);
	ck_assert_str_eq(d, SHA256_EMPTY);
	flow_table_free(t);

	script_digest(script_base, ROUND_ROBIN, d);
	ck_assert_uint_eq(strlen(d), 64);
	ck_assert_uint_eq(strspn(d, "0123456789abcdef"), 64);
	ck_assert_str_ne(d, SHA256_EMPTY);
}
END_TEST

START_TEST(test_digest_same_decisions_same_digest)
{
	char a[65], b[65];
	script_digest(script_base, ROUND_ROBIN, a);
	script_digest(script_base, ROUND_ROBIN, b);
	ck_assert_str_eq(a, b);
	/* The table's seed is not part of it: only decisions are. */
	struct flow_table *t = flow_table_new(7);
	run_script(t, script_base, ROUND_ROBIN);
	flow_table_digest(t, b);
	ck_assert_str_eq(a, b);
	flow_table_free(t);
}
END_TEST

START_TEST(test_digest_interleaving_does_not_matter)
{
	char a[65], b[65], c[65];
	script_digest(script_base, ROUND_ROBIN, a);
	script_digest(script_base, FLOW_BY_FLOW, b);
	script_digest(script_base, LAST_FLOW_FIRST, c);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, c);
}
END_TEST

START_TEST(test_digest_different_decision_different_digest)
{
	static const char *const variants[][3] = {
		{ "ppp0pp2p", "p2pppp", "pxp0p0" },  /* another rule */
		{ "ppp0pp1p", "p2pppp", "pxp0p2" },  /* another rule and action */
		{ "ppp0pp1p", "p2pppp", "p0p0p0" },  /* the same rule, another action */
		{ "pp0ppp1p", "p2pppp", "pxp0p0" },  /* at another packet */
		{ "ppp0pp1p", "p2pppp", "pxp0p"  },  /* one decision fewer */
		{ "ppp0pp1p", "p2pppp", "pxp0p00" }, /* one more */
		{ "ppp0pp1p", "pppppp", "pxp0p0" },  /* a flow without decisions */
		{ "p2pppp", "ppp0pp1p", "pxp0p0" },  /* decisions of other flows */
		{ "ppp0pp1p", "pppppp", "pppppp" },  /* the same decisions... */
		{ "pppppp", "ppp0pp1p", "pppppp" },  /* ...of another flow */
	};
	char base[65], d[65];
	script_digest(script_base, ROUND_ROBIN, base);
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		script_digest(variants[i], ROUND_ROBIN, d);
		if (strcmp(d, base) == 0)
			ck_abort_msg("variant %zu has the base digest %s", i, base);
		for (size_t j = 0; j < i; j++) {
			char e[65];
			script_digest(variants[j], ROUND_ROBIN, e);
			if (strcmp(d, e) == 0)
				ck_abort_msg("variants %zu and %zu share digest %s", j, i, d);
		}
	}
}
END_TEST

START_TEST(test_digest_reading_does_not_disturb)
{
	struct flow_table *a = flow_table_new(1), *b = flow_table_new(1);
	run_script(a, script_base, ROUND_ROBIN);
	run_script(b, script_base, FLOW_BY_FLOW);
	char da[65], db[65], again[65];
	flow_table_digest(a, da);
	flow_table_digest(a, again);
	ck_assert_str_eq(da, again);
	/* One more identical decision on both: still equal, and new. */
	flow_record_decision(a, flow_table_get(a, 2), 3, 2);
	flow_record_decision(b, flow_table_get(b, 2), 3, 2);
	flow_table_digest(a, again);
	flow_table_digest(b, db);
	ck_assert_str_eq(again, db);
	ck_assert_str_ne(again, da);
	flow_table_free(a);
	flow_table_free(b);
}
END_TEST

START_TEST(test_decisions_counted)
{
	struct flow_table *t = flow_table_new(1);
	run_script(t, script_base, ROUND_ROBIN);
	ck_assert_uint_eq(flow_table_get(t, 1)->decisions, 2);
	ck_assert_uint_eq(flow_table_get(t, 2)->decisions, 1);
	ck_assert_uint_eq(flow_table_get(t, 3)->decisions, 3);
	/* Recording a decision does not count as a packet. */
	ck_assert_uint_eq(flow_table_get(t, 1)->packets, 1 + 6);
	flow_table_free(t);
}
END_TEST

static Suite *flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *table = tcase_create("table");
	TCase *udp = tcase_create("udp");
	TCase *states = tcase_create("tcp states");
	TCase *seq = tcase_create("sequence and bytes");
	TCase *digest = tcase_create("digest");

	tcase_add_test(table, test_open_and_lookup_by_direction);
	tcase_add_test(table, test_open_from_server_side_packet);
	tcase_add_test(table, test_ordinals_in_opening_order);
	tcase_add_test(table, test_only_tcp_and_udp_have_flows);
	tcase_add_test(table, test_port_reuse_finds_newest);
	tcase_add_test(table, test_table_grows_past_1024);
	suite_add_tcase(s, table);

	tcase_add_test(udp, test_udp_counts);
	suite_add_tcase(s, udp);

	tcase_add_test(states, test_handshake_states);
	tcase_add_test(states, test_handshake_states_in_order_only);
	tcase_add_test(states, test_fin_both_ways_ends_fin);
	tcase_add_test(states, test_fin_server_first_needs_last_ack);
	tcase_add_test(states, test_fin_one_way_stays_open);
	tcase_add_test(states, test_rst_from_client);
	tcase_add_test(states, test_rst_from_server);
	tcase_add_test(states, test_rst_in_handshake_from_server_after_synack);
	tcase_add_test(states, test_rst_answering_syn_is_refused);
	tcase_add_test(states, test_rst_from_client_in_syn_sent);
	tcase_add_test(states, test_flow_end_first_cause_wins);
	tcase_add_test(states, test_flow_end_timeout_keeps_attempt_open);
	tcase_add_test(states, test_names);
	suite_add_tcase(s, states);

	tcase_add_test(seq, test_next_seq_per_side);
	tcase_add_test(seq, test_next_seq_across_seq_wrap);
	tcase_add_test(seq, test_retransmissions_not_counted_twice);
	tcase_add_test(seq, test_out_of_order_segments);
	tcase_add_test(seq, test_midstream_pickup);
	tcase_add_test(seq, test_midstream_pure_ack_first);
	tcase_add_test(seq, test_midstream_data_from_before_pickup);
	tcase_add_test(seq, test_syn_carrying_data);
	tcase_add_test(seq, test_stream_offset);
	tcase_add_test(seq, test_stream_longer_than_4gib);
	suite_add_tcase(s, seq);

	tcase_add_test(digest, test_digest_format_and_empty);
	tcase_add_test(digest, test_digest_same_decisions_same_digest);
	tcase_add_test(digest, test_digest_interleaving_does_not_matter);
	tcase_add_test(digest, test_digest_different_decision_different_digest);
	tcase_add_test(digest, test_digest_reading_does_not_disturb);
	tcase_add_test(digest, test_decisions_counted);
	suite_add_tcase(s, digest);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(flow_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
