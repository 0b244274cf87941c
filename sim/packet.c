/* packet.c — parse one IP packet as NFQUEUE hands it over, for the flow table
 * and the fault rules: addresses, ports, TCP sequence state, ICMP type.
 *
 * The input is untrusted and often cut short, so every read is checked against
 * caplen before it happens, and fields are assembled from bytes because the
 * data pointer carries no alignment promise. Lengths that describe the packet
 * as a whole come from the IP header; caplen only bounds what may be read. */
#include "sim/packet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

enum {
	IPV4_MIN_HEADER_LEN = 20,
	IPV6_HEADER_LEN = 40,
	TCP_MIN_HEADER_LEN = 20,
	UDP_HEADER_LEN = 8,
	/* type, code, checksum and the 4-byte type-specific word: every ICMP and
	 * ICMPv6 message has at least these. */
	ICMP_HEADER_LEN = 8,
	IPV6_FRAGMENT_HEADER_LEN = 8,
	/* ECE and CWR are left out of tcp_flags so that a SYN from an ECN-capable
	 * client still compares equal to TCP_SYN. */
	TCP_FLAGS_KNOWN = TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG,
};

static uint16_t read_be16(const uint8_t *at)
{
	return (uint16_t)((at[0] << 8) | at[1]);
}

static uint32_t read_be32(const uint8_t *at)
{
	return ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) | at[3];
}

/* Every failure goes through here so that callers may pass err == NULL. */
static int packet_fail(const char **err, const char *message)
{
	if (err != NULL)
		*err = message;
	return -1;
}

/* Fills the IPv4 header fields; *has_transport is cleared for a fragment
 * other than the first, which carries no transport header. */
static int packet_parse_ipv4(struct packet *p, int *has_transport, const char **err)
{
	const uint8_t *ip = p->data;
	size_t header_len;
	uint16_t fragment_offset;

	if (p->caplen < IPV4_MIN_HEADER_LEN)
		return packet_fail(err, "truncated IPv4 header");
	header_len = (size_t)(ip[0] & 0x0f) * 4;
	if (header_len < IPV4_MIN_HEADER_LEN)
		return packet_fail(err, "IPv4 header length (IHL) below 20 bytes");
	if (header_len > p->caplen)
		return packet_fail(err, "truncated IPv4 header options");
	p->len = read_be16(ip + 2);
	if (p->len < header_len)
		return packet_fail(err, "IPv4 total length shorter than its header");

	p->family = AF_INET;
	p->ttl = ip[8];
	p->proto = ip[9];
	p->src.family = AF_INET;
	memcpy(p->src.bytes, ip + 12, 4);
	p->dst.family = AF_INET;
	memcpy(p->dst.bytes, ip + 16, 4);
	p->l4_off = header_len;

	fragment_offset = read_be16(ip + 6) & 0x1fff;
	*has_transport = fragment_offset == 0;
	return 0;
}

/* The extension headers that share the "next header, length" layout and can
 * be stepped over without understanding them. */
static int packet_is_ipv6_chained_header(uint8_t next_header)
{
	return next_header == IPPROTO_HOPOPTS || next_header == IPPROTO_ROUTING
	    || next_header == IPPROTO_DSTOPTS || next_header == IPPROTO_AH;
}

/* Fills the IPv6 header fields and walks the extension headers to the
 * transport header; *has_transport is cleared for a fragment other than the
 * first. The walk ends because every step moves forward and stays within
 * caplen. */
static int packet_parse_ipv6(struct packet *p, int *has_transport, const char **err)
{
	const uint8_t *ip = p->data;
	uint8_t next_header;
	size_t offset = IPV6_HEADER_LEN;
	size_t ext_len;

	if (p->caplen < IPV6_HEADER_LEN)
		return packet_fail(err, "truncated IPv6 header");
	/* A payload length of 0 (a jumbogram, or a BIG TCP superpacket) is not
	 * expected: default GSO limits keep packets under 64 KiB. Such a packet
	 * reads as a bare 40-byte header, so any header after it lies past its
	 * length and is reported as malformed. */
	p->len = IPV6_HEADER_LEN + (size_t)read_be16(ip + 4);
	p->family = AF_INET6;
	p->ttl = ip[7];
	p->src.family = AF_INET6;
	memcpy(p->src.bytes, ip + 8, 16);
	p->dst.family = AF_INET6;
	memcpy(p->dst.bytes, ip + 24, 16);

	next_header = ip[6];
	*has_transport = 1;
	for (;;) {
		if (next_header == IPPROTO_FRAGMENT) {
			uint16_t fragment_offset;

			if (p->caplen - offset < IPV6_FRAGMENT_HEADER_LEN)
				return packet_fail(err, "truncated IPv6 fragment header");
			fragment_offset = read_be16(ip + offset + 2) >> 3;
			next_header = ip[offset];
			offset += IPV6_FRAGMENT_HEADER_LEN;
			if (fragment_offset != 0) {
				*has_transport = 0;
				break;
			}
		} else if (packet_is_ipv6_chained_header(next_header)) {
			if (p->caplen - offset < 2)
				return packet_fail(err, "truncated IPv6 extension header");
			/* Lengths count 8-byte units beyond the first 8, except
			 * AH's, which count 4-byte units beyond the first 8
			 * (RFC 4302). */
			if (next_header == IPPROTO_AH)
				ext_len = ((size_t)ip[offset + 1] + 2) * 4;
			else
				ext_len = ((size_t)ip[offset + 1] + 1) * 8;
			if (p->caplen - offset < ext_len)
				return packet_fail(err, "truncated IPv6 extension header");
			next_header = ip[offset];
			offset += ext_len;
		} else {
			break;
		}
	}
	if (offset > p->len)
		return packet_fail(err, "IPv6 payload length shorter than its extension headers");
	p->proto = next_header;
	p->l4_off = offset;
	return 0;
}

/* Fills the transport fields from the header at p->l4_off. The whole header
 * (TCP options included) must be in the copy: a copy range too short for it
 * is reported here rather than leaving half-filled fields for the flow rules.
 * ICMP gets an 8-byte l4_hdr_len too, so that the payload of an ICMP error is
 * the packet it quotes. */
static int packet_parse_transport(struct packet *p, const char **err)
{
	const uint8_t *l4 = p->data + p->l4_off;
	size_t available = p->caplen - p->l4_off;

	switch (p->proto) {
	case IPPROTO_TCP:
		if (available < TCP_MIN_HEADER_LEN)
			return packet_fail(err, "truncated TCP header");
		p->l4_hdr_len = (size_t)(l4[12] >> 4) * 4;
		if (p->l4_hdr_len < TCP_MIN_HEADER_LEN)
			return packet_fail(err, "TCP data offset below 5 (20 bytes)");
		if (available < p->l4_hdr_len)
			return packet_fail(err, "truncated TCP options");
		p->sport = read_be16(l4);
		p->dport = read_be16(l4 + 2);
		p->seq = read_be32(l4 + 4);
		p->ack = read_be32(l4 + 8);
		p->tcp_flags = l4[13] & TCP_FLAGS_KNOWN;
		p->window = read_be16(l4 + 14);
		break;
	case IPPROTO_UDP:
		if (available < UDP_HEADER_LEN)
			return packet_fail(err, "truncated UDP header");
		p->l4_hdr_len = UDP_HEADER_LEN;
		p->sport = read_be16(l4);
		p->dport = read_be16(l4 + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (available < ICMP_HEADER_LEN)
			return packet_fail(err, "truncated ICMP header");
		p->l4_hdr_len = ICMP_HEADER_LEN;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		break;
	default:
		/* Unknown transports keep their header in the payload. */
		break;
	}
	if (p->len - p->l4_off < p->l4_hdr_len)
		return packet_fail(err, "IP length shorter than the transport header");
	return 0;
}

int packet_parse(struct packet *p, const uint8_t *data, size_t caplen, const char **err)
{
	int has_transport = 0;
	int status;

	memset(p, 0, sizeof *p);
	p->data = data;
	p->caplen = caplen;
	if (data == NULL || caplen == 0)
		return packet_fail(err, "empty packet");

	switch (data[0] >> 4) {
	case 4:
		status = packet_parse_ipv4(p, &has_transport, err);
		break;
	case 6:
		status = packet_parse_ipv6(p, &has_transport, err);
		break;
	default:
		return packet_fail(err, "bad IP version (neither 4 nor 6)");
	}
	if (status != 0)
		return status;

	if (has_transport) {
		status = packet_parse_transport(p, err);
		if (status != 0)
			return status;
	}
	p->payload_off = p->l4_off + p->l4_hdr_len;
	p->payload_len = p->len - p->payload_off;
	return 0;
}

/* The port is left out when it is 0, and so are the brackets around an IPv6
 * address, which only serve to set the port apart. */
char *packet_addr_format(const struct packet_addr *a, uint16_t port, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (size == 0)
		return buf;
	if (a == NULL || inet_ntop(a->family, a->bytes, text, sizeof text) == NULL)
		snprintf(buf, size, "?");
	else if (port == 0)
		snprintf(buf, size, "%s", text);
	else if (a->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", text, (unsigned)port);
	else
		snprintf(buf, size, "%s:%u", text, (unsigned)port);
	return buf;
}

/* Only the bytes the family uses are compared: an IPv4 address may leave
 * the other 12 uninitialised. */
int packet_addr_equal(const struct packet_addr *a, const struct packet_addr *b)
{
	size_t used;

	if (a->family != b->family)
		return 0;
	used = a->family == AF_INET ? 4 : sizeof a->bytes;
	return memcmp(a->bytes, b->bytes, used) == 0;
}
