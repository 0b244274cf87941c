/* pcap.c — a pcapng writer; see pcap.h. One interface of link type
 * LINKTYPE_RAW (101): packets start at their IP header, as NFQUEUE gives
 * them. */
#include "harness/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCAPNG_SECTION_HEADER 0x0A0D0D0A
#define PCAPNG_INTERFACE 0x00000001
#define PCAPNG_ENHANCED_PACKET 0x00000006
#define PCAPNG_BYTE_ORDER 0x1A2B3C4D
#define LINKTYPE_RAW 101
#define OPT_END 0
#define OPT_COMMENT 1
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2

struct pcap_writer {
	FILE *file;
	int64_t wall_minus_mono_ns;  /* to turn CLOCK_MONOTONIC into wall time */
	int failed;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void put(struct pcap_writer *w, const void *data, size_t len)
{
	if (len && fwrite(data, 1, len, w->file) != len)
		w->failed = 1;
}

static void put32(struct pcap_writer *w, uint32_t v)
{
	put(w, &v, 4);
}

static void put16(struct pcap_writer *w, uint16_t v)
{
	put(w, &v, 2);
}

static void put_padding(struct pcap_writer *w, size_t len)
{
	static const uint8_t zeros[4];
	put(w, zeros, pad4(len) - len);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct pcap_writer *pcap_open(const char *path, char **err)
{
	struct pcap_writer *w = calloc(1, sizeof *w);
	if (!w || !(w->file = fopen(path, "wb"))) {
		if (asprintf(err, "cannot write the capture %s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		free(w);
		return NULL;
	}
	w->wall_minus_mono_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	/* Section header: no options, section length unknown (-1). */
	put32(w, PCAPNG_SECTION_HEADER);
	put32(w, 28);
	put32(w, PCAPNG_BYTE_ORDER);
	put16(w, 1);
	put16(w, 0);
	put32(w, 0xffffffff);
	put32(w, 0xffffffff);
	put32(w, 28);
	/* Interface: raw IP, whole packets, nanosecond timestamps. */
	put32(w, PCAPNG_INTERFACE);
	put32(w, 32);
	put16(w, LINKTYPE_RAW);
	put16(w, 0);
	put32(w, 0);  /* no snap length */
	put16(w, OPT_IF_TSRESOL);
	put16(w, 1);
	uint8_t nanoseconds[4] = { 9, 0, 0, 0 };
	put(w, nanoseconds, 4);
	put16(w, OPT_END);
	put16(w, 0);
	put32(w, 32);
	return w;
}

void pcap_write(struct pcap_writer *w, int64_t t_ns, const uint8_t *data, size_t caplen, size_t len, int dir,
                const char *note)
{
	if (!w)
		return;
	size_t note_len = note ? strlen(note) : 0;
	size_t options = 8 + (note_len ? 4 + pad4(note_len) : 0) + 4;  /* flags, comment, end */
	size_t total = 28 + pad4(caplen) + options + 4;
	uint64_t ts = (uint64_t)(t_ns + w->wall_minus_mono_ns);
	put32(w, PCAPNG_ENHANCED_PACKET);
	put32(w, (uint32_t)total);
	put32(w, 0);  /* interface 0 */
	put32(w, (uint32_t)(ts >> 32));
	put32(w, (uint32_t)ts);
	put32(w, (uint32_t)caplen);
	put32(w, (uint32_t)len);
	put(w, data, caplen);
	put_padding(w, caplen);
	/* epb_flags: direction bits, 01 inbound (toward the server side is
	 * "up"), 10 outbound. */
	put16(w, OPT_EPB_FLAGS);
	put16(w, 4);
	put32(w, dir == 1 ? 1 : dir == 2 ? 2 : 0);
	if (note_len) {
		put16(w, OPT_COMMENT);
		put16(w, (uint16_t)note_len);
		put(w, note, note_len);
		put_padding(w, note_len);
	}
	put16(w, OPT_END);
	put16(w, 0);
	put32(w, (uint32_t)total);
}

int pcap_close(struct pcap_writer *w)
{
	if (!w)
		return 0;
	int failed = w->failed;
	if (fclose(w->file) != 0)
		failed = 1;
	free(w);
	return failed ? -1 : 0;
}
