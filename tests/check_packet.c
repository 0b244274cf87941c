/* check_packet.c — unit tests for sim/packet.c: packet_parse on hand-built
 * IPv4 and IPv6 packets (TCP, UDP, ICMP, extension headers, fragments),
 * truncated copies as NFQUEUE hands them over, malformed input, and the
 * address helpers.
 *
 * The packets are written out byte by byte with the values a capture would
 * show, checksums included (computed outside this program), so the expected
 * fields below are read off the bytes, not produced by the code under test. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/packet.h"

/* 198.18.0.2:41234 -> 198.18.0.1:80 SYN, seq 0x1a2b3c4d, window 64240,
 * options MSS 1460, SACK permitted, timestamps, NOP, window scale 7. */
static const uint8_t ipv4_tcp_syn[] = {
	/* IPv4: IHL 5, total length 60, id 0x1c46, DF, TTL 64, TCP, checksum 0x924e */
	0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x92, 0x4e,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	/* TCP: ports, seq, ack 0, data offset 10, SYN, window, checksum 0xe6ca */
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfa, 0xf0, 0xe6, 0xca, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* 198.18.0.2:41234 -> 198.18.0.1:80 PSH|ACK carrying "GET / HTTP/1.1\r\n\r\n",
 * seq 0x1a2b3c4e, ack 0x5e6f7081, window 502, options NOP NOP timestamps. */
static const uint8_t ipv4_tcp_data[] = {
	/* IPv4: total length 70, id 0x1c47, DF, TTL 64, TCP, checksum 0x9243 */
	0x45, 0x00, 0x00, 0x46, 0x1c, 0x47, 0x40, 0x00, 0x40, 0x06, 0x92, 0x43,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	/* TCP: data offset 8, PSH|ACK, checksum 0x4e95 */
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e, 0x5e, 0x6f, 0x70, 0x81,
	0x80, 0x18, 0x01, 0xf6, 0x4e, 0x95, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x6c, 0x00, 0x0f, 0x12, 0x06,
	/* payload, 18 bytes */
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* 198.18.0.1:80 -> 198.18.0.2:41234 RST|ACK, seq 0x5e6f7081, ack 0x1a2b3c4e. */
static const uint8_t ipv4_tcp_rst[] = {
	/* IPv4: total length 40, id 0, DF, TTL 64, TCP, checksum 0xaea8 */
	0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xae, 0xa8,
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
	/* TCP: data offset 5, RST|ACK, window 0, checksum 0x5cdc */
	0x00, 0x50, 0xa1, 0x12, 0x5e, 0x6f, 0x70, 0x81, 0x1a, 0x2b, 0x3c, 0x4e,
	0x50, 0x14, 0x00, 0x00, 0x5c, 0xdc, 0x00, 0x00,
};

/* 198.18.0.2:53000 -> 198.18.0.1:53, a DNS query for example.com A. */
static const uint8_t ipv4_udp_dns[] = {
	/* IPv4: total length 57, id 0xbeef, DF, TTL 64, UDP, checksum 0xef9c */
	0x45, 0x00, 0x00, 0x39, 0xbe, 0xef, 0x40, 0x00, 0x40, 0x11, 0xef, 0x9c,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	/* UDP: length 37, checksum 0x2903 */
	0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0x29, 0x03,
	0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d,
	0x00, 0x00, 0x01, 0x00, 0x01,
};

/* 198.18.0.2 -> 198.18.0.1 ICMP echo request, id 0x1234, sequence 1, "pingdata". */
static const uint8_t ipv4_icmp_echo[] = {
	/* IPv4: total length 36, id 0x0101, DF, TTL 64, ICMP, checksum 0xadb0 */
	0x45, 0x00, 0x00, 0x24, 0x01, 0x01, 0x40, 0x00, 0x40, 0x01, 0xad, 0xb0,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	/* ICMP: type 8, code 0, checksum 0x2e37 */
	0x08, 0x00, 0x2e, 0x37, 0x12, 0x34, 0x00, 0x01,
	0x70, 0x69, 0x6e, 0x67, 0x64, 0x61, 0x74, 0x61,
};

/* A UDP datagram's second fragment: fragment offset 185 (1480 bytes), so
 * what follows the IP header is data, not a UDP header. */
static const uint8_t ipv4_fragment_later[] = {
	/* IPv4: total length 36, id 0x2222, offset 185, TTL 64, UDP, checksum 0xcbc6 */
	0x45, 0x00, 0x00, 0x24, 0x22, 0x22, 0x00, 0xb9, 0x40, 0x11, 0xcb, 0xc6,
	0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* IPv6 addresses used below: 2001:db8:c::2 is the client, 2001:db8:c::1 the server. */
#define IPV6_CLIENT 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c, 0x00, 0x00, \
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02
#define IPV6_SERVER 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c, 0x00, 0x00, \
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01

/* [2001:db8:c::2]:41234 -> [2001:db8:c::1]:80 SYN, flow label 0x12345,
 * window 64800, the same options as the IPv4 SYN. */
static const uint8_t ipv6_tcp_syn[] = {
	/* IPv6: flow label 0x12345, payload length 40, TCP, hop limit 64 */
	0x60, 0x01, 0x23, 0x45, 0x00, 0x28, 0x06, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* TCP: data offset 10, SYN, checksum 0x1536 */
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfd, 0x20, 0x15, 0x36, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* [2001:db8:c::2]:41234 -> [2001:db8:c::1]:80 PSH|ACK "GET / HTTP/1.1\r\n\r\n". */
static const uint8_t ipv6_tcp_data[] = {
	/* IPv6: payload length 38, TCP, hop limit 64 */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x26, 0x06, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* TCP: data offset 5, PSH|ACK, window 502, checksum 0xacca */
	0xa1, 0x12, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e, 0x5e, 0x6f, 0x70, 0x81,
	0x50, 0x18, 0x01, 0xf6, 0xac, 0xca, 0x00, 0x00,
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* [2001:db8:c::1]:80 -> [2001:db8:c::2]:41234 RST|ACK. */
static const uint8_t ipv6_tcp_rst[] = {
	/* IPv6: payload length 20, TCP, hop limit 64 */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40,
	IPV6_SERVER, IPV6_CLIENT,
	/* TCP: seq 0x5e6f7081, ack 0x1a2b3c4e, RST|ACK, checksum 0x8d77 */
	0x00, 0x50, 0xa1, 0x12, 0x5e, 0x6f, 0x70, 0x81, 0x1a, 0x2b, 0x3c, 0x4e,
	0x50, 0x14, 0x00, 0x00, 0x8d, 0x77, 0x00, 0x00,
};

/* [2001:db8:c::2]:53001 -> [2001:db8:c::1]:53, 4 bytes of payload. */
static const uint8_t ipv6_udp[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x11, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* UDP: length 12, checksum 0xc1d6 */
	0xcf, 0x09, 0x00, 0x35, 0x00, 0x0c, 0xc1, 0xd6,
	0x12, 0x34, 0x01, 0x00,
};

/* 2001:db8:c::2 -> 2001:db8:c::1 ICMPv6 echo request, id 0x4321, sequence 7, "ping". */
static const uint8_t ipv6_icmp_echo[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x3a, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* ICMPv6: type 128, code 0, checksum 0x0233 */
	0x80, 0x00, 0x02, 0x33, 0x43, 0x21, 0x00, 0x07,
	0x70, 0x69, 0x6e, 0x67,
};

/* A SYN to port 443 behind a hop-by-hop header (router alert, PadN) and a
 * destination options header (PadN). */
static const uint8_t ipv6_extension_syn[] = {
	/* IPv6: payload length 36, next header hop-by-hop */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* hop-by-hop: next destination options, length 0 (8 bytes) */
	0x3c, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
	/* destination options: next TCP, length 0 (8 bytes) */
	0x06, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
	/* TCP: 41234 -> 443, seq 0x01020304, SYN, window 65535, checksum 0xad82 */
	0xa1, 0x12, 0x01, 0xbb, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0xff, 0xff, 0xad, 0x82, 0x00, 0x00,
};

/* A UDP datagram behind a 24-byte routing header (length field 2). */
static const uint8_t ipv6_routing_udp[] = {
	/* IPv6: payload length 36, next header routing */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x2b, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* routing: next UDP, length 2, type 4, segments left 0, one address */
	0x11, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
	IPV6_SERVER,
	/* UDP: 53002 -> 53, length 12, checksum 0x5d70 */
	0xcf, 0x0a, 0x00, 0x35, 0x00, 0x0c, 0x5d, 0x70,
	0xaa, 0xbb, 0xcc, 0xdd,
};

/* The first fragment of a UDP datagram: offset 0, more fragments set. */
static const uint8_t ipv6_fragment_first[] = {
	/* IPv6: payload length 24, next header fragment */
	0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x2c, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* fragment: next UDP, offset 0, M 1, id 0xdeadbeef */
	0x11, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef,
	/* UDP: 53003 -> 53, length 1000 (the whole datagram) */
	0xcf, 0x0b, 0x00, 0x35, 0x03, 0xe8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* A later fragment of that datagram: offset 185, no UDP header. */
static const uint8_t ipv6_fragment_later[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x2c, 0x40,
	IPV6_CLIENT, IPV6_SERVER,
	/* fragment: next UDP, offset 185, M 0, id 0xdeadbeef */
	0x11, 0x00, 0x05, 0xc8, 0xde, 0xad, 0xbe, 0xef,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* Every well-formed sample with the length of its headers: the bytes the
 * parser needs, and so the shortest copy it must accept. */
static const struct sample {
	const char *name;
	const uint8_t *data;
	size_t size;
	size_t headers_len;
} samples[] = {
	{ "ipv4_tcp_syn", ipv4_tcp_syn, sizeof ipv4_tcp_syn, 60 },
	{ "ipv4_tcp_data", ipv4_tcp_data, sizeof ipv4_tcp_data, 52 },
	{ "ipv4_tcp_rst", ipv4_tcp_rst, sizeof ipv4_tcp_rst, 40 },
	{ "ipv4_udp_dns", ipv4_udp_dns, sizeof ipv4_udp_dns, 28 },
	{ "ipv4_icmp_echo", ipv4_icmp_echo, sizeof ipv4_icmp_echo, 28 },
	{ "ipv4_fragment_later", ipv4_fragment_later, sizeof ipv4_fragment_later, 20 },
	{ "ipv6_tcp_syn", ipv6_tcp_syn, sizeof ipv6_tcp_syn, 80 },
	{ "ipv6_tcp_data", ipv6_tcp_data, sizeof ipv6_tcp_data, 60 },
	{ "ipv6_tcp_rst", ipv6_tcp_rst, sizeof ipv6_tcp_rst, 60 },
	{ "ipv6_udp", ipv6_udp, sizeof ipv6_udp, 48 },
	{ "ipv6_icmp_echo", ipv6_icmp_echo, sizeof ipv6_icmp_echo, 48 },
	{ "ipv6_extension_syn", ipv6_extension_syn, sizeof ipv6_extension_syn, 76 },
	{ "ipv6_routing_udp", ipv6_routing_udp, sizeof ipv6_routing_udp, 72 },
	{ "ipv6_fragment_first", ipv6_fragment_first, sizeof ipv6_fragment_first, 56 },
	{ "ipv6_fragment_later", ipv6_fragment_later, sizeof ipv6_fragment_later, 48 },
};
enum { SAMPLE_COUNT = sizeof samples / sizeof samples[0] };

/* A mutable copy, for the tests that rewrite a field; big enough for any sample. */
static uint8_t scratch[256];

static struct packet_addr address(const char *text)
{
	struct packet_addr a;

	memset(&a, 0, sizeof a);
	a.family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(a.family, text, a.bytes), 1);
	return a;
}

static void set_be16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

static void copy_to_scratch(const uint8_t *data, size_t size)
{
	ck_assert_uint_le(size, sizeof scratch);
	memcpy(scratch, data, size);
}

static struct packet parse_ok(const uint8_t *data, size_t caplen)
{
	struct packet p;
	const char *error = NULL;
	int status = packet_parse(&p, data, caplen, &error);

	ck_assert_msg(status == 0, "packet_parse failed: %s", error != NULL ? error : "(no message)");
	return p;
}

/* The message must name what was wrong, so it is matched on a word of it. */
static void expect_malformed(const uint8_t *data, size_t caplen, const char *word)
{
	struct packet p;
	const char *error = NULL;

	ck_assert_int_eq(packet_parse(&p, data, caplen, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, word) != NULL, "error \"%s\" does not mention \"%s\"", error, word);
}

static void expect_addresses(const struct packet *p, const char *src, const char *dst)
{
	struct packet_addr expected_src = address(src), expected_dst = address(dst);

	ck_assert(packet_addr_equal(&p->src, &expected_src));
	ck_assert(packet_addr_equal(&p->dst, &expected_dst));
}

/* ---- the samples themselves ---- */

/* One's-complement sum of big-endian words, written here rather than taken
 * from sim/checksum.c so that a typo in a sample cannot hide behind a bug
 * shared with the code under test. */
static uint32_t ones_complement_sum(uint32_t sum, const uint8_t *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sum += i % 2 == 0 ? (uint32_t)bytes[i] << 8 : bytes[i];
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* A capture's checksums all verify to 0xffff (complemented: 0), so a
 * sample that does not was mistyped, and its expected fields are suspect. */
START_TEST(test_sample_checksums_verify)
{
	const struct sample *s = &samples[_i];
	struct packet p = parse_ok(s->data, s->size);
	uint8_t pseudo[40];
	size_t pseudo_len, l4_len = p.len - p.l4_off;
	uint32_t sum;

	ck_assert_uint_eq(p.len, s->size);
	if (p.family == AF_INET)
		ck_assert_uint_eq(ones_complement_sum(0, s->data, p.l4_off), 0xffff);
	/* A fragment's transport checksum covers the reassembled datagram. */
	if (p.l4_hdr_len == 0 || s->data == ipv6_fragment_first)
		return;
	memset(pseudo, 0, sizeof pseudo);
	if (p.family == AF_INET) {
		memcpy(pseudo, p.src.bytes, 4);
		memcpy(pseudo + 4, p.dst.bytes, 4);
		pseudo[9] = p.proto;
		set_be16(pseudo + 10, (uint16_t)l4_len);
		pseudo_len = 12;
	} else {
		memcpy(pseudo, p.src.bytes, 16);
		memcpy(pseudo + 16, p.dst.bytes, 16);
		set_be16(pseudo + 34, (uint16_t)l4_len);
		pseudo[39] = p.proto;
		pseudo_len = 40;
	}
	/* ICMPv4 alone leaves the pseudo-header out */
	sum = p.proto == IPPROTO_ICMP ? 0 : ones_complement_sum(0, pseudo, pseudo_len);
	sum = ones_complement_sum(sum, s->data + p.l4_off, l4_len);
	ck_assert_msg(sum == 0xffff, "%s: transport checksum sums to 0x%04x", s->name, sum);
}
END_TEST

/* ---- IPv4 ---- */

START_TEST(test_ipv4_tcp_syn)
{
	struct packet p = parse_ok(ipv4_tcp_syn, sizeof ipv4_tcp_syn);

	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_ptr_eq(p.data, ipv4_tcp_syn);
	ck_assert_uint_eq(p.caplen, 60);
	ck_assert_uint_eq(p.len, 60);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.ttl, 64);
	expect_addresses(&p, "198.18.0.2", "198.18.0.1");
	ck_assert_uint_eq(p.l4_off, 20);
	ck_assert_uint_eq(p.sport, 41234);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.seq, 0x1a2b3c4d);
	ck_assert_uint_eq(p.ack, 0);
	ck_assert_uint_eq(p.tcp_flags, TCP_SYN);
	ck_assert_uint_eq(p.window, 64240);
	ck_assert_uint_eq(p.l4_hdr_len, 40);
	ck_assert_uint_eq(p.payload_off, 60);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

START_TEST(test_ipv4_tcp_data)
{
	struct packet p = parse_ok(ipv4_tcp_data, sizeof ipv4_tcp_data);

	ck_assert_uint_eq(p.len, 70);
	ck_assert_uint_eq(p.seq, 0x1a2b3c4e);
	ck_assert_uint_eq(p.ack, 0x5e6f7081);
	ck_assert_uint_eq(p.tcp_flags, TCP_PSH | TCP_ACK);
	ck_assert_uint_eq(p.window, 502);
	ck_assert_uint_eq(p.l4_hdr_len, 32);
	ck_assert_uint_eq(p.payload_off, 52);
	ck_assert_uint_eq(p.payload_len, 18);
	ck_assert_mem_eq(p.data + p.payload_off, "GET / HTTP/1.1\r\n\r\n", 18);
}
END_TEST

START_TEST(test_ipv4_tcp_rst)
{
	struct packet p = parse_ok(ipv4_tcp_rst, sizeof ipv4_tcp_rst);

	expect_addresses(&p, "198.18.0.1", "198.18.0.2");
	ck_assert_uint_eq(p.sport, 80);
	ck_assert_uint_eq(p.dport, 41234);
	ck_assert_uint_eq(p.seq, 0x5e6f7081);
	ck_assert_uint_eq(p.ack, 0x1a2b3c4e);
	ck_assert_uint_eq(p.tcp_flags, TCP_RST | TCP_ACK);
	ck_assert_uint_eq(p.window, 0);
	ck_assert_uint_eq(p.l4_hdr_len, 20);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

/* ECN-setup SYNs carry ECE|CWR; they must still read as a plain SYN. */
START_TEST(test_ipv4_tcp_ecn_bits_ignored)
{
	struct packet p;

	copy_to_scratch(ipv4_tcp_syn, sizeof ipv4_tcp_syn);
	scratch[20 + 13] = 0xc2;
	p = parse_ok(scratch, sizeof ipv4_tcp_syn);
	ck_assert_uint_eq(p.tcp_flags, TCP_SYN);
}
END_TEST

START_TEST(test_ipv4_udp)
{
	struct packet p = parse_ok(ipv4_udp_dns, sizeof ipv4_udp_dns);

	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.len, 57);
	expect_addresses(&p, "198.18.0.2", "198.18.0.1");
	ck_assert_uint_eq(p.sport, 53000);
	ck_assert_uint_eq(p.dport, 53);
	ck_assert_uint_eq(p.l4_hdr_len, 8);
	ck_assert_uint_eq(p.payload_off, 28);
	ck_assert_uint_eq(p.payload_len, 29);
	ck_assert_uint_eq(p.seq, 0);
	ck_assert_uint_eq(p.tcp_flags, 0);
}
END_TEST

START_TEST(test_ipv4_icmp_echo)
{
	struct packet p = parse_ok(ipv4_icmp_echo, sizeof ipv4_icmp_echo);

	ck_assert_uint_eq(p.proto, IPPROTO_ICMP);
	ck_assert_uint_eq(p.icmp_type, 8);
	ck_assert_uint_eq(p.icmp_code, 0);
	ck_assert_uint_eq(p.sport, 0);
	ck_assert_uint_eq(p.dport, 0);
	ck_assert_uint_eq(p.payload_off, 28);
	ck_assert_uint_eq(p.payload_len, 8);
}
END_TEST

START_TEST(test_ipv4_fragment_has_no_transport_header)
{
	struct packet p = parse_ok(ipv4_fragment_later, sizeof ipv4_fragment_later);

	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.l4_off, 20);
	ck_assert_uint_eq(p.sport, 0);
	ck_assert_uint_eq(p.dport, 0);
	ck_assert_uint_eq(p.l4_hdr_len, 0);
	ck_assert_uint_eq(p.payload_off, 20);
	ck_assert_uint_eq(p.payload_len, 16);
}
END_TEST

/* The first fragment (offset 0, more fragments set) does carry the header. */
START_TEST(test_ipv4_first_fragment_has_transport_header)
{
	struct packet p;

	copy_to_scratch(ipv4_udp_dns, sizeof ipv4_udp_dns);
	scratch[6] = 0x20;
	p = parse_ok(scratch, sizeof ipv4_udp_dns);
	ck_assert_uint_eq(p.sport, 53000);
	ck_assert_uint_eq(p.dport, 53);
}
END_TEST

/* IHL 6: one word of options (NOP NOP NOP EOL) before the TCP header. */
START_TEST(test_ipv4_options)
{
	struct packet p;
	static const uint8_t options[] = { 0x01, 0x01, 0x01, 0x00 };

	memcpy(scratch, ipv4_tcp_rst, 20);
	memcpy(scratch + 20, options, sizeof options);
	memcpy(scratch + 24, ipv4_tcp_rst + 20, 20);
	scratch[0] = 0x46;
	set_be16(scratch + 2, 44);
	p = parse_ok(scratch, 44);
	ck_assert_uint_eq(p.l4_off, 24);
	ck_assert_uint_eq(p.sport, 80);
	ck_assert_uint_eq(p.seq, 0x5e6f7081);
	ck_assert_uint_eq(p.payload_off, 44);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

/* ---- IPv6 ---- */

START_TEST(test_ipv6_tcp_syn)
{
	struct packet p = parse_ok(ipv6_tcp_syn, sizeof ipv6_tcp_syn);

	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_uint_eq(p.len, 80);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.ttl, 64);
	expect_addresses(&p, "2001:db8:c::2", "2001:db8:c::1");
	ck_assert_uint_eq(p.l4_off, 40);
	ck_assert_uint_eq(p.sport, 41234);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.seq, 0x1a2b3c4d);
	ck_assert_uint_eq(p.tcp_flags, TCP_SYN);
	ck_assert_uint_eq(p.window, 64800);
	ck_assert_uint_eq(p.l4_hdr_len, 40);
	ck_assert_uint_eq(p.payload_off, 80);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

START_TEST(test_ipv6_tcp_data)
{
	struct packet p = parse_ok(ipv6_tcp_data, sizeof ipv6_tcp_data);

	ck_assert_uint_eq(p.len, 78);
	ck_assert_uint_eq(p.seq, 0x1a2b3c4e);
	ck_assert_uint_eq(p.ack, 0x5e6f7081);
	ck_assert_uint_eq(p.tcp_flags, TCP_PSH | TCP_ACK);
	ck_assert_uint_eq(p.payload_off, 60);
	ck_assert_uint_eq(p.payload_len, 18);
	ck_assert_mem_eq(p.data + p.payload_off, "GET / HTTP/1.1\r\n\r\n", 18);
}
END_TEST

START_TEST(test_ipv6_tcp_rst)
{
	struct packet p = parse_ok(ipv6_tcp_rst, sizeof ipv6_tcp_rst);

	expect_addresses(&p, "2001:db8:c::1", "2001:db8:c::2");
	ck_assert_uint_eq(p.sport, 80);
	ck_assert_uint_eq(p.dport, 41234);
	ck_assert_uint_eq(p.seq, 0x5e6f7081);
	ck_assert_uint_eq(p.ack, 0x1a2b3c4e);
	ck_assert_uint_eq(p.tcp_flags, TCP_RST | TCP_ACK);
	ck_assert_uint_eq(p.len, 60);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

START_TEST(test_ipv6_udp)
{
	struct packet p = parse_ok(ipv6_udp, sizeof ipv6_udp);

	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.sport, 53001);
	ck_assert_uint_eq(p.dport, 53);
	ck_assert_uint_eq(p.l4_hdr_len, 8);
	ck_assert_uint_eq(p.payload_off, 48);
	ck_assert_uint_eq(p.payload_len, 4);
}
END_TEST

START_TEST(test_ipv6_icmp_echo)
{
	struct packet p = parse_ok(ipv6_icmp_echo, sizeof ipv6_icmp_echo);

	ck_assert_uint_eq(p.proto, IPPROTO_ICMPV6);
	ck_assert_uint_eq(p.icmp_type, 128);
	ck_assert_uint_eq(p.icmp_code, 0);
	ck_assert_uint_eq(p.payload_off, 48);
	ck_assert_uint_eq(p.payload_len, 4);
}
END_TEST

START_TEST(test_ipv6_hop_by_hop_and_destination_options)
{
	struct packet p = parse_ok(ipv6_extension_syn, sizeof ipv6_extension_syn);

	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	ck_assert_uint_eq(p.l4_off, 56);
	ck_assert_uint_eq(p.sport, 41234);
	ck_assert_uint_eq(p.dport, 443);
	ck_assert_uint_eq(p.seq, 0x01020304);
	ck_assert_uint_eq(p.tcp_flags, TCP_SYN);
	ck_assert_uint_eq(p.window, 65535);
	ck_assert_uint_eq(p.len, 76);
	ck_assert_uint_eq(p.payload_off, 76);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

START_TEST(test_ipv6_routing_header)
{
	struct packet p = parse_ok(ipv6_routing_udp, sizeof ipv6_routing_udp);

	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.l4_off, 64);
	ck_assert_uint_eq(p.sport, 53002);
	ck_assert_uint_eq(p.dport, 53);
	ck_assert_uint_eq(p.payload_len, 4);
}
END_TEST

START_TEST(test_ipv6_first_fragment_has_transport_header)
{
	struct packet p = parse_ok(ipv6_fragment_first, sizeof ipv6_fragment_first);

	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.l4_off, 48);
	ck_assert_uint_eq(p.sport, 53003);
	ck_assert_uint_eq(p.dport, 53);
	ck_assert_uint_eq(p.payload_off, 56);
	ck_assert_uint_eq(p.payload_len, 8);
}
END_TEST

START_TEST(test_ipv6_later_fragment_has_no_transport_header)
{
	struct packet p = parse_ok(ipv6_fragment_later, sizeof ipv6_fragment_later);

	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.l4_off, 48);
	ck_assert_uint_eq(p.sport, 0);
	ck_assert_uint_eq(p.dport, 0);
	ck_assert_uint_eq(p.l4_hdr_len, 0);
	ck_assert_uint_eq(p.payload_off, 48);
	ck_assert_uint_eq(p.payload_len, 16);
}
END_TEST

/* ---- truncated copies: lengths come from the IP header ---- */

/* NFQUEUE with a header-only copy range: a full-size segment of which only
 * the IP and TCP headers arrived. */
START_TEST(test_ipv4_header_only_copy)
{
	struct packet p;

	copy_to_scratch(ipv4_tcp_data, sizeof ipv4_tcp_data);
	set_be16(scratch + 2, 1500);
	p = parse_ok(scratch, 52);
	ck_assert_uint_eq(p.caplen, 52);
	ck_assert_uint_eq(p.len, 1500);
	ck_assert_uint_eq(p.seq, 0x1a2b3c4e);
	ck_assert_uint_eq(p.payload_off, 52);
	ck_assert_uint_eq(p.payload_len, 1448);
}
END_TEST

/* A GSO superpacket bigger than any MTU, cut to its headers. */
START_TEST(test_ipv6_superpacket_header_only_copy)
{
	struct packet p;

	copy_to_scratch(ipv6_tcp_data, sizeof ipv6_tcp_data);
	set_be16(scratch + 4, 9000);
	p = parse_ok(scratch, 60);
	ck_assert_uint_eq(p.len, 9040);
	ck_assert_uint_eq(p.payload_off, 60);
	ck_assert_uint_eq(p.payload_len, 8980);
}
END_TEST

/* Bytes after the IP packet (link-layer padding) are not payload. */
START_TEST(test_trailing_bytes_ignored)
{
	struct packet p;

	memset(scratch, 0xee, sizeof scratch);
	memcpy(scratch, ipv4_tcp_rst, sizeof ipv4_tcp_rst);
	p = parse_ok(scratch, sizeof ipv4_tcp_rst + 6);
	ck_assert_uint_eq(p.len, 40);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(test_empty)
{
	expect_malformed(ipv4_tcp_syn, 0, "empty");
	expect_malformed(NULL, 0, "empty");
}
END_TEST

START_TEST(test_ipv4_shorter_than_header)
{
	expect_malformed(ipv4_tcp_syn, 1, "truncated IPv4");
	expect_malformed(ipv4_tcp_syn, 19, "truncated IPv4");
}
END_TEST

START_TEST(test_bad_version)
{
	copy_to_scratch(ipv4_tcp_syn, sizeof ipv4_tcp_syn);
	scratch[0] = 0x55;
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "version");
	scratch[0] = 0x05;
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "version");
	copy_to_scratch(ipv6_tcp_syn, sizeof ipv6_tcp_syn);
	scratch[0] = 0x70;
	expect_malformed(scratch, sizeof ipv6_tcp_syn, "version");
}
END_TEST

START_TEST(test_ipv4_ihl_below_five)
{
	copy_to_scratch(ipv4_tcp_syn, sizeof ipv4_tcp_syn);
	scratch[0] = 0x44;
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "IHL");
	scratch[0] = 0x40;
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "IHL");
}
END_TEST

/* IHL 15 claims 60 bytes of header; only 40 are there. */
START_TEST(test_ipv4_ihl_past_caplen)
{
	copy_to_scratch(ipv4_tcp_rst, sizeof ipv4_tcp_rst);
	scratch[0] = 0x4f;
	expect_malformed(scratch, sizeof ipv4_tcp_rst, "truncated IPv4");
}
END_TEST

START_TEST(test_ipv4_total_length_below_header)
{
	copy_to_scratch(ipv4_tcp_syn, sizeof ipv4_tcp_syn);
	set_be16(scratch + 2, 16);
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "total length");
	set_be16(scratch + 2, 0);
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "total length");
}
END_TEST

/* The IP header fits in its length but the TCP header does not. */
START_TEST(test_ipv4_total_length_below_transport_header)
{
	copy_to_scratch(ipv4_tcp_rst, sizeof ipv4_tcp_rst);
	set_be16(scratch + 2, 30);
	expect_malformed(scratch, sizeof ipv4_tcp_rst, "length");
}
END_TEST

START_TEST(test_tcp_data_offset_below_five)
{
	copy_to_scratch(ipv4_tcp_syn, sizeof ipv4_tcp_syn);
	scratch[20 + 12] = 0x40;
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "data offset");
	scratch[20 + 12] = 0x00;
	expect_malformed(scratch, sizeof ipv4_tcp_syn, "data offset");
	copy_to_scratch(ipv6_tcp_syn, sizeof ipv6_tcp_syn);
	scratch[40 + 12] = 0x40;
	expect_malformed(scratch, sizeof ipv6_tcp_syn, "data offset");
}
END_TEST

START_TEST(test_transport_header_truncated)
{
	expect_malformed(ipv4_tcp_syn, 30, "truncated TCP");
	expect_malformed(ipv4_tcp_syn, 39, "truncated TCP");
	/* the fixed 20 bytes are there, the options are cut */
	expect_malformed(ipv4_tcp_syn, 50, "truncated TCP");
	expect_malformed(ipv6_tcp_syn, 79, "truncated TCP");
	expect_malformed(ipv4_udp_dns, 27, "truncated UDP");
	expect_malformed(ipv6_udp, 44, "truncated UDP");
	expect_malformed(ipv4_icmp_echo, 24, "truncated ICMP");
	expect_malformed(ipv6_icmp_echo, 41, "truncated ICMP");
}
END_TEST

START_TEST(test_ipv6_shorter_than_header)
{
	expect_malformed(ipv6_tcp_syn, 1, "truncated IPv6");
	expect_malformed(ipv6_tcp_syn, 39, "truncated IPv6");
}
END_TEST

START_TEST(test_ipv6_extension_header_truncated)
{
	/* not even the next-header and length bytes */
	expect_malformed(ipv6_extension_syn, 41, "extension header");
	/* the length byte says 8 bytes, only 6 are there */
	expect_malformed(ipv6_extension_syn, 46, "extension header");
	expect_malformed(ipv6_extension_syn, 50, "extension header");
	expect_malformed(ipv6_routing_udp, 60, "extension header");
	expect_malformed(ipv6_fragment_first, 47, "fragment header");
}
END_TEST

/* The extension headers reach past the 40 + payload length bytes. */
START_TEST(test_ipv6_payload_length_below_extension_headers)
{
	copy_to_scratch(ipv6_extension_syn, sizeof ipv6_extension_syn);
	set_be16(scratch + 4, 12);
	expect_malformed(scratch, sizeof ipv6_extension_syn, "payload length");
	copy_to_scratch(ipv6_tcp_rst, sizeof ipv6_tcp_rst);
	set_be16(scratch + 4, 0);
	expect_malformed(scratch, sizeof ipv6_tcp_rst, "length");
}
END_TEST

START_TEST(test_error_pointer_optional)
{
	struct packet p;

	ck_assert_int_eq(packet_parse(&p, ipv4_tcp_syn, 10, NULL), -1);
	ck_assert_int_eq(packet_parse(&p, ipv4_tcp_syn, sizeof ipv4_tcp_syn, NULL), 0);
}
END_TEST

/* ---- robustness: the parser must never read past caplen ---- */

/* Each copy lives in a heap block of exactly caplen bytes, so that a
 * sanitizer build reports any read beyond it. */
static int parse_exact_copy(struct packet *p, const uint8_t *data, size_t caplen)
{
	uint8_t *copy = malloc(caplen > 0 ? caplen : 1);
	const char *error = NULL;
	int status;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, data, caplen);
	status = packet_parse(p, copy, caplen, &error);
	if (status != 0)
		ck_assert_ptr_nonnull(error);
	free(copy);
	return status;
}

static void expect_consistent(const struct packet *p)
{
	ck_assert(p->family == AF_INET || p->family == AF_INET6);
	ck_assert_uint_le(p->l4_off + p->l4_hdr_len, p->caplen);
	ck_assert_uint_eq(p->payload_off, p->l4_off + p->l4_hdr_len);
	ck_assert_uint_le(p->payload_off, p->len);
	ck_assert_uint_eq(p->payload_off + p->payload_len, p->len);
}

/* Shorter than its headers, every copy is refused; from there on, every
 * copy parses to the same transport fields as the whole packet. */
START_TEST(test_every_prefix)
{
	const struct sample *s = &samples[_i];
	struct packet whole = parse_ok(s->data, s->size);
	struct packet p;
	size_t caplen;

	ck_assert_uint_eq(whole.payload_off, s->headers_len);
	for (caplen = 0; caplen <= s->size; caplen++) {
		int status = parse_exact_copy(&p, s->data, caplen);

		if (caplen < s->headers_len) {
			ck_assert_msg(status == -1, "%s: %zu of %zu bytes accepted",
			              s->name, caplen, s->headers_len);
			continue;
		}
		ck_assert_msg(status == 0, "%s: %zu bytes refused", s->name, caplen);
		expect_consistent(&p);
		ck_assert_uint_eq(p.len, whole.len);
		ck_assert_uint_eq(p.sport, whole.sport);
		ck_assert_uint_eq(p.dport, whole.dport);
		ck_assert_uint_eq(p.seq, whole.seq);
		ck_assert_uint_eq(p.payload_len, whole.payload_len);
	}
}
END_TEST

/* A fixed-seed xorshift, so a failure replays the same inputs. */
static uint32_t fuzz_state = 0x9e3779b9;

static uint32_t fuzz_next(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 17;
	fuzz_state ^= fuzz_state << 5;
	return fuzz_state;
}

/* Random bytes overwritten, at random cut lengths: whatever the result, a
 * parsed packet's offsets must stay within what it has and what it claims. */
START_TEST(test_random_corruption)
{
	const struct sample *s = &samples[_i];
	struct packet p;
	int round;

	for (round = 0; round < 4000; round++) {
		size_t caplen = fuzz_next() % (s->size + 1);
		int changes = 1 + (int)(fuzz_next() % 4);

		copy_to_scratch(s->data, s->size);
		while (changes-- > 0) {
			/* bias towards the headers, where the parser's decisions are */
			size_t at = fuzz_next() % (s->headers_len + 1);

			if (at >= s->size)
				at = s->size - 1;
			scratch[at] = (uint8_t)fuzz_next();
		}
		if (parse_exact_copy(&p, scratch, caplen) == 0)
			expect_consistent(&p);
	}
}
END_TEST

/* ---- addresses ---- */

START_TEST(test_format_ipv4)
{
	struct packet_addr a = address("198.18.0.2");
	char text[64];

	ck_assert_str_eq(packet_addr_format(&a, 41234, text, sizeof text), "198.18.0.2:41234");
	ck_assert_str_eq(packet_addr_format(&a, 0, text, sizeof text), "198.18.0.2");
	ck_assert_str_eq(packet_addr_format(&a, 65535, text, sizeof text), "198.18.0.2:65535");
}
END_TEST

START_TEST(test_format_ipv6)
{
	struct packet_addr a = address("2001:db8:c::2");
	char text[64];

	ck_assert_str_eq(packet_addr_format(&a, 80, text, sizeof text), "[2001:db8:c::2]:80");
	ck_assert_str_eq(packet_addr_format(&a, 0, text, sizeof text), "2001:db8:c::2");
}
END_TEST

START_TEST(test_format_from_parsed_packet)
{
	struct packet p = parse_ok(ipv6_tcp_syn, sizeof ipv6_tcp_syn);
	char text[64];

	ck_assert_str_eq(packet_addr_format(&p.src, p.sport, text, sizeof text),
	                 "[2001:db8:c::2]:41234");
	ck_assert_str_eq(packet_addr_format(&p.dst, p.dport, text, sizeof text),
	                 "[2001:db8:c::1]:80");
}
END_TEST

START_TEST(test_format_small_buffer_and_unknown_family)
{
	struct packet_addr a = address("198.18.0.2");
	char text[8];

	memset(text, 'x', sizeof text);
	ck_assert_str_eq(packet_addr_format(&a, 41234, text, sizeof text), "198.18.");
	a.family = AF_UNSPEC;
	ck_assert_str_eq(packet_addr_format(&a, 80, text, sizeof text), "?");
	/* size 0: nothing written */
	ck_assert_ptr_eq(packet_addr_format(&a, 80, text, 0), text);
	ck_assert_str_eq(text, "?");
}
END_TEST

START_TEST(test_addr_equal)
{
	struct packet_addr a = address("198.18.0.2");
	struct packet_addr b = address("198.18.0.2");
	struct packet_addr c = address("198.18.0.1");
	struct packet_addr v6 = address("2001:db8:c::2");
	struct packet_addr mapped = address("::ffff:198.18.0.2");

	ck_assert_int_eq(packet_addr_equal(&a, &b), 1);
	ck_assert_int_eq(packet_addr_equal(&a, &c), 0);
	ck_assert_int_eq(packet_addr_equal(&a, &v6), 0);
	ck_assert_int_eq(packet_addr_equal(&a, &mapped), 0);
	/* bytes past the fourth do not belong to an IPv4 address */
	memset(b.bytes + 4, 0xaa, 12);
	ck_assert_int_eq(packet_addr_equal(&a, &b), 1);
	b = v6;
	b.bytes[15] ^= 1;
	ck_assert_int_eq(packet_addr_equal(&v6, &b), 0);
	b.bytes[15] ^= 1;
	ck_assert_int_eq(packet_addr_equal(&v6, &b), 1);
}
END_TEST

static Suite *packet_suite(void)
{
	Suite *s = suite_create("packet");
	TCase *sample_data = tcase_create("samples");
	TCase *ipv4 = tcase_create("ipv4");
	TCase *ipv6 = tcase_create("ipv6");
	TCase *truncated = tcase_create("truncated copy");
	TCase *malformed = tcase_create("malformed");
	TCase *robustness = tcase_create("robustness");
	TCase *addresses = tcase_create("addresses");

	tcase_add_loop_test(sample_data, test_sample_checksums_verify, 0, SAMPLE_COUNT);
	suite_add_tcase(s, sample_data);

	tcase_add_test(ipv4, test_ipv4_tcp_syn);
	tcase_add_test(ipv4, test_ipv4_tcp_data);
	tcase_add_test(ipv4, test_ipv4_tcp_rst);
	tcase_add_test(ipv4, test_ipv4_tcp_ecn_bits_ignored);
	tcase_add_test(ipv4, test_ipv4_udp);
	tcase_add_test(ipv4, test_ipv4_icmp_echo);
	tcase_add_test(ipv4, test_ipv4_fragment_has_no_transport_header);
	tcase_add_test(ipv4, test_ipv4_first_fragment_has_transport_header);
	tcase_add_test(ipv4, test_ipv4_options);
	suite_add_tcase(s, ipv4);

	tcase_add_test(ipv6, test_ipv6_tcp_syn);
	tcase_add_test(ipv6, test_ipv6_tcp_data);
	tcase_add_test(ipv6, test_ipv6_tcp_rst);
	tcase_add_test(ipv6, test_ipv6_udp);
	tcase_add_test(ipv6, test_ipv6_icmp_echo);
	tcase_add_test(ipv6, test_ipv6_hop_by_hop_and_destination_options);
	tcase_add_test(ipv6, test_ipv6_routing_header);
	tcase_add_test(ipv6, test_ipv6_first_fragment_has_transport_header);
	tcase_add_test(ipv6, test_ipv6_later_fragment_has_no_transport_header);
	suite_add_tcase(s, ipv6);

	tcase_add_test(truncated, test_ipv4_header_only_copy);
	tcase_add_test(truncated, test_ipv6_superpacket_header_only_copy);
	tcase_add_test(truncated, test_trailing_bytes_ignored);
	suite_add_tcase(s, truncated);

	tcase_add_test(malformed, test_empty);
	tcase_add_test(malformed, test_ipv4_shorter_than_header);
	tcase_add_test(malformed, test_bad_version);
	tcase_add_test(malformed, test_ipv4_ihl_below_five);
	tcase_add_test(malformed, test_ipv4_ihl_past_caplen);
	tcase_add_test(malformed, test_ipv4_total_length_below_header);
	tcase_add_test(malformed, test_ipv4_total_length_below_transport_header);
	tcase_add_test(malformed, test_tcp_data_offset_below_five);
	tcase_add_test(malformed, test_transport_header_truncated);
	tcase_add_test(malformed, test_ipv6_shorter_than_header);
	tcase_add_test(malformed, test_ipv6_extension_header_truncated);
	tcase_add_test(malformed, test_ipv6_payload_length_below_extension_headers);
	tcase_add_test(malformed, test_error_pointer_optional);
	suite_add_tcase(s, malformed);

	tcase_add_loop_test(robustness, test_every_prefix, 0, SAMPLE_COUNT);
	tcase_add_loop_test(robustness, test_random_corruption, 0, SAMPLE_COUNT);
	suite_add_tcase(s, robustness);

	tcase_add_test(addresses, test_format_ipv4);
	tcase_add_test(addresses, test_format_ipv6);
	tcase_add_test(addresses, test_format_from_parsed_packet);
	tcase_add_test(addresses, test_format_small_buffer_and_unknown_family);
	tcase_add_test(addresses, test_addr_equal);
	suite_add_tcase(s, addresses);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(packet_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
