/* packet.h — parse one IP packet as NFQUEUE hands it over: IPv4 or IPv6
 * (skipping extension headers), then TCP, UDP, ICMP or ICMPv6.
 *
 * The copy NFQUEUE gives may be cut short (a header-only copy range), and with
 * NFQA_CFG_F_GSO a TCP packet may be a superpacket bigger than the MTU whose
 * checksum is not filled in yet. So lengths come from the IP header, not from
 * the bytes at hand, and checksums are never verified here. */
#ifndef FW_SIM_PACKET_H
#define FW_SIM_PACKET_H

#include <stddef.h>
#include <stdint.h>

enum tcp_flag {
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04,
	TCP_PSH = 0x08, TCP_ACK = 0x10, TCP_URG = 0x20,
};

/* An address with its family (AF_INET: first 4 bytes used; AF_INET6: 16). */
struct packet_addr {
	int family;
	uint8_t bytes[16];
};

struct packet {
	const uint8_t *data;  /* the packet, starting at the IP header; not owned */
	size_t caplen;        /* bytes available at data */
	size_t len;           /* the whole packet's length according to its IP header */
	int family;           /* AF_INET or AF_INET6 */
	uint8_t proto;        /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 or other */
	uint8_t ttl;          /* TTL or hop limit */
	size_t l4_off;        /* offset of the transport header (after v6 extension headers) */
	struct packet_addr src, dst;
	uint16_t sport, dport;        /* host order; 0 when not TCP/UDP */
	/* TCP only (zero otherwise) */
	uint32_t seq, ack;            /* host order */
	uint8_t tcp_flags;            /* enum tcp_flag bits */
	uint16_t window;              /* host order, unscaled */
	size_t l4_hdr_len;            /* TCP header with options, or 8 for UDP */
	size_t payload_off;           /* offset of the transport payload */
	size_t payload_len;           /* transport payload length (from len; may exceed caplen) */
	/* ICMP/ICMPv6 only */
	uint8_t icmp_type, icmp_code;
};

/* Parse caplen bytes at data into *p. Returns 0, or -1 with *err set to a
 * static message (not to be freed) naming what was malformed: a truncated
 * IP or transport header, a bad version, an IP length shorter than its header.
 * A packet whose IP header says it is longer than caplen is fine (truncated copy). */
int packet_parse(struct packet *p, const uint8_t *data, size_t caplen, const char **err);

/* Write "198.18.0.2:41234" or "[2001:db8:c::2]:41234" (port omitted when 0)
 * into buf; returns buf. */
char *packet_addr_format(const struct packet_addr *a, uint16_t port, char *buf, size_t size);

/* 1 when the two addresses are equal (family and bytes). */
int packet_addr_equal(const struct packet_addr *a, const struct packet_addr *b);

#endif
