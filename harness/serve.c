/* serve.c — what the built-in servers share; see serve.h. */
#include "harness/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/thread.h>

static pthread_once_t serve_threads_once = PTHREAD_ONCE_INIT;

static void serve_threads_once_init(void)
{
	/* Bases made afterwards get locks. */
	evthread_use_pthreads();
}

void serve_threads_init(void)
{
	pthread_once(&serve_threads_once, serve_threads_once_init);
}

void serve_err(char **err, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

int64_t serve_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void serve_copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strnlen(src, size - 1) : 0;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int serve_socket(int ns_fd, int type, uint16_t port, const char *what, char **err)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	int orig_ns = -1, fd = -1, ret = -1, v6 = 1;
	const int one = 1, zero = 0;

	if (ns_fd >= 0) {
		orig_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (orig_ns < 0) {
			serve_err(err, "%s: cannot open this thread's network namespace: %s", what, strerror(errno));
			goto out;
		}
		if (setns(ns_fd, CLONE_NEWNET) < 0) {
			serve_err(err, "%s: cannot enter the server's network namespace: %s", what, strerror(errno));
			goto out;
		}
	}
	fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT) {
		/* A kernel without IPv6: serve IPv4 alone. */
		v6 = 0;
		fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		serve_err(err, "%s: cannot make its socket: %s", what, strerror(errno));
		goto out;
	}
	if ((type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)) {
		serve_err(err, "%s: cannot set its socket's options: %s", what, strerror(errno));
		goto out;
	}
	if ((v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof sa6) : bind(fd, (struct sockaddr *)&sa4, sizeof sa4)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)) {
		serve_err(err, "%s: cannot serve on %s port %u: %s", what, type == SOCK_STREAM ? "TCP" : "UDP",
		          (unsigned)port, strerror(errno));
		goto out;
	}
	ret = fd;
	fd = -1;
out:
	if (orig_ns >= 0) {
		if (setns(orig_ns, CLONE_NEWNET) < 0 && ret >= 0) {
			serve_err(err, "%s: cannot return to the original network namespace: %s", what, strerror(errno));
			close(ret);
			ret = -1;
		}
		close(orig_ns);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}
