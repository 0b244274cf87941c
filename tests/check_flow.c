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
