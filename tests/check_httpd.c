/* check_httpd.c — unit tests of the content generator and the built-in HTTP
 * server.
 *
 * Every test that runs the server first moves its (forked, private) process
 * into a network namespace of its own with only `lo` up, so that the tests
 * never touch the host's network and may all use the same port. The client
 * is a small blocking one written here, so that what is checked is what goes
 * over the wire rather than what a client library makes of it. */
#include "harness/content.h"
#include "harness/httpd.h"

#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_PORT 8080
#define TEST_SEED 0x5eedULL
#define TEST_TIMEOUT_S 5

struct reply {
	int status;
	char head[8192];        /* status line and headers, NUL-terminated */
	uint8_t *body;
	size_t body_len;
	bool eof;               /* the server closed the connection */
};

static struct httpd *server;

/* ---- network namespace and server fixture ---- */

static void netns_private(void)
{
	struct ifreq ifr;
	int fd;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_msg(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0, "lo up: %s", strerror(errno));
	close(fd);
}

static void server_setup(void)
{
	char *err = NULL;

	netns_private();
	server = httpd_start(-1, TEST_PORT, TEST_SEED, &err);
	ck_assert_msg(server != NULL, "httpd_start: %s", err ? err : "?");
}

static void server_teardown(void)
{
	httpd_free(server);
	server = NULL;
}

/* ---- a small blocking HTTP/1.1 client ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected socket to the test server over loopback of that family;
 * *local_port (may be NULL) gets the client's port. */
static int client_connect(int family, uint16_t port, uint16_t *local_port)
{
	struct timeval tv = { TEST_TIMEOUT_S, 0 };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(port);
		sa->sin6_addr = in6addr_loopback;
		len = sizeof(*sa);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sa);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ck_assert_msg(connect(fd, (struct sockaddr *)&ss, len) == 0, "connect: %s", strerror(errno));
	if (local_port != NULL) {
		len = sizeof(ss);
		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
		*local_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

static void client_send(int fd, const char *method, const char *path, const char *extra,
    bool keep_alive)
{
	char request[1024];
	int n = snprintf(request, sizeof(request),
	    "%s %s HTTP/1.1\r\nHost: server.test\r\n%s%s\r\n", method, path,
	    keep_alive ? "" : "Connection: close\r\n", extra ? extra : "");

	ck_assert(n > 0 && (size_t)n < sizeof(request));
	ck_assert_int_eq(send(fd, request, (size_t)n, MSG_NOSIGNAL), n);
}

/* The value of header name in r (copied into out), or NULL. */
static const char *reply_header(const struct reply *r, const char *name, char *out, size_t size)
{
	size_t name_len = strlen(name);
	const char *line = strstr(r->head, "\r\n");

	while (line != NULL && line[2] != '\0') {
		const char *start = line + 2;
		const char *end = strstr(start, "\r\n");

		if (end == NULL)
			break;
		if (strncasecmp(start, name, name_len) == 0 && start[name_len] == ':') {
			const char *v = start + name_len + 1;
			size_t n;

			while (*v == ' ')
				v++;
			n = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
		line = end;
	}
	return NULL;
}

/* Read one response: the head, then Content-Length bytes of body, or until
 * the server closes when there is no Content-Length (or head_only is false
 * and the connection is to close anyway). */
static void client_read_reply(int fd, bool head_only, struct reply *r)
{
	size_t head_len = 0, cap = 0, want = SIZE_MAX;
	char value[64], *end;

	memset(r, 0, sizeof(*r));
	for (;;) {
		ssize_t n;

		ck_assert_msg(head_len < sizeof(r->head) - 1, "response head too long");
		n = recv(fd, r->head + head_len, 1, 0);
		ck_assert_msg(n == 1, "connection ended inside the response head (%zd, %s)", n,
		    n < 0 ? strerror(errno) : "eof");
		head_len++;
		r->head[head_len] = '\0';
		if (head_len >= 4 && memcmp(r->head + head_len - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	ck_assert_msg(sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1, "bad status line: %s", r->head);
	if (reply_header(r, "Content-Length", value, sizeof(value)) != NULL) {
		want = strtoull(value, &end, 10);
		ck_assert(*end == '\0');
	}
	if (head_only)
		want = 0;
	while (r->body_len < want) {
		ssize_t n;

		if (r->body_len == cap) {
			cap = cap ? cap * 2 : 65536;
			r->body = realloc(r->body, cap);
			ck_assert_ptr_nonnull(r->body);
		}
		n = recv(fd, r->body + r->body_len,
		    want - r->body_len < cap - r->body_len ? want - r->body_len : cap - r->body_len, 0);
		ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->body_len += (size_t)n;
	}
}

static void reply_free(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* Wait (boundedly) for the server to close fd; true when it did, and when
 * no data came first unless data_allowed. */
static bool client_sees_close(int fd, bool data_allowed)
{
	char buf[65536];
	int64_t deadline = now_ms() + TEST_TIMEOUT_S * 1000;

	while (now_ms() < deadline) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n > 0 && !data_allowed)
			return false;
		if (n < 0 && errno != EINTR)
			return false;
	}
	return false;
}

/* One request on a fresh connection that the server then closes. */
static void fetch(int family, const char *method, const char *path, const char *extra,
    struct reply *r, uint16_t *local_port)
{
	int fd = client_connect(family, TEST_PORT, local_port);

	client_send(fd, method, path, extra, false);
	client_read_reply(fd, strcmp(method, "HEAD") == 0, r);
	/* Connection: close was asked: nothing may follow the response. */
	ck_assert_msg(client_sees_close(fd, false), "server did not close cleanly after %s %s", method, path);
	close(fd);
}

static void assert_content(const struct reply *r, uint64_t offset, size_t len)
{
	uint8_t *want = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(want);
	content_fill(TEST_SEED, offset, want, len);
	ck_assert_uint_eq(r->body_len, len);
	ck_assert_msg(memcmp(r->body, want, len) == 0, "body differs from content at offset %llu",
	    (unsigned long long)offset);
	free(want);
}

static void assert_header(const struct reply *r, const char *name, const char *expected)
{
	char value[256];

	if (expected == NULL) {
		ck_assert_msg(reply_header(r, name, value, sizeof(value)) == NULL,
		    "unexpected header %s: %s", name, value);
		return;
	}
	ck_assert_msg(reply_header(r, name, value, sizeof(value)) != NULL,
	    "no %s header in:\n%s", name, r->head);
	ck_assert_str_eq(value, expected);
}

/* ---- content ---- */

static uint64_t reference_splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

START_TEST(test_content_deterministic)
{
	uint8_t a[4096], b[4096], c[4096];

	content_fill(1, 0, a, sizeof(a));
	content_fill(1, 0, b, sizeof(b));
	content_fill(2, 0, c, sizeof(c));
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	/* Not constant within a run either. */
	ck_assert(memcmp(a, a + 8, 8) != 0);
}
END_TEST

START_TEST(test_content_definition)
{
	uint64_t seed = 42, word;
	uint8_t got[24];
	int block, i;

	/* The documented definition: little-endian words of
	 * splitmix64(seed * golden ^ block). */
	content_fill(seed, 0, got, sizeof(got));
	for (block = 0; block < 3; block++) {
		word = reference_splitmix64(seed * 0x9E3779B97F4A7C15ULL ^ (uint64_t)block);
		for (i = 0; i < 8; i++)
			ck_assert_uint_eq(got[block * 8 + i], (word >> (8 * i)) & 0xff);
	}
}
END_TEST

START_TEST(test_content_offsets)
{
	uint8_t whole[256], part[128];
	size_t offset, len;

	content_fill(7, 0, whole, sizeof(whole));
	/* Every alignment of start and end, each slice equal to the whole. */
	for (offset = 0; offset < 64; offset++) {
		for (len = 0; len <= 80; len++) {
			memset(part, 0xa5, sizeof(part));
			content_fill(7, offset, part, len);
			ck_assert_msg(memcmp(part, whole + offset, len) == 0,
			    "offset %zu len %zu", offset, len);
			ck_assert_uint_eq(part[len], 0xa5);
		}
	}
	content_fill(7, 37, part, 63);
	ck_assert_mem_eq(part, whole + 37, 63);
}
END_TEST

START_TEST(test_content_far_offset)
{
	uint64_t base = (5ULL << 30) + 3;       /* beyond 4 GiB, unaligned */
	uint8_t whole[64], part[40];

	content_fill(9, base, whole, sizeof(whole));
	content_fill(9, base + 11, part, sizeof(part));
	ck_assert_mem_eq(part, whole + 11, sizeof(part));
}
END_TEST

static char *write_temp(const uint8_t *data, size_t len)
{
	char *path = strdup("/tmp/check_httpd.XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(test_content_compare_file)
{
	size_t size = 200000;   /* several 64 KiB blocks and a partial one */
	uint8_t *data = malloc(size);
	char *path, *why = NULL;

	ck_assert_ptr_nonnull(data);
	content_fill(TEST_SEED, 0, data, size);

	path = write_temp(data, size);
	ck_assert_int_eq(content_compare_file(path, TEST_SEED, size, &why), 1);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(content_compare_file(path, TEST_SEED + 1, size, &why), 0);
	ck_assert_str_eq(why, "first difference at byte 0");
	free(why);
	/* Longer than expected. */
	ck_assert_int_eq(content_compare_file(path, TEST_SEED, 1000, &why), 0);
	ck_assert_str_eq(why, "file is 200000 bytes, expected 1000");
	free(why);
	unlink(path);
	free(path);

	path = write_temp(data, 65536);
	ck_assert_int_eq(content_compare_file(path, TEST_SEED, size, &why), 0);
	ck_assert_str_eq(why, "file is 65536 bytes, expected 200000");
	free(why);
	unlink(path);
	free(path);

	data[131073] ^= 0x01;   /* in the third block */
	path = write_temp(data, size);
	ck_assert_int_eq(content_compare_file(path, TEST_SEED, size, &why), 0);
	ck_assert_str_eq(why, "first difference at byte 131073");
	free(why);
	unlink(path);
	free(path);

	ck_assert_int_eq(content_compare_file("/nonexistent/check_httpd", TEST_SEED, 1, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/check_httpd"));
	free(why);
	free(data);
}
END_TEST

START_TEST(test_content_compare_pipe)
{
	/* Not a regular file: the size is only known at the end. */
	uint8_t data[100000];
	char *why = NULL;
	int fds[2];
	pid_t pid;

	content_fill(3, 0, data, sizeof(data));
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		ck_assert_int_eq(write(fds[1], data, 70000), 70000);
		_exit(0);
	}
	close(fds[1]);
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
		ck_assert_int_eq(content_compare_file(path, 3, sizeof(data), &why), 0);
	}
	ck_assert_str_eq(why, "file is 70000 bytes, expected 100000");
	free(why);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* ---- httpd_render ---- */

START_TEST(test_render)
{
	uint8_t *body, want[1000];
	size_t len;

	ck_assert_int_eq(httpd_render("/status/418", 1, &body, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(body);
	free(body);

	ck_assert_int_eq(httpd_render("/slow?ms=5", 1, &body, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(body, "slow\n", 5);
	free(body);

	ck_assert_int_eq(httpd_render("/playlist.m3u", 1, &body, &len), 0);
	ck_assert_uint_gt(len, 7);
	ck_assert_mem_eq(body, "#EXTM3U\n", 8);
	free(body);

	ck_assert_int_eq(httpd_render("/bytes/1000", 77, &body, &len), 0);
	content_fill(77, 0, want, sizeof(want));
	ck_assert_uint_eq(len, 1000);
	ck_assert_mem_eq(body, want, 1000);
	free(body);

	ck_assert_int_eq(httpd_render("/bytes/16777217", 1, &body, &len), -1);
	ck_assert_int_eq(httpd_render("/stream?kbit=10&bytes=10", 1, &body, &len), -1);
	ck_assert_int_eq(httpd_render("/status/600", 1, &body, &len), -1);
	ck_assert_int_eq(httpd_render("/bytes/12x", 1, &body, &len), -1);
	ck_assert_int_eq(httpd_render("/nothing", 1, &body, &len), -1);
	ck_assert_ptr_null(body);
}
END_TEST

/* ---- server ---- */

START_TEST(test_bytes_full)
{
	size_t size = 1048576 + 123;
	struct reply r;
	char value[32];

	fetch(AF_INET, "GET", "/bytes/1048699", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	snprintf(value, sizeof(value), "%zu", size);
	assert_header(&r, "Content-Length", value);
	assert_header(&r, "Transfer-Encoding", NULL);
	assert_header(&r, "Accept-Ranges", "bytes");
	assert_header(&r, "Server", "faultwire");
	assert_header(&r, "Content-Range", NULL);
	assert_content(&r, 0, size);
	reply_free(&r);
}
END_TEST

START_TEST(test_bytes_ipv6)
{
	struct reply r;

	fetch(AF_INET6, "GET", "/bytes/300001", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_content(&r, 0, 300001);
	reply_free(&r);
}
END_TEST

START_TEST(test_bytes_empty)
{
	struct reply r;

	fetch(AF_INET, "GET", "/bytes/0", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_header(&r, "Content-Length", "0");
	ck_assert_uint_eq(r.body_len, 0);
	reply_free(&r);
}
END_TEST

START_TEST(test_bytes_range)
{
	struct reply r;

	fetch(AF_INET, "GET", "/bytes/1000000", "Range: bytes=1000-1999\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 206);
	assert_header(&r, "Content-Range", "bytes 1000-1999/1000000");
	assert_header(&r, "Content-Length", "1000");
	assert_content(&r, 1000, 1000);
	reply_free(&r);

	/* Open-ended, spanning several chunks, unaligned. */
	fetch(AF_INET6, "GET", "/bytes/1000000", "Range: bytes=3-\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 206);
	assert_header(&r, "Content-Range", "bytes 3-999999/1000000");
	assert_content(&r, 3, 999997);
	reply_free(&r);

	/* An end past the body is cut to it. */
	fetch(AF_INET, "GET", "/bytes/1000", "Range: bytes=990-5000\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 206);
	assert_header(&r, "Content-Range", "bytes 990-999/1000");
	assert_content(&r, 990, 10);
	reply_free(&r);
}
END_TEST

START_TEST(test_bytes_suffix_range)
{
	struct reply r;

	fetch(AF_INET, "GET", "/bytes/100000", "Range: bytes=-500\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 206);
	assert_header(&r, "Content-Range", "bytes 99500-99999/100000");
	assert_content(&r, 99500, 500);
	reply_free(&r);

	/* A suffix longer than the body is the whole body. */
	fetch(AF_INET, "GET", "/bytes/100", "Range: bytes=-500\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 206);
	assert_header(&r, "Content-Range", "bytes 0-99/100");
	assert_content(&r, 0, 100);
	reply_free(&r);
}
END_TEST

START_TEST(test_bytes_unsatisfiable)
{
	struct reply r;

	fetch(AF_INET, "GET", "/bytes/100000", "Range: bytes=100000-\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 416);
	assert_header(&r, "Content-Range", "bytes */100000");
	assert_header(&r, "Content-Length", "0");
	ck_assert_uint_eq(r.body_len, 0);
	reply_free(&r);

	fetch(AF_INET, "GET", "/bytes/100000", "Range: bytes=-0\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 416);
	reply_free(&r);
}
END_TEST

START_TEST(test_bytes_ignored_ranges)
{
	struct reply r;

	/* Several ranges, a reversed one, another unit: all answered in full. */
	fetch(AF_INET, "GET", "/bytes/5000", "Range: bytes=0-1,5-6\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_header(&r, "Content-Range", NULL);
	assert_content(&r, 0, 5000);
	reply_free(&r);

	fetch(AF_INET, "GET", "/bytes/5000", "Range: bytes=20-10\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_content(&r, 0, 5000);
	reply_free(&r);

	fetch(AF_INET, "GET", "/bytes/5000", "Range: items=0-1\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_content(&r, 0, 5000);
	reply_free(&r);
}
END_TEST

START_TEST(test_head)
{
	struct reply r;

	fetch(AF_INET, "HEAD", "/bytes/5000", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_header(&r, "Content-Length", "5000");
	reply_free(&r);

	fetch(AF_INET6, "HEAD", "/bytes/5000", "Range: bytes=100-199\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 206);
	assert_header(&r, "Content-Length", "100");
	assert_header(&r, "Content-Range", "bytes 100-199/5000");
	reply_free(&r);

	fetch(AF_INET, "HEAD", "/playlist.m3u", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	/* fetch() checked that no body followed either head. */
}
END_TEST

START_TEST(test_status)
{
	struct reply r;

	fetch(AF_INET, "GET", "/status/418", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 418);
	ck_assert_ptr_nonnull(strstr(r.head, "418 I'm a teapot\r\n"));
	assert_header(&r, "Content-Length", "0");
	reply_free(&r);

	fetch(AF_INET, "GET", "/status/503", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 503);
	reply_free(&r);

	fetch(AF_INET, "GET", "/status/204", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 204);
	assert_header(&r, "Content-Length", NULL);
	reply_free(&r);

	fetch(AF_INET, "GET", "/status/600", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 400);
	reply_free(&r);
}
END_TEST

START_TEST(test_slow)
{
	int64_t t0 = now_ms();
	struct reply r;

	fetch(AF_INET, "GET", "/slow?ms=150", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 5);
	ck_assert_mem_eq(r.body, "slow\n", 5);
	/* A lower bound only: the answer may never come before the delay. */
	ck_assert_int_ge(now_ms() - t0, 150);
	reply_free(&r);

	fetch(AF_INET, "GET", "/slow?ms=soon", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 400);
	reply_free(&r);
}
END_TEST

START_TEST(test_not_found)
{
	struct reply r;

	fetch(AF_INET, "GET", "/nothing/here", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 404);
	assert_header(&r, "Server", "faultwire");
	reply_free(&r);

	fetch(AF_INET, "GET", "/bytes/12abc", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 400);
	reply_free(&r);

	fetch(AF_INET, "POST", "/bytes/12", "Content-Length: 0\r\n", &r, NULL);
	ck_assert_int_eq(r.status, 405);
	assert_header(&r, "Allow", "GET, HEAD");
	reply_free(&r);
}
END_TEST

START_TEST(test_stream)
{
	struct reply r;

	fetch(AF_INET, "GET", "/stream?kbit=16000&bytes=200000", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_header(&r, "Content-Length", "200000");
	assert_header(&r, "Transfer-Encoding", NULL);
	assert_content(&r, 0, 200000);
	reply_free(&r);

	fetch(AF_INET, "GET", "/stream?kbit=0&bytes=10", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 400);
	reply_free(&r);
}
END_TEST

START_TEST(test_playlist)
{
	uint8_t *body;
	const char *p;
	struct reply r;
	size_t len;
	int entries = 0;

	fetch(AF_INET, "GET", "/playlist.m3u", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(httpd_render("/playlist.m3u", TEST_SEED, &body, &len), 0);
	ck_assert_uint_eq(r.body_len, len);
	ck_assert_mem_eq(r.body, body, len);
	for (p = (const char *)body; (p = strstr(p, "\nhttp://server.test/stream?kbit=")) != NULL; p++)
		entries++;
	ck_assert_int_eq(entries, 3);
	free(body);
	reply_free(&r);
}
END_TEST

START_TEST(test_keep_alive)
{
	int fd = client_connect(AF_INET, TEST_PORT, NULL);
	struct reply r;

	/* A streamed body, then more requests on the same connection. */
	client_send(fd, "GET", "/bytes/600000", NULL, true);
	client_read_reply(fd, false, &r);
	ck_assert_int_eq(r.status, 200);
	assert_content(&r, 0, 600000);
	reply_free(&r);

	client_send(fd, "GET", "/slow?ms=10", NULL, true);
	client_read_reply(fd, false, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_mem_eq(r.body, "slow\n", 5);
	reply_free(&r);

	client_send(fd, "GET", "/bytes/10", "Range: bytes=2-\r\n", true);
	client_read_reply(fd, false, &r);
	ck_assert_int_eq(r.status, 206);
	assert_content(&r, 2, 8);
	reply_free(&r);
	close(fd);
}
END_TEST

START_TEST(test_request_log)
{
	const struct httpd_request *log;
	uint16_t port4, port6;
	struct reply r;
	size_t count;

	fetch(AF_INET, "GET", "/bytes/100?x=1", "Range: bytes=0-3\r\n", &r, &port4);
	reply_free(&r);
	fetch(AF_INET6, "HEAD", "/status/418", NULL, &r, &port6);
	reply_free(&r);
	fetch(AF_INET, "GET", "/missing", NULL, &r, NULL);
	reply_free(&r);
	httpd_stop(server);

	log = httpd_requests(server, &count);
	ck_assert_uint_eq(count, 3);
	ck_assert_str_eq(log[0].method, "GET");
	ck_assert_str_eq(log[0].path, "/bytes/100?x=1");
	ck_assert_str_eq(log[0].range, "bytes=0-3");
	ck_assert_int_eq(log[0].status, 206);
	ck_assert_str_eq(log[0].peer, "127.0.0.1");
	ck_assert_uint_eq(log[0].peer_port, port4);

	ck_assert_str_eq(log[1].method, "HEAD");
	ck_assert_str_eq(log[1].path, "/status/418");
	ck_assert_str_eq(log[1].range, "");
	ck_assert_int_eq(log[1].status, 418);
	ck_assert_str_eq(log[1].peer, "::1");
	ck_assert_uint_eq(log[1].peer_port, port6);

	ck_assert_str_eq(log[2].path, "/missing");
	ck_assert_int_eq(log[2].status, 404);
	ck_assert(log[0].t_ns > 0 && log[0].t_ns <= log[1].t_ns && log[1].t_ns <= log[2].t_ns);
}
END_TEST

START_TEST(test_request_log_long_path)
{
	char path[400];
	const struct httpd_request *log;
	struct reply r;
	size_t count;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	fetch(AF_INET, "GET", path, NULL, &r, NULL);
	ck_assert_int_eq(r.status, 404);
	reply_free(&r);
	httpd_stop(server);
	log = httpd_requests(server, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(strlen(log[0].path), sizeof(log[0].path) - 1);
	ck_assert(strncmp(log[0].path, path, sizeof(log[0].path) - 1) == 0);
}
END_TEST

static int blocked_calls;
static char blocked_peer[] = "127.0.0.1";

static int block_ipv4(const char *peer, void *arg)
{
	blocked_calls++;
	return strcmp(peer, (const char *)arg) == 0;
}

START_TEST(test_block)
{
	const struct httpd_request *log;
	struct reply r;
	size_t count;

	httpd_set_block(server, block_ipv4, blocked_peer);
	fetch(AF_INET, "GET", "/bytes/10", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 403);
	ck_assert_uint_eq(r.body_len, 0);
	reply_free(&r);
	fetch(AF_INET6, "GET", "/bytes/10", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	httpd_set_block(server, NULL, NULL);
	fetch(AF_INET, "GET", "/bytes/10", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	httpd_stop(server);

	ck_assert_int_eq(blocked_calls, 2);
	log = httpd_requests(server, &count);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(log[0].status, 403);
	ck_assert_int_eq(log[1].status, 200);
	ck_assert_int_eq(log[2].status, 200);
}
END_TEST

/* Close with SO_LINGER 0: the server's next write meets a reset. */
static void client_reset(int fd)
{
	struct linger lg = { 1, 0 };

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
}

static void client_read_some(int fd, size_t len)
{
	uint8_t buf[16384];
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf, sizeof(buf) < len - got ? sizeof(buf) : len - got, 0);

		ck_assert_msg(n > 0, "recv: %s", n < 0 ? strerror(errno) : "eof");
		got += (size_t)n;
	}
}

START_TEST(test_reset_mid_body)
{
	const struct httpd_request *log;
	struct reply r;
	size_t count;
	int fd, i;

	for (i = 0; i < 3; i++) {
		fd = client_connect(i % 2 ? AF_INET6 : AF_INET, TEST_PORT, NULL);
		client_send(fd, "GET", "/bytes/100000000", NULL, false);
		client_read_some(fd, 65536);
		client_reset(fd);
	}
	/* Also while paced, and while a delayed answer is pending. */
	fd = client_connect(AF_INET, TEST_PORT, NULL);
	client_send(fd, "GET", "/stream?kbit=8000&bytes=10000000", NULL, false);
	client_read_some(fd, 4096);
	client_reset(fd);
	fd = client_connect(AF_INET, TEST_PORT, NULL);
	client_send(fd, "GET", "/slow?ms=100", NULL, false);
	usleep(30 * 1000);
	client_reset(fd);
	usleep(200 * 1000);

	fetch(AF_INET, "GET", "/bytes/100000", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_content(&r, 0, 100000);
	reply_free(&r);
	httpd_stop(server);

	log = httpd_requests(server, &count);
	ck_assert_uint_eq(count, 6);
	ck_assert_str_eq(log[0].path, "/bytes/100000000");
	ck_assert_int_eq(log[0].status, 200);
	ck_assert_str_eq(log[5].path, "/bytes/100000");
	ck_assert_int_eq(log[5].status, 200);
}
END_TEST

START_TEST(test_stop_with_transfers)
{
	struct reply r;
	int bytes_fd, stream_fd, slow_fd, idle_fd;

	bytes_fd = client_connect(AF_INET, TEST_PORT, NULL);
	client_send(bytes_fd, "GET", "/bytes/100000000", NULL, false);
	client_read_some(bytes_fd, 1000);
	stream_fd = client_connect(AF_INET6, TEST_PORT, NULL);
	client_send(stream_fd, "GET", "/stream?kbit=100&bytes=1000000", NULL, false);
	slow_fd = client_connect(AF_INET, TEST_PORT, NULL);
	client_send(slow_fd, "GET", "/slow?ms=60000", NULL, false);
	/* A kept-alive connection between requests. */
	idle_fd = client_connect(AF_INET, TEST_PORT, NULL);
	client_send(idle_fd, "GET", "/status/200", NULL, true);
	client_read_reply(idle_fd, false, &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	usleep(100 * 1000);

	httpd_stop(server);
	httpd_stop(server);
	/* Every connection was closed by the stop. */
	ck_assert(client_sees_close(bytes_fd, true));
	ck_assert(client_sees_close(stream_fd, true));
	ck_assert(client_sees_close(slow_fd, false));
	ck_assert(client_sees_close(idle_fd, false));
	close(bytes_fd);
	close(stream_fd);
	close(slow_fd);
	close(idle_fd);
	httpd_free(server);
	server = NULL;
	httpd_free(NULL);
}
END_TEST

START_TEST(test_many_connections)
{
	enum { CLIENTS = 20 };
	int fds[CLIENTS], i;
	struct reply r;

	/* Interleaved streams on one server thread. */
	for (i = 0; i < CLIENTS; i++) {
		char path[64];

		fds[i] = client_connect(i % 2 ? AF_INET6 : AF_INET, TEST_PORT, NULL);
		snprintf(path, sizeof(path), "/bytes/%d", 300000 + i);
		client_send(fds[i], "GET", path, NULL, false);
	}
	for (i = 0; i < CLIENTS; i++) {
		client_read_reply(fds[i], false, &r);
		ck_assert_int_eq(r.status, 200);
		assert_content(&r, 0, 300000 + (size_t)i);
		reply_free(&r);
		close(fds[i]);
	}
}
END_TEST

/* ---- start errors and namespaces ---- */

START_TEST(test_port_in_use)
{
	struct httpd *second;
	char *err = NULL;

	second = httpd_start(-1, TEST_PORT, TEST_SEED, &err);
	ck_assert_ptr_null(second);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "8080") != NULL && strstr(err, "in use") != NULL, "err: %s", err);
	free(err);
}
END_TEST

START_TEST(test_bad_namespace)
{
	struct httpd *h;
	char *err = NULL;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	netns_private();
	ck_assert_int_ge(fd, 0);
	h = httpd_start(fd, TEST_PORT, TEST_SEED, &err);
	ck_assert_ptr_null(h);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "namespace") != NULL, "err: %s", err);
	free(err);
	close(fd);
}
END_TEST

static ino_t current_netns(void)
{
	struct stat st;

	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

START_TEST(test_other_namespace)
{
	struct httpd *h;
	struct reply r;
	char *err = NULL;
	ino_t here;
	int server_ns, client_ns, fd;

	/* Two private namespaces: the server's, and this thread's own. */
	netns_private();
	server_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(server_ns, 0);
	netns_private();
	client_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(client_ns, 0);
	here = current_netns();

	h = httpd_start(server_ns, TEST_PORT, TEST_SEED, &err);
	ck_assert_msg(h != NULL, "httpd_start: %s", err ? err : "?");
	ck_assert_msg(current_netns() == here, "httpd_start left the thread in another namespace");

	/* Nothing listens here... */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(TEST_PORT),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), -1);
		ck_assert_int_eq(errno, ECONNREFUSED);
	}
	close(fd);
	/* ...but in the server's namespace it answers. */
	ck_assert_int_eq(setns(server_ns, CLONE_NEWNET), 0);
	fetch(AF_INET6, "GET", "/bytes/1000", NULL, &r, NULL);
	ck_assert_int_eq(r.status, 200);
	assert_content(&r, 0, 1000);
	reply_free(&r);
	ck_assert_int_eq(setns(client_ns, CLONE_NEWNET), 0);

	httpd_free(h);
	close(server_ns);
	close(client_ns);
}
END_TEST

static Suite *content_suite(void)
{
	Suite *s = suite_create("content");
	TCase *tc = tcase_create("content");

	tcase_add_test(tc, test_content_deterministic);
	tcase_add_test(tc, test_content_definition);
	tcase_add_test(tc, test_content_offsets);
	tcase_add_test(tc, test_content_far_offset);
	tcase_add_test(tc, test_content_compare_file);
	tcase_add_test(tc, test_content_compare_pipe);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *httpd_suite(void)
{
	Suite *s = suite_create("httpd");
	TCase *render = tcase_create("render");
	TCase *serve = tcase_create("serve");
	TCase *start = tcase_create("start");

	tcase_add_test(render, test_render);
	suite_add_tcase(s, render);

	tcase_add_checked_fixture(serve, server_setup, server_teardown);
	tcase_set_timeout(serve, 30);
	tcase_add_test(serve, test_bytes_full);
	tcase_add_test(serve, test_bytes_ipv6);
	tcase_add_test(serve, test_bytes_empty);
	tcase_add_test(serve, test_bytes_range);
	tcase_add_test(serve, test_bytes_suffix_range);
	tcase_add_test(serve, test_bytes_unsatisfiable);
	tcase_add_test(serve, test_bytes_ignored_ranges);
	tcase_add_test(serve, test_head);
	tcase_add_test(serve, test_status);
	tcase_add_test(serve, test_slow);
	tcase_add_test(serve, test_not_found);
	tcase_add_test(serve, test_stream);
	tcase_add_test(serve, test_playlist);
	tcase_add_test(serve, test_keep_alive);
	tcase_add_test(serve, test_request_log);
	tcase_add_test(serve, test_request_log_long_path);
	tcase_add_test(serve, test_block);
	tcase_add_test(serve, test_reset_mid_body);
	tcase_add_test(serve, test_stop_with_transfers);
	tcase_add_test(serve, test_many_connections);
	tcase_add_test(serve, test_port_in_use);
	suite_add_tcase(s, serve);

	tcase_set_timeout(start, 30);
	tcase_add_test(start, test_bad_namespace);
	tcase_add_test(start, test_other_namespace);
	suite_add_tcase(s, start);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(content_suite());
	int failed;

	srunner_add_suite(sr, httpd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
