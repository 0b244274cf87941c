/* inject.c — raw-socket injection; see inject.h. */
#include "sim/inject.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

struct injector {
	int fd4, fd6;
};

struct injector *inject_open(char **err)
{
	struct injector *in = calloc(1, sizeof *in);
	int one = 1;
	if (!in)
		goto fail;
	in->fd4 = in->fd6 = -1;
	/* IPPROTO_RAW implies that the header is ours to write. */
	in->fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (in->fd4 < 0)
		goto fail;
	in->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (in->fd6 < 0 || setsockopt(in->fd6, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) < 0)
		goto fail;
	return in;
fail:
	if (asprintf(err, "raw socket for injection: %s", strerror(errno)) < 0)
		*err = NULL;
	inject_close(in);
	return NULL;
}

int inject_send(struct injector *in, const uint8_t *packet, size_t len, char **err)
{
	ssize_t n;
	if (len >= 20 && packet[0] >> 4 == 4) {
		struct sockaddr_in to = { .sin_family = AF_INET };
		memcpy(&to.sin_addr, packet + 16, 4);
		n = sendto(in->fd4, packet, len, 0, (struct sockaddr *)&to, sizeof to);
	} else if (len >= 40 && packet[0] >> 4 == 6) {
		/* The port field of a raw IPv6 destination must be zero. */
		struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
		memcpy(&to.sin6_addr, packet + 24, 16);
		n = sendto(in->fd6, packet, len, 0, (struct sockaddr *)&to, sizeof to);
	} else {
		if (asprintf(err, "inject: not an IP packet (%zu bytes)", len) < 0)
			*err = NULL;
		return -1;
	}
	if (n < 0) {
		if (asprintf(err, "inject: sendto: %s", strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	return 0;
}

void inject_close(struct injector *in)
{
	if (!in)
		return;
	if (in->fd4 >= 0)
		close(in->fd4);
	if (in->fd6 >= 0)
		close(in->fd6);
	free(in);
}
