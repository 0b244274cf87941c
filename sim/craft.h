/* craft.h — build the packets the middlebox injects: TCP segments (RST, FIN,
 * RST|ACK answering a SYN) and ICMP / ICMPv6 destination unreachable.
 *
 * Everything is written into the caller's buffer with valid IP and transport
 * checksums; nothing is allocated. Each function returns the packet's length,
 * or 0 when cap is too small or an argument is invalid. */
#ifndef FW_SIM_CRAFT_H
#define FW_SIM_CRAFT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/packet.h"

/* A TCP segment with no payload and no options. */
struct craft_tcp {
	struct packet_addr src, dst;  /* same family; it picks IPv4 or IPv6 */
	uint16_t sport, dport;        /* host order */
	uint32_t seq, ack;            /* host order */
	uint8_t flags;                /* enum tcp_flag bits */
	uint16_t window;              /* host order */
	uint8_t ttl;                  /* TTL / hop limit; 0 means 64 */
};

size_t craft_tcp_segment(uint8_t *buf, size_t cap, const struct craft_tcp *t);

enum craft_unreach { UNREACH_NET, UNREACH_HOST, UNREACH_PORT, UNREACH_ADMIN };

/* ICMP (IPv4: type 3, codes 0 net / 1 host / 3 port / 13 admin) or ICMPv6
 * (type 1, codes 0 no route / 3 address / 4 port / 1 admin) destination
 * unreachable, sent from `from` to the original packet's source, quoting the
 * original packet: its IP header and 8 bytes for IPv4, as much as fits in
 * 1280 bytes for IPv6, never more than orig->caplen. */
size_t craft_icmp_unreachable(uint8_t *buf, size_t cap, const struct packet_addr *from,
                              const struct packet *orig, enum craft_unreach code);

/* "Fragmentation needed" (ICMP type 3 code 4, with the next-hop MTU) or
 * ICMPv6 "packet too big" (type 2, with the MTU): what a router sends for a
 * packet bigger than its link, quoting it as craft_icmp_unreachable does. */
size_t craft_icmp_too_big(uint8_t *buf, size_t cap, const struct packet_addr *from,
                          const struct packet *orig, uint16_t mtu);

#endif
