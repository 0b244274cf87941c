/* echod.h — the built-in TCP echo server (fw.tcp_echo): every byte a client
 * sends comes back, until the client closes. For clients that speak their
 * own protocol over a plain connection (sync agents, SDKs, chat-like
 * protocols). Its own thread and event_base, its listening socket opened
 * inside the server's network namespace. */
#ifndef FW_HARNESS_ECHOD_H
#define FW_HARNESS_ECHOD_H

#include <stdint.h>

struct echod;

/* Start echoing on port (IPv4 and IPv6) inside ns_fd (-1: the caller's
 * namespace). NULL with *err (malloc'd) on failure. */
struct echod *echod_start(int ns_fd, uint16_t port, char **err);

/* Stop, close every connection, free. NULL is fine. */
void echod_free(struct echod *e);

/* Connections accepted and bytes echoed, for the run record (after free is
 * too late: read them before). */
void echod_counts(const struct echod *e, uint64_t *connections, uint64_t *bytes);

#endif
