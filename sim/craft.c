/* craft.c — build the packets the middlebox injects in place of a real peer:
 * bare TCP segments (RST, FIN, RST|ACK) and ICMP / ICMPv6 destination
 * unreachable, each with valid IP and transport checksums, so that the
 * receiving kernel accepts them exactly as if they came from the network.
 *
 * Fields are written byte by byte in network order: the caller's buffer has
 * no alignment promise. */
#include "sim/craft.h"

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <string.h>
#include <sys/socket.h>

#include "sim/checksum.h"

enum {
	CRAFT_DEFAULT_TTL = 64,
	IPV4_HEADER_LEN = 20,
	IPV6_HEADER_LEN = 40,
	TCP_HEADER_LEN = 20,
	ICMP_HEADER_LEN = 8,
	/* RFC 792: the original IP header plus the first 64 bits of its data,
	 * enough for the receiver to find the ports of the socket at fault. */
	ICMPV4_QUOTED_DATA_LEN = 8,
	/* RFC 4443 2.4 (c): an ICMPv6 error must fit the IPv6 minimum MTU. */
	IPV6_MIN_MTU = 1280,
	IPV4_FLAG_DONT_FRAGMENT = 0x4000,
};

static void write_be16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

static void write_be32(uint8_t *at, uint32_t value)
{
	at[0] = (uint8_t)(value >> 24);
	at[1] = (uint8_t)(value >> 16);
	at[2] = (uint8_t)(value >> 8);
	at[3] = (uint8_t)value;
}

/* The 20-byte IPv4 header with no options, checksum filled in. The id stays
 * 0: RFC 6864 allows it for atomic datagrams, and the ICMP packets that are
 * not marked DF are too small to ever be fragmented. */
static void craft_ipv4_header(uint8_t *ip, size_t total_len, uint8_t proto, uint8_t ttl,
                              int dont_fragment, const uint8_t *src, const uint8_t *dst)
{
	memset(ip, 0, IPV4_HEADER_LEN);
	ip[0] = 0x45;
	write_be16(ip + 2, (uint16_t)total_len);
	write_be16(ip + 6, dont_fragment ? IPV4_FLAG_DONT_FRAGMENT : 0);
	ip[8] = ttl;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	write_be16(ip + 10, checksum_ipv4_header(ip, IPV4_HEADER_LEN));
}

static void craft_ipv6_header(uint8_t *ip, size_t payload_len, uint8_t next_header,
                              uint8_t hop_limit, const uint8_t *src, const uint8_t *dst)
{
	memset(ip, 0, IPV6_HEADER_LEN);
	ip[0] = 0x60;
	write_be16(ip + 4, (uint16_t)payload_len);
	ip[6] = next_header;
	ip[7] = hop_limit;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

static size_t craft_ip_header_len(int family)
{
	if (family == AF_INET)
		return IPV4_HEADER_LEN;
	if (family == AF_INET6)
		return IPV6_HEADER_LEN;
	return 0;
}

size_t craft_tcp_segment(uint8_t *buf, size_t cap, const struct craft_tcp *t)
{
	size_t ip_len, total_len;
	uint8_t ttl;
	uint8_t *tcp;

	if (buf == NULL || t == NULL || t->src.family != t->dst.family)
		return 0;
	ip_len = craft_ip_header_len(t->src.family);
	if (ip_len == 0)
		return 0;
	total_len = ip_len + TCP_HEADER_LEN;
	if (cap < total_len)
		return 0;

	ttl = t->ttl != 0 ? t->ttl : CRAFT_DEFAULT_TTL;
	/* DF as a real stack would set it with path MTU discovery on. */
	if (t->src.family == AF_INET)
		craft_ipv4_header(buf, total_len, IPPROTO_TCP, ttl, 1, t->src.bytes, t->dst.bytes);
	else
		craft_ipv6_header(buf, TCP_HEADER_LEN, IPPROTO_TCP, ttl, t->src.bytes, t->dst.bytes);

	tcp = buf + ip_len;
	memset(tcp, 0, TCP_HEADER_LEN);
	write_be16(tcp, t->sport);
	write_be16(tcp + 2, t->dport);
	write_be32(tcp + 4, t->seq);
	write_be32(tcp + 8, t->ack);
	tcp[12] = (TCP_HEADER_LEN / 4) << 4;
	tcp[13] = t->flags;
	write_be16(tcp + 14, t->window);
	write_be16(tcp + 16, checksum_l4(t->src.family, t->src.bytes, t->dst.bytes,
	                                 IPPROTO_TCP, tcp, TCP_HEADER_LEN));
	return total_len;
}

/* The ICMP code for each reason, or -1 for a value outside the enum. */
static int craft_icmpv4_code(enum craft_unreach code)
{
	switch (code) {
	case UNREACH_NET: return ICMP_NET_UNREACH;
	case UNREACH_HOST: return ICMP_HOST_UNREACH;
	case UNREACH_PORT: return ICMP_PORT_UNREACH;
	case UNREACH_ADMIN: return ICMP_PKT_FILTERED;
	}
	return -1;
}

static int craft_icmpv6_code(enum craft_unreach code)
{
	switch (code) {
	case UNREACH_NET: return ICMP6_DST_UNREACH_NOROUTE;
	case UNREACH_HOST: return ICMP6_DST_UNREACH_ADDR;
	case UNREACH_PORT: return ICMP6_DST_UNREACH_NOPORT;
	case UNREACH_ADMIN: return ICMP6_DST_UNREACH_ADMIN;
	}
	return -1;
}

/* orig must come from a successful packet_parse; its bytes are copied, not
 * kept. The quote never reaches past orig->len either, so trailing bytes
 * after the IP packet are not echoed back. */
/* An ICMP / ICMPv6 error of the given type and code (code < 0: use the
 * unreachable mapping of `code`), with `rest` in bytes 4..7 of its header. */
static size_t craft_icmp_error(uint8_t *buf, size_t cap, const struct packet_addr *from,
                               const struct packet *orig, enum craft_unreach code, int too_big, uint32_t rest)
{
	size_t ip_len, quote_len, available, total_len;
	uint8_t *icmp;
	uint16_t checksum;
	int type, icmp_code;

	if (buf == NULL || from == NULL || orig == NULL || orig->data == NULL)
		return 0;
	if (from->family != orig->family || orig->src.family != orig->family)
		return 0;
	ip_len = craft_ip_header_len(orig->family);
	if (ip_len == 0)
		return 0;
	if (orig->family == AF_INET) {
		type = ICMP_DEST_UNREACH;
		icmp_code = too_big ? 4 : craft_icmpv4_code(code);  /* 4: fragmentation needed */
		/* For IPv4, l4_off is the header length, options included. */
		quote_len = orig->l4_off + ICMPV4_QUOTED_DATA_LEN;
	} else {
		type = too_big ? 2 : ICMP6_DST_UNREACH;  /* 2: packet too big */
		icmp_code = too_big ? 0 : craft_icmpv6_code(code);
		quote_len = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMP_HEADER_LEN;
	}
	if (icmp_code < 0)
		return 0;
	available = orig->caplen < orig->len ? orig->caplen : orig->len;
	if (quote_len > available)
		quote_len = available;
	total_len = ip_len + ICMP_HEADER_LEN + quote_len;
	if (cap < total_len)
		return 0;

	/* Linux sends its own ICMP errors without DF; do the same. */
	if (orig->family == AF_INET)
		craft_ipv4_header(buf, total_len, IPPROTO_ICMP, CRAFT_DEFAULT_TTL, 0,
		                  from->bytes, orig->src.bytes);
	else
		craft_ipv6_header(buf, ICMP_HEADER_LEN + quote_len, IPPROTO_ICMPV6,
		                  CRAFT_DEFAULT_TTL, from->bytes, orig->src.bytes);

	icmp = buf + ip_len;
	memset(icmp, 0, ICMP_HEADER_LEN);
	icmp[0] = (uint8_t)type;
	icmp[1] = (uint8_t)icmp_code;
	icmp[4] = (uint8_t)(rest >> 24);
	icmp[5] = (uint8_t)(rest >> 16);
	icmp[6] = (uint8_t)(rest >> 8);
	icmp[7] = (uint8_t)rest;
	memcpy(icmp + ICMP_HEADER_LEN, orig->data, quote_len);
	/* ICMPv4 sums the message alone; ICMPv6 adds the pseudo-header. */
	if (orig->family == AF_INET)
		checksum = checksum_finish(checksum_add(0, icmp, ICMP_HEADER_LEN + quote_len));
	else
		checksum = checksum_l4(AF_INET6, from->bytes, orig->src.bytes, IPPROTO_ICMPV6,
		                       icmp, ICMP_HEADER_LEN + quote_len);
	write_be16(icmp + 2, checksum);
	return total_len;
}

size_t craft_icmp_unreachable(uint8_t *buf, size_t cap, const struct packet_addr *from,
                              const struct packet *orig, enum craft_unreach code)
{
	return craft_icmp_error(buf, cap, from, orig, code, 0, 0);
}

size_t craft_icmp_too_big(uint8_t *buf, size_t cap, const struct packet_addr *from,
                          const struct packet *orig, uint16_t mtu)
{
	/* IPv4 carries the next-hop MTU in the low 16 bits, IPv6 in all 32. */
	return craft_icmp_error(buf, cap, from, orig, UNREACH_HOST, 1, mtu);
}
