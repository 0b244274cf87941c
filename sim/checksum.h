/* checksum.h — the Internet checksum (RFC 1071) for IPv4 headers and for
 * TCP/UDP/ICMPv6 over their IPv4 or IPv6 pseudo-header.
 *
 * The sums work on caller-owned buffers and never allocate. */
#ifndef FW_SIM_CHECKSUM_H
#define FW_SIM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add len bytes at data, as big-endian 16-bit words, to a running 32-bit sum. */
uint32_t checksum_add(uint32_t sum, const void *data, size_t len);

/* Fold a running sum to 16 bits and complement it; the result is in host order,
 * ready for htons() before it is stored in a header. */
uint16_t checksum_finish(uint32_t sum);

/* Checksum of an IPv4 header of hdr_len bytes whose checksum field is zero. */
uint16_t checksum_ipv4_header(const void *hdr, size_t hdr_len);

/* Checksum of a TCP, UDP or ICMPv6 segment of len bytes (its checksum field
 * zero) over the pseudo-header; family is AF_INET (src/dst are 4 bytes) or
 * AF_INET6 (16 bytes). */
uint16_t checksum_l4(int family, const uint8_t *src, const uint8_t *dst,
                     uint8_t proto, const void *segment, size_t len);

#endif
