/* content.h — the bytes the built-in server serves at /bytes/N: a pure
 * function of the run's seed and the offset, so any byte range can be made
 * (or checked) on its own without keeping the body anywhere. */
#ifndef FW_HARNESS_CONTENT_H
#define FW_HARNESS_CONTENT_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf with the len content bytes starting at offset for this seed. */
void content_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len);

/* Compare the file at path with the first `size` content bytes of the seed.
 * Returns 1 when equal. Otherwise 0, with *why (malloc'd) saying how they
 * differ: "file is 262144 bytes, expected 1048576" or "first difference at
 * byte 4096"; -1 with *why when the file cannot be read. */
int content_compare_file(const char *path, uint64_t seed, uint64_t size, char **why);

#endif
