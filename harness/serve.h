/* serve.h — what the built-in servers (HTTP, DNS, echo) share: their
 * listening socket, opened inside the server's network namespace, and a
 * few small helpers for threads, time and messages. */
#ifndef FW_HARNESS_SERVE_H
#define FW_HARNESS_SERVE_H

#include <stddef.h>
#include <stdint.h>

/* A non-blocking, dual-stack (IPv4 and IPv6, all addresses) socket bound
 * to port inside the network namespace ns_fd (-1: the caller's own); type
 * is SOCK_STREAM (then listening, SO_REUSEADDR) or SOCK_DGRAM (no
 * SO_REUSEADDR: a second server must not share the port and steal its
 * packets). Falls back to IPv4 alone on a kernel without IPv6. The calling
 * thread ends in the namespace it started in. Returns the fd, or -1 with
 * *err (malloc'd) naming `what` and the step that failed. */
int serve_socket(int ns_fd, int type, uint16_t port, const char *what, char **err);

/* Make libevent thread-safe once per process, so that a server may be
 * stopped from another thread (event_active on its stop event). */
void serve_threads_init(void);

/* *err = the formatted message (malloc'd); nothing when err is NULL. */
void serve_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t serve_now_ns(void);

/* Copy src into dst (size bytes), cut to fit and always terminated. */
void serve_copy_cut(char *dst, size_t size, const char *src);

#endif
