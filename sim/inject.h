/* inject.h — send packets the middlebox makes up (RSTs, ICMP errors) from
 * raw sockets opened in its namespace. They leave through the namespace's
 * own output path, not the forwarding path, so they are never queued back
 * to the engine. */
#ifndef FW_SIM_INJECT_H
#define FW_SIM_INJECT_H

#include <stddef.h>
#include <stdint.h>

struct injector;

/* Open IPv4 and IPv6 raw sockets (headers included) in the calling thread's
 * network namespace. NULL with *err (malloc'd). */
struct injector *inject_open(char **err);

/* Send a complete IP packet; its version and destination come from its own
 * header. Returns 0 or -1 with *err. */
int inject_send(struct injector *in, const uint8_t *packet, size_t len, char **err);

void inject_close(struct injector *in);

#endif
