/* content.c — the bytes served at /bytes/N and checked after a download.
 *
 * Byte i of the content is byte (i % 8) of the little-endian 64-bit word
 * splitmix64(seed * 0x9E3779B97F4A7C15 ^ (i / 8)). Each 8-byte block depends
 * only on the seed and its index, so any range (aligned or not) can be made
 * without making what comes before it, and a GiB costs no memory. */
#include "harness/content.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTENT_GOLDEN 0x9E3779B97F4A7C15ULL
#define CONTENT_COMPARE_BLOCK (64 * 1024)

static inline uint64_t content_splitmix64(uint64_t x)
{
	uint64_t z = x + CONTENT_GOLDEN;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* The block's 8 bytes in memory order, whatever the host's byte order. */
static inline uint64_t content_block(uint64_t key, uint64_t block)
{
	return htole64(content_splitmix64(key ^ block));
}

void content_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len)
{
	uint64_t key = seed * CONTENT_GOLDEN;
	uint64_t block = offset / 8;
	size_t skip = offset % 8;
	uint64_t word;

	if (len == 0)
		return;
	if (skip != 0) {
		size_t n = 8 - skip < len ? 8 - skip : len;

		word = content_block(key, block++);
		memcpy(buf, (const uint8_t *)&word + skip, n);
		buf += n;
		len -= n;
	}
	/* Four independent blocks per turn keep the multipliers busy. */
	while (len >= 32) {
		uint64_t w0 = content_block(key, block);
		uint64_t w1 = content_block(key, block + 1);
		uint64_t w2 = content_block(key, block + 2);
		uint64_t w3 = content_block(key, block + 3);

		memcpy(buf, &w0, 8);
		memcpy(buf + 8, &w1, 8);
		memcpy(buf + 16, &w2, 8);
		memcpy(buf + 24, &w3, 8);
		block += 4;
		buf += 32;
		len -= 32;
	}
	while (len >= 8) {
		word = content_block(key, block++);
		memcpy(buf, &word, 8);
		buf += 8;
		len -= 8;
	}
	if (len != 0) {
		word = content_block(key, block);
		memcpy(buf, &word, len);
	}
}

static void content_why(char **why, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) < 0)
		*why = NULL;
	va_end(ap);
}

/* Read until buf is full or the file ends; returns the count or -1. */
static ssize_t content_read_full(int fd, uint8_t *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int content_compare_file(const char *path, uint64_t seed, uint64_t size, char **why)
{
	uint8_t *got = NULL, *want = NULL;
	uint64_t offset = 0;
	struct stat st;
	int fd = -1, ret = -1;

	if (why != NULL)
		*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		content_why(why, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		content_why(why, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	/* A wrong size says more (a cut download) than where the bytes differ. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size != size) {
		content_why(why, "file is %" PRIu64 " bytes, expected %" PRIu64,
		    (uint64_t)st.st_size, size);
		ret = 0;
		goto out;
	}
	got = malloc(CONTENT_COMPARE_BLOCK);
	want = malloc(CONTENT_COMPARE_BLOCK);
	if (got == NULL || want == NULL) {
		content_why(why, "out of memory comparing %s", path);
		goto out;
	}
	for (;;) {
		ssize_t n = content_read_full(fd, got, CONTENT_COMPARE_BLOCK);
		size_t expected;

		if (n < 0) {
			content_why(why, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		/* Past `size` there is nothing to compare; keep counting. */
		expected = offset >= size ? 0 :
		    size - offset < (uint64_t)n ? (size_t)(size - offset) : (size_t)n;
		content_fill(seed, offset, want, expected);
		if (memcmp(got, want, expected) != 0) {
			size_t i = 0;

			while (got[i] == want[i])
				i++;
			content_why(why, "first difference at byte %" PRIu64, offset + i);
			ret = 0;
			goto out;
		}
		offset += (uint64_t)n;
	}
	if (offset != size) {
		content_why(why, "file is %" PRIu64 " bytes, expected %" PRIu64, offset, size);
		ret = 0;
		goto out;
	}
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	free(got);
	free(want);
	return ret;
}
