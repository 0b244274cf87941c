/* httpd.h — the built-in HTTP server (fw.http), on libevent's evhttp, in its
 * own thread and event_base so that the packet engine never waits on it.
 * Its listening sockets are opened inside the server's network namespace.
 *
 * Routes (GET and HEAD):
 *   /bytes/N                 N bytes of content_fill(seed, ...), Content-Length,
 *                            single Range requests answered 206 (416 if unsatisfiable),
 *                            streamed in chunks as the client reads
 *   /stream?kbit=R&bytes=N   N bytes paced at R kbit/s (IPTV-like)
 *   /status/CODE             an empty answer with that status (100..599)
 *   /slow?ms=T               answers 200 "slow\n" after T milliseconds
 *   /playlist.m3u            a small M3U playlist of /stream URLs
 *   anything else            404
 * Every request is logged (with its Range header) for the run record. */
#ifndef FW_HARNESS_HTTPD_H
#define FW_HARNESS_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct httpd;

struct httpd_request {
	int64_t t_ns;          /* CLOCK_MONOTONIC when the request arrived */
	char method[8];
	char path[256];        /* the request URI, query included, cut to fit */
	char range[64];        /* the Range header, "" when none */
	int status;            /* status answered */
	char peer[64];         /* client address without port, e.g. "198.18.0.2" or "2001:db8:c::2" */
	uint16_t peer_port;
};

/* Asked for every request before it is answered; return nonzero to answer
 * 403 instead (used by IP blocks). Called on the server thread. */
typedef int (*httpd_block_fn)(const char *peer, void *arg);

/* Start a server listening on port (IPv4 and IPv6, all addresses) inside the
 * network namespace ns_fd (-1: the caller's own). Returns NULL with *err
 * (malloc'd) when the sockets cannot be opened or the thread not started. */
struct httpd *httpd_start(int ns_fd, uint16_t port, uint64_t seed, char **err);

/* Install a block check (may be called before or after start; NULL removes). */
void httpd_set_block(struct httpd *h, httpd_block_fn fn, void *arg);

/* Stop the server thread and close every connection. Idempotent. */
void httpd_stop(struct httpd *h);

/* The requests logged so far, in arrival order; valid until httpd_free.
 * Call after httpd_stop (not thread-safe while running). */
const struct httpd_request *httpd_requests(const struct httpd *h, size_t *count);

/* Stop if needed and free everything. NULL is fine. */
void httpd_free(struct httpd *h);

/* Render the whole body the server would answer to GET path (for the
 * fw.recovered comparison of small, non-/bytes paths). Returns 0 with *body
 * (malloc'd) and *len, or -1 when the path has no fixed body. */
int httpd_render(const char *path, uint64_t seed, uint8_t **body, size_t *len);

#endif
