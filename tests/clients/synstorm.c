/* synstorm.c — a test client of faultwire's: sends COUNT TCP SYNs to the
 * server, each from its own source port (IPv4, then IPv6 once the ports
 * run out), at most RATE per second, and stops. Bounded in count and time
 * by design; run only inside faultwire's client namespace, where the
 * server is 198.19.0.2 / 2001:db8:5::2.
 *
 * usage: synstorm COUNT [RATE [PORT]]    (defaults: RATE 20000, PORT 80) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim/craft.h"

#define FIRST_PORT 1024
#define PORTS (65536 - FIRST_PORT)

static void addr(struct packet_addr *a, int family, const char *text)
{
	memset(a, 0, sizeof *a);
	a->family = family;
	inet_pton(family, text, a->bytes);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: synstorm COUNT [RATE [PORT]]\n");
		return 2;
	}
	long count = strtol(argv[1], NULL, 10);
	double rate = argc > 2 ? strtod(argv[2], NULL) : 20000;
	int port = argc > 3 ? atoi(argv[3]) : 80;
	if (count <= 0 || count > 2L * PORTS || rate <= 0) {
		fprintf(stderr, "synstorm: COUNT must be 1..%d and RATE > 0\n", 2 * PORTS);
		return 2;
	}
	int fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	int fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	int one = 1;
	if (fd4 < 0 || fd6 < 0 || setsockopt(fd6, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof one) < 0) {
		fprintf(stderr, "synstorm: raw sockets: %s\n", strerror(errno));
		return 1;
	}
	struct craft_tcp syn4 = { .flags = TCP_SYN, .window = 65535, .dport = (uint16_t)port };
	struct craft_tcp syn6 = syn4;
	addr(&syn4.src, AF_INET, "198.18.0.2");
	addr(&syn4.dst, AF_INET, "198.19.0.2");
	addr(&syn6.src, AF_INET6, "2001:db8:c::2");
	addr(&syn6.dst, AF_INET6, "2001:db8:5::2");
	struct sockaddr_in to4 = { .sin_family = AF_INET };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6 };
	memcpy(&to4.sin_addr, syn4.dst.bytes, 4);
	memcpy(&to6.sin6_addr, syn6.dst.bytes, 16);

	double start = now_s();
	long sent = 0, failed = 0;
	uint8_t buf[128];
	for (long i = 0; i < count; i++) {
		/* Keep to the rate: never ahead of i / rate seconds. */
		double due = start + (double)i / rate;
		double now = now_s();
		if (due > now) {
			struct timespec pause = { 0, (long)((due - now) * 1e9) };
			nanosleep(&pause, NULL);
		}
		int v6 = i >= PORTS;
		struct craft_tcp *t = v6 ? &syn6 : &syn4;
		t->sport = (uint16_t)(FIRST_PORT + i % PORTS);
		t->seq = (uint32_t)(i * 2654435761u);
		size_t len = craft_tcp_segment(buf, sizeof buf, t);
		ssize_t n = v6 ? sendto(fd6, buf, len, 0, (struct sockaddr *)&to6, sizeof to6)
		               : sendto(fd4, buf, len, 0, (struct sockaddr *)&to4, sizeof to4);
		if (n < 0)
			failed++;
		else
			sent++;
	}
	printf("sent %ld SYNs in %.2f s (%ld failed)\n", sent, now_s() - start, failed);
	close(fd4);
	close(fd6);
	return failed ? 1 : 0;
}
