/* check_craft.c — unit tests for sim/craft.c and sim/checksum.c: the TCP
 * segments and ICMP / ICMPv6 unreachables the middlebox injects, checked
 * byte for byte against hand-built packets and by verifying their checksums
 * with a sum written here, independently of sim/checksum.c.
 *
 * The expected packets' checksums were computed outside this program. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/checksum.h"
#include "sim/craft.h"
#include "sim/packet.h"

#define IPV6_CLIENT 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c, 0x00, 0x00, \
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02
#define IPV6_SERVER 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c, 0x00, 0x00, \
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01
#define IPV6_MIDDLEBOX 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c, 0x00, 0x00, \
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe

/* 198.18.0.2:41234 -> 198.18.0.1:80 SYN, seq 0x1a2b3c4d, with options. */
static const uint8_t ipv4_tcp_syn[] = {
	0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x92, 0x4e,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	/* TCP checksum 0xe6ca */
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfa, 0xf0, 0xe6, 0xca, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* 198.18.0.2:41234 -> 198.18.0.1:80 PSH|ACK "GET / HTTP/1.1\r\n\r\n",
 * seq 0x1a2b3c4e, ack 0x5e6f7081. */
static const uint8_t ipv4_tcp_data[] = {
	0x45, 0x00, 0x00, 0x46, 0x1c, 0x47, 0x40, 0x00, 0x40, 0x06, 0x92, 0x43,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e, 0x5e, 0x6f, 0x70, 0x81,
	0x80, 0x18, 0x01, 0xf6, 0x4e, 0x95, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x6c, 0x00, 0x0f, 0x12, 0x06,
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* [2001:db8:c::2]:41234 -> [2001:db8:c::1]:80 PSH|ACK, the same request. */
static const uint8_t ipv6_tcp_data[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x26, 0x06, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* TCP checksum 0xacca */
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e, 0x5e, 0x6f, 0x70, 0x81,
	0x50, 0x18, 0x01, 0xf6, 0xac, 0xca, 0x00, 0x00,
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* What the server side would send to kill that connection: 198.18.0.1:80 ->
 * 198.18.0.2:41234 RST|ACK, seq 0x5e6f7081, ack 0x1a2b3c4e, window 0. */
static const uint8_t expected_ipv4_rst[] = {
	/* IPv4: total length 40, id 0, DF, TTL 64, TCP, checksum 0xaea8 */
	0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xae, 0xa8,
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
	/* TCP: data offset 5, RST|ACK, checksum 0x5cdc */
	0x00, 0x50, 0xa1, 0x12, 0x5e, 0x6f, 0x70, 0x81, 0x1a, 0x2b, 0x3c, 0x4e,
	0x50, 0x14, 0x00, 0x00, 0x5c, 0xdc, 0x00, 0x00,
};

/* The same over IPv6, hop limit 64. */
static const uint8_t expected_ipv6_rst[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40,
	IPV6_SERVER, IPV6_CLIENT,
	/* TCP checksum 0x8d77 */
	0x00, 0x50, 0xa1, 0x12, 0x5e, 0x6f, 0x70, 0x81, 0x1a, 0x2b, 0x3c, 0x4e,
	0x50, 0x14, 0x00, 0x00, 0x8d, 0x77, 0x00, 0x00,
};

/* 198.18.0.254 -> 198.18.0.2 port unreachable answering ipv4_tcp_data. */
static const uint8_t expected_ipv4_port_unreachable[] = {
	/* IPv4: total length 56, id 0, no DF, TTL 64, ICMP, checksum 0xeda0 */
	0x45, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0xed, 0xa0,
	0xc6, 0x12, 0x00, 0xfe, 0xc6, 0x12, 0x00, 0x02,
	/* ICMP: type 3, code 3, checksum 0x0521, unused */
	0x03, 0x03, 0x05, 0x21, 0x00, 0x00, 0x00, 0x00,
	/* the original IP header and the first 8 bytes of its TCP header */
	0x45, 0x00, 0x00, 0x46, 0x1c, 0x47, 0x40, 0x00, 0x40, 0x06, 0x92, 0x43,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e,
};

/* 2001:db8:c::fe -> 2001:db8:c::2 port unreachable answering ipv6_tcp_data,
 * which fits whole. */
static const uint8_t expected_ipv6_port_unreachable[] = {
	/* IPv6: payload length 86, ICMPv6, hop limit 64 */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x56, 0x3a, 0x40,
	IPV6_MIDDLEBOX, IPV6_CLIENT,
	/* ICMPv6: type 1, code 4, checksum 0x3ba7, unused */
	0x01, 0x04, 0x3b, 0xa7, 0x00, 0x00, 0x00, 0x00,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x26, 0x06, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e, 0x5e, 0x6f, 0x70, 0x81,
	0x50, 0x18, 0x01, 0xf6, 0xac, 0xca, 0x00, 0x00,
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* Room for any packet built here, with a margin to detect overruns. */
static uint8_t out[1600];
static uint8_t original[1600];

/* ---- helpers, independent of sim/checksum.c ---- */

static uint32_t ones_complement_sum(uint32_t sum, const uint8_t *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sum += i % 2 == 0 ? (uint32_t)bytes[i] << 8 : bytes[i];
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static uint16_t read_be16(const uint8_t *at)
{
	return (uint16_t)((at[0] << 8) | at[1]);
}

static void set_be16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

/* A header with a correct checksum sums to 0xffff, checksum included. */
static void expect_ipv4_header_checksum(const uint8_t *ip)
{
	size_t header_len = (size_t)(ip[0] & 0x0f) * 4;

	ck_assert_uint_eq(ones_complement_sum(0, ip, header_len), 0xffff);
}

/* Verifies the transport checksum of a packet with no IPv4 options and no
 * IPv6 extension headers, reading addresses and lengths from the raw bytes;
 * ICMPv4 is summed without a pseudo-header, everything else with one. */
static void expect_transport_checksum(const uint8_t *packet)
{
	uint8_t pseudo[40];
	size_t pseudo_len, ip_len, l4_len;
	uint8_t proto;
	uint32_t sum;

	memset(pseudo, 0, sizeof pseudo);
	if (packet[0] >> 4 == 4) {
		ip_len = 20;
		l4_len = read_be16(packet + 2) - ip_len;
		proto = packet[9];
		memcpy(pseudo, packet + 12, 8);
		pseudo[9] = proto;
		set_be16(pseudo + 10, (uint16_t)l4_len);
		pseudo_len = proto == IPPROTO_ICMP ? 0 : 12;
	} else {
		ip_len = 40;
		l4_len = read_be16(packet + 4);
		proto = packet[6];
		memcpy(pseudo, packet + 8, 32);
		set_be16(pseudo + 34, (uint16_t)l4_len);
		pseudo[39] = proto;
		pseudo_len = 40;
	}
	sum = ones_complement_sum(0, pseudo, pseudo_len);
	sum = ones_complement_sum(sum, packet + ip_len, l4_len);
	ck_assert_msg(sum == 0xffff, "transport checksum sums to 0x%04x", sum);
}

static struct packet_addr address(const char *text)
{
	struct packet_addr a;

	memset(&a, 0, sizeof a);
	a.family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, text, a.bytes), 1);
	return a;
}

static struct packet parse_ok(const uint8_t *data, size_t caplen)
{
	struct packet p;
	const char *error = NULL;
	int status = packet_parse(&p, data, caplen, &error);

	ck_assert_msg(status == 0, "packet_parse failed: %s", error != NULL ? error : "(no message)");
	return p;
}

/* The server's RST for the client connection above, in either family. */
static struct craft_tcp server_rst(const char *server, const char *client)
{
	struct craft_tcp t;

	memset(&t, 0, sizeof t);
	t.src = address(server);
	t.dst = address(client);
	t.sport = 80;
	t.dport = 41234;
	t.seq = 0x5e6f7081;
	t.ack = 0x1a2b3c4e;
	t.flags = TCP_RST | TCP_ACK;
	return t;
}

/* ---- checksum ---- */

/* RFC 1071 section 3: these eight bytes sum to 0xddf2. */
START_TEST(test_checksum_rfc1071_example)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint32_t sum = checksum_add(0, bytes, sizeof bytes);

	ck_assert_uint_eq(checksum_finish(sum), 0x220d);
	ck_assert_uint_eq(checksum_finish(sum), (uint16_t)~0xddf2);
}
END_TEST

/* The widely quoted example header, whose checksum is 0xb861. */
START_TEST(test_checksum_known_ipv4_header)
{
	uint8_t header[] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
		0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};

	ck_assert_uint_eq(checksum_ipv4_header(header, sizeof header), 0xb861);
	ck_assert_uint_eq(checksum_ipv4_header(expected_ipv4_rst, 20), 0);
}
END_TEST

START_TEST(test_checksum_odd_length_and_chaining)
{
	static const uint8_t bytes[] = { 0x01, 0x02, 0x03 };
	uint32_t whole, chained;

	/* the odd byte is the high half of a zero-padded word */
	ck_assert_uint_eq(checksum_finish(checksum_add(0, bytes, 3)), (uint16_t)~0x0402);
	whole = checksum_add(0, ipv4_tcp_data, sizeof ipv4_tcp_data);
	chained = checksum_add(checksum_add(0, ipv4_tcp_data, 20), ipv4_tcp_data + 20,
	                       sizeof ipv4_tcp_data - 20);
	ck_assert_uint_eq(checksum_finish(whole), checksum_finish(chained));
}
END_TEST

/* 100000 words of 0xfefe overflow a plain 32-bit sum; the one's-complement
 * sum is their total modulo 0xffff. */
START_TEST(test_checksum_long_input)
{
	size_t len = 200000;
	uint8_t *bytes = malloc(len);
	uint64_t expected_sum = (uint64_t)0xfefe * (len / 2) % 0xffff;

	ck_assert_ptr_nonnull(bytes);
	memset(bytes, 0xfe, len);
	if (expected_sum == 0)
		expected_sum = 0xffff;
	ck_assert_uint_eq(checksum_finish(checksum_add(0, bytes, len)), (uint16_t)~expected_sum);
	free(bytes);
}
END_TEST

/* checksum_l4 over captured segments, their checksum field zeroed, must give
 * back the checksum the capture carries. */
START_TEST(test_checksum_l4_matches_captures)
{
	uint8_t segment[128];

	memcpy(segment, ipv4_tcp_syn + 20, 40);
	set_be16(segment + 16, 0);
	ck_assert_uint_eq(checksum_l4(AF_INET, ipv4_tcp_syn + 12, ipv4_tcp_syn + 16,
	                              IPPROTO_TCP, segment, 40), 0xe6ca);

	memcpy(segment, ipv6_tcp_data + 40, 38);
	set_be16(segment + 16, 0);
	ck_assert_uint_eq(checksum_l4(AF_INET6, ipv6_tcp_data + 8, ipv6_tcp_data + 24,
	                              IPPROTO_TCP, segment, 38), 0xacca);

	memcpy(segment, expected_ipv6_port_unreachable + 40, 86);
	set_be16(segment + 2, 0);
	ck_assert_uint_eq(checksum_l4(AF_INET6, expected_ipv6_port_unreachable + 8,
	                              expected_ipv6_port_unreachable + 24, IPPROTO_ICMPV6,
	                              segment, 86), 0x3ba7);
}
END_TEST

/* A UDP checksum of 0 means "no checksum", so a sum that comes out as 0 is
 * sent as 0xffff. The payload word is chosen to make it come out as 0. */
START_TEST(test_checksum_udp_zero_sent_as_all_ones)
{
	uint8_t src[4] = { 198, 18, 0, 2 }, dst[4] = { 198, 18, 0, 1 };
	uint8_t datagram[10] = { 0xcf, 0x08, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00 };
	uint16_t first = checksum_l4(AF_INET, src, dst, IPPROTO_UDP, datagram, sizeof datagram);

	/* adding the complement of the sum brings it to 0xffff, i.e. checksum 0 */
	set_be16(datagram + 8, first);
	ck_assert_uint_eq(checksum_l4(AF_INET, src, dst, IPPROTO_UDP, datagram, sizeof datagram),
	                  0xffff);
}
END_TEST

/* ---- TCP segments ---- */

START_TEST(test_ipv4_rst_matches_hand_built)
{
	struct craft_tcp t = server_rst("198.18.0.1", "198.18.0.2");
	size_t len = craft_tcp_segment(out, sizeof out, &t);

	ck_assert_uint_eq(len, sizeof expected_ipv4_rst);
	ck_assert_mem_eq(out, expected_ipv4_rst, sizeof expected_ipv4_rst);
}
END_TEST

START_TEST(test_ipv4_rst_round_trip)
{
	struct craft_tcp t = server_rst("198.18.0.1", "198.18.0.2");
	size_t len = craft_tcp_segment(out, sizeof out, &t);
	struct packet p = parse_ok(out, len);

	ck_assert_uint_eq(len, 40);
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert(packet_addr_equal(&p.src, &t.src));
	ck_assert(packet_addr_equal(&p.dst, &t.dst));
	ck_assert_uint_eq(p.sport, 80);
	ck_assert_uint_eq(p.dport, 41234);
	ck_assert_uint_eq(p.seq, 0x5e6f7081);
	ck_assert_uint_eq(p.ack, 0x1a2b3c4e);
	ck_assert_uint_eq(p.tcp_flags, TCP_RST | TCP_ACK);
	ck_assert_uint_eq(p.window, 0);
	ck_assert_uint_eq(p.len, 40);
	ck_assert_uint_eq(p.l4_hdr_len, 20);
	ck_assert_uint_eq(p.payload_len, 0);
	/* version 4, IHL 5, DF, TTL 0 became 64 */
	ck_assert_uint_eq(out[0], 0x45);
	ck_assert_uint_eq(read_be16(out + 6), 0x4000);
	ck_assert_uint_eq(p.ttl, 64);
	expect_ipv4_header_checksum(out);
	expect_transport_checksum(out);
}
END_TEST

START_TEST(test_ipv6_rst_matches_hand_built)
{
	struct craft_tcp t = server_rst("2001:db8:c::1", "2001:db8:c::2");
	size_t len = craft_tcp_segment(out, sizeof out, &t);

	ck_assert_uint_eq(len, sizeof expected_ipv6_rst);
	ck_assert_mem_eq(out, expected_ipv6_rst, sizeof expected_ipv6_rst);
}
END_TEST

START_TEST(test_ipv6_rst_round_trip)
{
	struct craft_tcp t = server_rst("2001:db8:c::1", "2001:db8:c::2");
	size_t len = craft_tcp_segment(out, sizeof out, &t);
	struct packet p = parse_ok(out, len);
	static const uint8_t no_class_no_label[4] = { 0x60, 0x00, 0x00, 0x00 };

	ck_assert_uint_eq(len, 60);
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_mem_eq(out, no_class_no_label, 4);
	ck_assert_uint_eq(read_be16(out + 4), 20);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.ttl, 64);
	ck_assert(packet_addr_equal(&p.src, &t.src));
	ck_assert(packet_addr_equal(&p.dst, &t.dst));
	ck_assert_uint_eq(p.sport, 80);
	ck_assert_uint_eq(p.dport, 41234);
	ck_assert_uint_eq(p.seq, 0x5e6f7081);
	ck_assert_uint_eq(p.ack, 0x1a2b3c4e);
	ck_assert_uint_eq(p.tcp_flags, TCP_RST | TCP_ACK);
	expect_transport_checksum(out);
}
END_TEST

/* "Connection refused": RST|ACK answering a parsed SYN, acknowledging it. */
START_TEST(test_rst_answering_syn)
{
	struct packet syn = parse_ok(ipv4_tcp_syn, sizeof ipv4_tcp_syn);
	struct craft_tcp t;
	struct packet p;
	size_t len;

	memset(&t, 0, sizeof t);
	t.src = syn.dst;
	t.dst = syn.src;
	t.sport = syn.dport;
	t.dport = syn.sport;
	t.ack = syn.seq + 1;
	t.flags = TCP_RST | TCP_ACK;
	len = craft_tcp_segment(out, sizeof out, &t);
	ck_assert_uint_eq(len, 40);
	p = parse_ok(out, len);
	ck_assert_uint_eq(p.seq, 0);
	ck_assert_uint_eq(p.ack, 0x1a2b3c4e);
	ck_assert_uint_eq(p.sport, 80);
	ck_assert_uint_eq(p.dport, 41234);
	ck_assert(packet_addr_equal(&p.dst, &syn.src));
	expect_ipv4_header_checksum(out);
	expect_transport_checksum(out);
}
END_TEST

START_TEST(test_fin_with_window_and_ttl)
{
	struct craft_tcp t = server_rst("2001:db8:c::1", "2001:db8:c::2");
	struct packet p;
	size_t len;

	t.flags = TCP_FIN | TCP_ACK;
	t.window = 502;
	t.ttl = 255;
	len = craft_tcp_segment(out, sizeof out, &t);
	p = parse_ok(out, len);
	ck_assert_uint_eq(p.tcp_flags, TCP_FIN | TCP_ACK);
	ck_assert_uint_eq(p.window, 502);
	ck_assert_uint_eq(p.ttl, 255);
	expect_transport_checksum(out);

	t = server_rst("198.18.0.1", "198.18.0.2");
	t.ttl = 7;
	len = craft_tcp_segment(out, sizeof out, &t);
	p = parse_ok(out, len);
	ck_assert_uint_eq(p.ttl, 7);
	expect_ipv4_header_checksum(out);
}
END_TEST

/* Too small a buffer gives 0 and is left untouched. */
START_TEST(test_tcp_buffer_too_small)
{
	struct craft_tcp v4 = server_rst("198.18.0.1", "198.18.0.2");
	struct craft_tcp v6 = server_rst("2001:db8:c::1", "2001:db8:c::2");
	uint8_t untouched[sizeof out];

	memset(out, 0xaa, sizeof out);
	memcpy(untouched, out, sizeof out);
	ck_assert_uint_eq(craft_tcp_segment(out, 0, &v4), 0);
	ck_assert_uint_eq(craft_tcp_segment(out, 39, &v4), 0);
	ck_assert_uint_eq(craft_tcp_segment(out, 59, &v6), 0);
	ck_assert_mem_eq(out, untouched, sizeof out);
	ck_assert_uint_eq(craft_tcp_segment(out, 40, &v4), 40);
	ck_assert_uint_eq(craft_tcp_segment(out, 60, &v6), 60);
	/* nothing written past the packet */
	ck_assert_uint_eq(out[60], 0xaa);
}
END_TEST

START_TEST(test_tcp_invalid_arguments)
{
	struct craft_tcp t = server_rst("198.18.0.1", "2001:db8:c::2");

	ck_assert_uint_eq(craft_tcp_segment(out, sizeof out, &t), 0);
	t = server_rst("198.18.0.1", "198.18.0.2");
	t.src.family = t.dst.family = AF_UNSPEC;
	ck_assert_uint_eq(craft_tcp_segment(out, sizeof out, &t), 0);
	ck_assert_uint_eq(craft_tcp_segment(out, sizeof out, NULL), 0);
}
END_TEST

/* ---- ICMP destination unreachable ---- */

static const struct {
	enum craft_unreach code;
	uint8_t icmpv4_code, icmpv6_code;
} unreach_codes[] = {
	{ UNREACH_NET, 0, 0 },     /* network / no route */
	{ UNREACH_HOST, 1, 3 },    /* host / address */
	{ UNREACH_PORT, 3, 4 },    /* port */
	{ UNREACH_ADMIN, 13, 1 },  /* administratively prohibited */
};
enum { UNREACH_CODE_COUNT = sizeof unreach_codes / sizeof unreach_codes[0] };

START_TEST(test_ipv4_port_unreachable_matches_hand_built)
{
	struct packet orig = parse_ok(ipv4_tcp_data, sizeof ipv4_tcp_data);
	struct packet_addr from = address("198.18.0.254");
	size_t len = craft_icmp_unreachable(out, sizeof out, &from, &orig, UNREACH_PORT);

	ck_assert_uint_eq(len, sizeof expected_ipv4_port_unreachable);
	ck_assert_mem_eq(out, expected_ipv4_port_unreachable, len);
}
END_TEST

START_TEST(test_ipv4_unreachable_codes)
{
	struct packet orig = parse_ok(ipv4_tcp_data, sizeof ipv4_tcp_data);
	struct packet_addr from = address("198.18.0.254");
	static const uint8_t unused[4] = { 0 };
	size_t len = craft_icmp_unreachable(out, sizeof out, &from, &orig, unreach_codes[_i].code);
	struct packet p = parse_ok(out, len);

	/* IP header, ICMP header, the original IP header and 8 bytes */
	ck_assert_uint_eq(len, 20 + 8 + 20 + 8);
	ck_assert_uint_eq(p.proto, IPPROTO_ICMP);
	ck_assert_uint_eq(p.icmp_type, 3);
	ck_assert_uint_eq(p.icmp_code, unreach_codes[_i].icmpv4_code);
	ck_assert(packet_addr_equal(&p.src, &from));
	ck_assert(packet_addr_equal(&p.dst, &orig.src));
	ck_assert_uint_eq(p.len, len);
	ck_assert_mem_eq(out + 24, unused, 4);
	ck_assert_mem_eq(out + 28, ipv4_tcp_data, 28);
	expect_ipv4_header_checksum(out);
	expect_transport_checksum(out);
}
END_TEST

/* IHL 6: the quote is the whole 24-byte header and 8 bytes after it. */
START_TEST(test_ipv4_unreachable_quotes_ip_options)
{
	static const uint8_t options[] = { 0x01, 0x01, 0x01, 0x00 };
	struct packet_addr from = address("198.18.0.254");
	struct packet orig;
	size_t len;

	memcpy(original, ipv4_tcp_data, 20);
	memcpy(original + 20, options, sizeof options);
	memcpy(original + 24, ipv4_tcp_data + 20, sizeof ipv4_tcp_data - 20);
	original[0] = 0x46;
	set_be16(original + 2, sizeof ipv4_tcp_data + 4);
	orig = parse_ok(original, sizeof ipv4_tcp_data + 4);
	len = craft_icmp_unreachable(out, sizeof out, &from, &orig, UNREACH_HOST);
	ck_assert_uint_eq(len, 20 + 8 + 24 + 8);
	ck_assert_mem_eq(out + 28, original, 32);
	expect_ipv4_header_checksum(out);
	expect_transport_checksum(out);
}
END_TEST

/* A copy holding less than the IP header and 8 bytes (here an unknown
 * protocol, 2 bytes after the header) is quoted as far as it goes. */
START_TEST(test_ipv4_unreachable_short_copy)
{
	struct packet_addr from = address("198.18.0.254");
	struct packet orig;
	size_t len;

	memcpy(original, ipv4_tcp_data, sizeof ipv4_tcp_data);
	original[9] = 47;
	orig = parse_ok(original, 22);
	len = craft_icmp_unreachable(out, sizeof out, &from, &orig, UNREACH_ADMIN);
	ck_assert_uint_eq(len, 20 + 8 + 22);
	ck_assert_mem_eq(out + 28, original, 22);
	expect_transport_checksum(out);
}
END_TEST

START_TEST(test_ipv6_port_unreachable_matches_hand_built)
{
	struct packet orig = parse_ok(ipv6_tcp_data, sizeof ipv6_tcp_data);
	struct packet_addr from = address("2001:db8:c::fe");
	size_t len = craft_icmp_unreachable(out, sizeof out, &from, &orig, UNREACH_PORT);

	ck_assert_uint_eq(len, sizeof expected_ipv6_port_unreachable);
	ck_assert_mem_eq(out, expected_ipv6_port_unreachable, len);
}
END_TEST

START_TEST(test_ipv6_unreachable_codes)
{
	struct packet orig = parse_ok(ipv6_tcp_data, sizeof ipv6_tcp_data);
	struct packet_addr from = address("2001:db8:c::fe");
	size_t len = craft_icmp_unreachable(out, sizeof out, &from, &orig, unreach_codes[_i].code);
	struct packet p = parse_ok(out, len);
	static const uint8_t no_class_no_label[4] = { 0x60, 0x00, 0x00, 0x00 };

	ck_assert_uint_eq(len, 40 + 8 + sizeof ipv6_tcp_data);
	ck_assert_mem_eq(out, no_class_no_label, 4);
	ck_assert_uint_eq(p.proto, IPPROTO_ICMPV6);
	ck_assert_uint_eq(p.icmp_type, 1);
	ck_assert_uint_eq(p.icmp_code, unreach_codes[_i].icmpv6_code);
	ck_assert_uint_eq(p.ttl, 64);
	ck_assert(packet_addr_equal(&p.src, &from));
	ck_assert(packet_addr_equal(&p.dst, &orig.src));
	ck_assert_uint_eq(p.len, len);
	ck_assert_mem_eq(out + 48, ipv6_tcp_data, sizeof ipv6_tcp_data);
	expect_transport_checksum(out);
}
END_TEST

/* A full-size 1500-byte original is cut so the error fits in 1280 bytes. */
START_TEST(test_ipv6_unreachable_fits_minimum_mtu)
{
	struct packet_addr from = address("2001:db8:c::fe");
	struct packet orig;
	size_t i, len;

	memcpy(original, ipv6_tcp_data, 60);
	set_be16(original + 4, 1460);
	for (i = 60; i < 1500; i++)
		original[i] = (uint8_t)i;
	orig = parse_ok(original, 1500);
	len = craft_icmp_unreachable(out, sizeof out, &from, &orig, UNREACH_ADMIN);
	ck_assert_uint_eq(len, 1280);
	ck_assert_uint_eq(read_be16(out + 4), 1240);
	ck_assert_mem_eq(out + 48, original, 1232);
	expect_transport_checksum(out);
}
END_TEST

/* A header-only copy of that packet: only what NFQUEUE handed over is quoted. */
START_TEST(test_ipv6_unreachable_header_only_copy)
{
	struct packet_addr from = address("2001:db8:c::fe");
	struct packet orig;
	size_t len;

	memcpy(original, ipv6_tcp_data, 60);
	set_be16(original + 4, 1460);
	orig = parse_ok(original, 60);
	len = craft_icmp_unreachable(out, sizeof out, &from, &orig, UNREACH_NET);
	ck_assert_uint_eq(len, 40 + 8 + 60);
	ck_assert_mem_eq(out + 48, original, 60);
	expect_transport_checksum(out);
}
END_TEST

START_TEST(test_icmp_buffer_too_small)
{
	struct packet orig4 = parse_ok(ipv4_tcp_data, sizeof ipv4_tcp_data);
	struct packet orig6 = parse_ok(ipv6_tcp_data, sizeof ipv6_tcp_data);
	struct packet_addr from4 = address("198.18.0.254");
	struct packet_addr from6 = address("2001:db8:c::fe");
	uint8_t untouched[sizeof out];

	memset(out, 0xaa, sizeof out);
	memcpy(untouched, out, sizeof out);
	ck_assert_uint_eq(craft_icmp_unreachable(out, 55, &from4, &orig4, UNREACH_PORT), 0);
	ck_assert_uint_eq(craft_icmp_unreachable(out, 125, &from6, &orig6, UNREACH_PORT), 0);
	ck_assert_uint_eq(craft_icmp_unreachable(out, 0, &from6, &orig6, UNREACH_PORT), 0);
	ck_assert_mem_eq(out, untouched, sizeof out);
	ck_assert_uint_eq(craft_icmp_unreachable(out, 56, &from4, &orig4, UNREACH_PORT), 56);
	ck_assert_uint_eq(craft_icmp_unreachable(out, 126, &from6, &orig6, UNREACH_PORT), 126);
	ck_assert_uint_eq(out[126], 0xaa);
}
END_TEST

START_TEST(test_icmp_invalid_arguments)
{
	struct packet orig = parse_ok(ipv4_tcp_data, sizeof ipv4_tcp_data);
	struct packet_addr from4 = address("198.18.0.254");
	struct packet_addr from6 = address("2001:db8:c::fe");

	ck_assert_uint_eq(craft_icmp_unreachable(out, sizeof out, &from6, &orig, UNREACH_PORT), 0);
	ck_assert_uint_eq(craft_icmp_unreachable(out, sizeof out, &from4, &orig,
	                                         (enum craft_unreach)42), 0);
	ck_assert_uint_eq(craft_icmp_unreachable(out, sizeof out, &from4, NULL, UNREACH_PORT), 0);
	ck_assert_uint_eq(craft_icmp_unreachable(out, sizeof out, NULL, &orig, UNREACH_PORT), 0);
}
END_TEST

static Suite *checksum_suite(void)
{
	Suite *s = suite_create("checksum");
	TCase *sums = tcase_create("sums");

	tcase_add_test(sums, test_checksum_rfc1071_example);
	tcase_add_test(sums, test_checksum_known_ipv4_header);
	tcase_add_test(sums, test_checksum_odd_length_and_chaining);
	tcase_add_test(sums, test_checksum_long_input);
	tcase_add_test(sums, test_checksum_l4_matches_captures);
	tcase_add_test(sums, test_checksum_udp_zero_sent_as_all_ones);
	suite_add_tcase(s, sums);
	return s;
}

static Suite *craft_suite(void)
{
	Suite *s = suite_create("craft");
	TCase *tcp = tcase_create("tcp");
	TCase *icmp = tcase_create("icmp");

	tcase_add_test(tcp, test_ipv4_rst_matches_hand_built);
	tcase_add_test(tcp, test_ipv4_rst_round_trip);
	tcase_add_test(tcp, test_ipv6_rst_matches_hand_built);
	tcase_add_test(tcp, test_ipv6_rst_round_trip);
	tcase_add_test(tcp, test_rst_answering_syn);
	tcase_add_test(tcp, test_fin_with_window_and_ttl);
	tcase_add_test(tcp, test_tcp_buffer_too_small);
	tcase_add_test(tcp, test_tcp_invalid_arguments);
	suite_add_tcase(s, tcp);

	tcase_add_test(icmp, test_ipv4_port_unreachable_matches_hand_built);
	tcase_add_loop_test(icmp, test_ipv4_unreachable_codes, 0, UNREACH_CODE_COUNT);
	tcase_add_test(icmp, test_ipv4_unreachable_quotes_ip_options);
	tcase_add_test(icmp, test_ipv4_unreachable_short_copy);
	tcase_add_test(icmp, test_ipv6_port_unreachable_matches_hand_built);
	tcase_add_loop_test(icmp, test_ipv6_unreachable_codes, 0, UNREACH_CODE_COUNT);
	tcase_add_test(icmp, test_ipv6_unreachable_fits_minimum_mtu);
	tcase_add_test(icmp, test_ipv6_unreachable_header_only_copy);
	tcase_add_test(icmp, test_icmp_buffer_too_small);
	tcase_add_test(icmp, test_icmp_invalid_arguments);
	suite_add_tcase(s, icmp);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(checksum_suite());
	int failed;

	srunner_add_suite(runner, craft_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
