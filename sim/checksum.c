/* checksum.c — the Internet checksum (RFC 1071) used by the packet crafter:
 * IPv4 header checksums and TCP/UDP/ICMPv6 checksums over the pseudo-header.
 *
 * The data may sit at any alignment (NFQUEUE payloads and caller buffers are
 * byte arrays), so words are assembled from bytes rather than loaded. */
#include "sim/checksum.h"

#include <netinet/in.h>
#include <sys/socket.h>

/* Carries are folded back in one's-complement style; because 2^32 is 1
 * modulo 0xffff, folding at 32 bits keeps the sum congruent to the 16-bit one
 * while letting callers chain calls over segments of any size. */
static uint32_t checksum_fold32(uint64_t wide)
{
	while (wide >> 32)
		wide = (wide & 0xffffffffu) + (wide >> 32);
	return (uint32_t)wide;
}

/* An odd trailing byte is the high half of a zero-padded word, so only the
 * last of several chained calls may have an odd length. */
uint32_t checksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *bytes = data;
	uint64_t wide = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		wide += ((uint32_t)bytes[i] << 8) | bytes[i + 1];
	if (len & 1)
		wide += (uint32_t)bytes[len - 1] << 8;
	return checksum_fold32(wide);
}

uint16_t checksum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t checksum_ipv4_header(const void *hdr, size_t hdr_len)
{
	return checksum_finish(checksum_add(0, hdr, hdr_len));
}

/* The pseudo-header is summed field by field instead of being laid out in a
 * buffer: only the values matter to a one's-complement sum, not their layout,
 * as long as every field lands on its proper 16-bit boundary. */
uint16_t checksum_l4(int family, const uint8_t *src, const uint8_t *dst,
                     uint8_t proto, const void *segment, size_t len)
{
	uint32_t sum = 0;
	uint16_t result;

	if (family == AF_INET) {
		sum = checksum_add(sum, src, 4);
		sum = checksum_add(sum, dst, 4);
		/* The IPv4 pseudo-header carries a 16-bit length; anything longer
		 * cannot be an IPv4 segment, and the sum just reflects the low bits. */
		sum = checksum_fold32((uint64_t)sum + proto + (len & 0xffffu));
	} else if (family == AF_INET6) {
		sum = checksum_add(sum, src, 16);
		sum = checksum_add(sum, dst, 16);
		sum = checksum_fold32((uint64_t)sum + (((uint64_t)len >> 16) & 0xffffu)
		                      + (len & 0xffffu) + proto);
	} else {
		return 0;
	}
	sum = checksum_add(sum, segment, len);
	result = checksum_finish(sum);
	/* A zero UDP checksum means "none" on the wire (and is not allowed over
	 * IPv6), so a computed zero is sent as its one's-complement twin. */
	if (proto == IPPROTO_UDP && result == 0)
		result = 0xffff;
	return result;
}
