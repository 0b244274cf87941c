/* check_netns.c — unit tests of harness/netns.c: the three-namespace
 * topology carries TCP over IPv4 and IPv6 through mid without address
 * translation, leaves the test's own namespace exactly as it was, vanishes
 * with its fds, can be built several times at once in parallel threads, and
 * netns_run runs commands inside a namespace with their stdin and stderr.
 * Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 and iptables. */
#include "harness/netns.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SERVER_PORT 8080
#define PARALLEL_RUNS 5
#define IO_TIMEOUT_S 5

/* Enough to keep a test's failure message readable. */
#define WHY_SIZE 512

static void why_set(char *why, const char *what, const char *detail)
{
	snprintf(why, WHY_SIZE, "%s: %s", what, detail);
}

/* Open a socket inside ns_fd: a socket belongs for good to the namespace it
 * was made in, so the thread can go back at once. Returns -1 with why. */
static int socket_in(int ns_fd, int family, char *why)
{
	char *err = NULL;
	int saved, fd;

	if (netns_enter(ns_fd, &saved, &err) < 0) {
		why_set(why, "netns_enter", err ? err : "?");
		free(err);
		return -1;
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		why_set(why, "socket", strerror(errno));
	netns_leave(saved);
	return fd;
}

static void sockaddr_fill(struct sockaddr_storage *ss, socklen_t *len, int family,
                          const char *address, unsigned short port)
{
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, address, &sin->sin_addr);
		*len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, address, &sin6->sin6_addr);
		*len = sizeof *sin6;
	}
}

static void address_text(const struct sockaddr_storage *ss, char *text, size_t size)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, size);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, text, size);
}

static void timeouts_set(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static bool exact_recv(int fd, const char *expected, char *why, const char *who)
{
	char buf[128];
	size_t want = strlen(expected), have = 0;
	ssize_t got;

	while (have < want) {
		got = recv(fd, buf + have, want - have, 0);
		if (got <= 0) {
			why_set(why, who, got < 0 ? strerror(errno) : "connection closed early");
			return false;
		}
		have += (size_t)got;
	}
	buf[have] = '\0';
	if (strcmp(buf, expected) != 0) {
		snprintf(why, WHY_SIZE, "%s: expected \"%s\", got \"%s\"", who, expected, buf);
		return false;
	}
	return true;
}

/* From client, connect to server_address:8080 where a listener of the server
 * namespace waits, and exchange a line each way. The server must see the
 * client's own address (mid routes, it does not translate), and the client
 * must have used it. tag makes each run's bytes its own. Usable from any
 * thread: returns false with why instead of failing the test itself. */
static bool tcp_exchange(const struct topology *t, int family, const char *server_address,
                         const char *client_address, const char *tag, char *why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char text[INET6_ADDRSTRLEN], request[64], answer[64];
	int listener = -1, client = -1, accepted = -1, on = 1;
	bool ok = false;

	snprintf(request, sizeof request, "ping %s %s\n", tag, server_address);
	snprintf(answer, sizeof answer, "pong %s %s\n", tag, client_address);

	listener = socket_in(t->server_ns, family, why);
	if (listener < 0)
		goto out;
	if (family == AF_INET6)
		setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	timeouts_set(listener);
	sockaddr_fill(&ss, &len, family, family == AF_INET ? "0.0.0.0" : "::", SERVER_PORT);
	if (bind(listener, (struct sockaddr *)&ss, len) < 0 || listen(listener, 4) < 0) {
		why_set(why, "server bind/listen on port 8080", strerror(errno));
		goto out;
	}

	/* The kernel completes the handshake on its own, so one thread can
	 * play both sides: connect first, accept after. */
	client = socket_in(t->client_ns, family, why);
	if (client < 0)
		goto out;
	timeouts_set(client);
	sockaddr_fill(&ss, &len, family, server_address, SERVER_PORT);
	if (connect(client, (struct sockaddr *)&ss, len) < 0) {
		/* With SO_SNDTIMEO, a connect that ran out of time says EINPROGRESS. */
		snprintf(why, WHY_SIZE, "client connect to %s:8080: %s", server_address,
		         errno == EINPROGRESS ? "no answer within 5 s" : strerror(errno));
		goto out;
	}
	len = sizeof ss;
	if (getsockname(client, (struct sockaddr *)&ss, &len) < 0) {
		why_set(why, "client getsockname", strerror(errno));
		goto out;
	}
	address_text(&ss, text, sizeof text);
	if (strcmp(text, client_address) != 0) {
		snprintf(why, WHY_SIZE, "client bound to %s, expected %s", text, client_address);
		goto out;
	}

	len = sizeof ss;
	accepted = accept4(listener, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (accepted < 0) {
		why_set(why, "server accept", strerror(errno));
		goto out;
	}
	timeouts_set(accepted);
	address_text(&ss, text, sizeof text);
	if (strcmp(text, client_address) != 0) {
		snprintf(why, WHY_SIZE, "server saw peer %s, expected %s", text, client_address);
		goto out;
	}

	if (send(client, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
		why_set(why, "client send", strerror(errno));
		goto out;
	}
	if (!exact_recv(accepted, request, why, "server recv"))
		goto out;
	if (send(accepted, answer, strlen(answer), MSG_NOSIGNAL) != (ssize_t)strlen(answer)) {
		why_set(why, "server send", strerror(errno));
		goto out;
	}
	if (!exact_recv(client, answer, why, "client recv"))
		goto out;
	ok = true;
out:
	if (accepted >= 0)
		close(accepted);
	if (client >= 0)
		close(client);
	if (listener >= 0)
		close(listener);
	return ok;
}

static void topology_make(struct topology *t)
{
	char *err = NULL;

	if (topology_create(t, &err) < 0)
		ck_abort_msg("topology_create: %s", err ? err : "(no message)");
	ck_assert_ptr_null(err);
	ck_assert_int_ge(t->client_ns, 0);
	ck_assert_int_ge(t->mid_ns, 0);
	ck_assert_int_ge(t->server_ns, 0);
}

/* The ifindex of ifname inside ns_fd, 0 when there is none. */
static unsigned int ifindex_in(int ns_fd, const char *ifname)
{
	char *err = NULL;
	unsigned int index;
	int saved;

	if (netns_enter(ns_fd, &saved, &err) < 0)
		ck_abort_msg("netns_enter: %s", err);
	index = if_nametoindex(ifname);
	netns_leave(saved);
	return index;
}

static char *file_read(const char *path)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	FILE *in = fopen(path, "re");
	char buf[4096];
	size_t n;

	ck_assert_ptr_nonnull(out);
	if (!in) {
		fprintf(out, "(cannot open %s: %s)\n", path, strerror(errno));
	} else {
		while ((n = fread(buf, 1, sizeof buf, in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(in);
	}
	fclose(out);
	return text;
}

/* Everything topology_create could change in a namespace, as text: the
 * interfaces, both routing tables and the sysctls it writes. Read through
 * /proc/thread-self so that it shows the calling thread's namespace. */
static char *namespace_snapshot(void)
{
	static const char *const files[] = {
		"/proc/thread-self/net/route",
		"/proc/thread-self/net/ipv6_route",
		"/proc/sys/net/ipv4/ip_forward",
		"/proc/sys/net/ipv6/conf/all/forwarding",
		"/proc/sys/net/ipv6/conf/all/accept_dad",
		"/proc/sys/net/ipv6/conf/default/accept_dad",
		"/proc/sys/net/ipv6/conf/all/accept_ra",
		"/proc/sys/net/ipv6/conf/default/accept_ra",
	};
	struct if_nameindex *links = if_nameindex(), *link;
	char *text = NULL, *content;
	size_t size = 0, i;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(links);
	for (link = links; link->if_index; link++)
		fprintf(out, "link %u %s\n", link->if_index, link->if_name);
	if_freenameindex(links);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		content = file_read(files[i]);
		fprintf(out, "== %s\n%s", files[i], content);
		free(content);
	}
	fclose(out);
	return text;
}

static int fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int count = 0;

	ck_assert_ptr_nonnull(dir);
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

/* Whether any fd of this process still refers to the namespace of inode. */
static bool namespace_referenced(ino_t inode)
{
	char wanted[64], path[300], target[64];
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	bool found = false;
	ssize_t n;

	ck_assert_ptr_nonnull(dir);
	snprintf(wanted, sizeof wanted, "net:[%lu]", (unsigned long)inode);
	while ((entry = readdir(dir))) {
		snprintf(path, sizeof path, "/proc/self/fd/%s", entry->d_name);
		n = readlink(path, target, sizeof target - 1);
		if (n > 0) {
			target[n] = '\0';
			found = found || strcmp(target, wanted) == 0;
		}
	}
	closedir(dir);
	return found;
}

/* Wait (up to 5 s: namespaces are dismantled by a kernel worker, later)
 * until none of the named links exists any more inside ns_fd. */
static bool links_vanish(int ns_fd, const char *const names[], size_t count)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	size_t i, left;
	int tries;

	for (tries = 0; tries < 500; tries++) {
		for (i = 0, left = 0; i < count; i++)
			left += ifindex_in(ns_fd, names[i]) != 0;
		if (left == 0)
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

static ino_t inode_of(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

START_TEST(test_tcp_through_mid_v4_and_v6)
{
	struct topology t;
	char why[WHY_SIZE] = "";

	topology_make(&t);
	ck_assert_int_gt(t.mid_client_ifindex, 0);
	ck_assert_int_gt(t.mid_server_ifindex, 0);
	ck_assert_int_eq(t.mid_client_ifindex, (int)ifindex_in(t.mid_ns, "c0"));
	ck_assert_int_eq(t.mid_server_ifindex, (int)ifindex_in(t.mid_ns, "s0"));
	ck_assert_uint_ne(ifindex_in(t.client_ns, "eth0"), 0);
	ck_assert_uint_ne(ifindex_in(t.server_ns, "eth0"), 0);

	ck_assert_msg(tcp_exchange(&t, AF_INET, "198.19.0.2", "198.18.0.2", "v4", why), "%s", why);
	ck_assert_msg(tcp_exchange(&t, AF_INET6, "2001:db8:5::2", "2001:db8:c::2", "v6", why),
	              "%s", why);

	topology_destroy(&t);
}
END_TEST

START_TEST(test_host_namespace_untouched)
{
	struct topology t;
	char *before, *during, *after, *inside_client, *err = NULL;
	int saved;

	before = namespace_snapshot();
	topology_make(&t);
	during = namespace_snapshot();

	/* The snapshot does see namespaces apart: taken in client, it shows
	 * eth0 and the default route through 198.18.0.1 (0100 12C6). */
	ck_assert_int_eq(netns_enter(t.client_ns, &saved, &err), 0);
	inside_client = namespace_snapshot();
	netns_leave(saved);
	ck_assert_str_ne(inside_client, before);
	ck_assert_ptr_nonnull(strstr(inside_client, " eth0\n"));
	ck_assert_ptr_nonnull(strstr(inside_client, "eth0\t00000000\t010012C6"));

	topology_destroy(&t);
	after = namespace_snapshot();
	ck_assert_str_eq(during, before);
	ck_assert_str_eq(after, before);
	free(before);
	free(during);
	free(after);
	free(inside_client);
}
END_TEST

START_TEST(test_destroy_releases_everything)
{
	static const char *const mid_links[] = { "c0", "s0" };
	static const char *const client_links[] = { "eth0" };
	struct topology t;
	int start = fd_count(), watch;
	ino_t mid_inode;

	/* Client and server die with their fds: seen from a mid kept alive on
	 * purpose, their veth peers c0 and s0 go away with them. */
	topology_make(&t);
	mid_inode = inode_of(t.mid_ns);
	ck_assert_uint_ne(ifindex_in(t.mid_ns, "c0"), 0);
	watch = dup(t.mid_ns);
	ck_assert_int_ge(watch, 0);
	topology_destroy(&t);
	ck_assert_int_eq(t.client_ns, -1);
	ck_assert_int_eq(t.mid_ns, -1);
	ck_assert_int_eq(t.server_ns, -1);
	topology_destroy(&t);  /* idempotent */
	ck_assert_msg(links_vanish(watch, mid_links, 2), "c0/s0 still in mid 5 s after destroy");
	close(watch);
	ck_assert_msg(!namespace_referenced(mid_inode), "an fd still refers to mid");

	/* And mid dies with its fd: seen from client, eth0 goes with c0. */
	topology_make(&t);
	watch = dup(t.client_ns);
	ck_assert_int_ge(watch, 0);
	topology_destroy(&t);
	ck_assert_msg(links_vanish(watch, client_links, 1), "eth0 still in client 5 s after destroy");
	close(watch);

	ck_assert_int_eq(fd_count(), start);
}
END_TEST

/* Run out of file descriptors at each step of topology_create in turn:
 * every failure must say what failed and give back all it had made. */
START_TEST(test_create_failure_releases_everything)
{
	struct rlimit saved_limit, limit;
	struct topology t;
	int start = fd_count(), lowest_free = dup(0), extra, failures = 0;
	bool made = false;
	char *err;

	ck_assert_int_ge(lowest_free, 0);
	close(lowest_free);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
	for (extra = 0; extra < 32 && !made; extra++) {
		limit = saved_limit;
		limit.rlim_cur = (rlim_t)(lowest_free + extra);
		err = NULL;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &limit), 0);
		made = topology_create(&t, &err) == 0;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
		if (made) {
			ck_assert_ptr_null(err);
			topology_destroy(&t);
		} else {
			failures++;
			ck_assert_msg(err && strstr(err, "Too many open files"), "err: %s", err);
			ck_assert_int_eq(t.client_ns, -1);
			ck_assert_int_eq(t.mid_ns, -1);
			ck_assert_int_eq(t.server_ns, -1);
			free(err);
		}
		ck_assert_int_eq(fd_count(), start);
	}
	ck_assert_msg(made, "topology_create still failing with %d spare fds", extra);
	/* At least one failure per fd it holds at its peak: one for the
	 * caller's namespace, a namespace and a socket for each of three. */
	ck_assert_int_ge(failures, 7);
}
END_TEST

struct parallel_run {
	pthread_barrier_t *barrier;
	int number;
	bool ok;
	ino_t mid_inode;
	char why[WHY_SIZE];
};

static void *parallel_run_main(void *arg)
{
	struct parallel_run *run = arg;
	struct topology t = { -1, -1, -1, 0, 0 };
	char tag[16], *err = NULL;
	bool made;

	snprintf(tag, sizeof tag, "run%d", run->number);
	made = topology_create(&t, &err) == 0;
	if (!made)
		why_set(run->why, "topology_create", err ? err : "?");
	free(err);
	/* All five exist at once from here, with the same addresses. */
	pthread_barrier_wait(run->barrier);
	if (made) {
		struct stat st;

		run->ok = tcp_exchange(&t, AF_INET, "198.19.0.2", "198.18.0.2", tag, run->why) &&
		          tcp_exchange(&t, AF_INET6, "2001:db8:5::2", "2001:db8:c::2", tag, run->why);
		if (fstat(t.mid_ns, &st) == 0)
			run->mid_inode = st.st_ino;
	}
	pthread_barrier_wait(run->barrier);
	topology_destroy(&t);
	return NULL;
}

START_TEST(test_parallel_topologies)
{
	pthread_barrier_t barrier;
	struct parallel_run runs[PARALLEL_RUNS];
	pthread_t threads[PARALLEL_RUNS];
	int i, j;

	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, PARALLEL_RUNS), 0);
	for (i = 0; i < PARALLEL_RUNS; i++) {
		runs[i] = (struct parallel_run){ .barrier = &barrier, .number = i };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, parallel_run_main, &runs[i]), 0);
	}
	for (i = 0; i < PARALLEL_RUNS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < PARALLEL_RUNS; i++) {
		ck_assert_msg(runs[i].ok, "run %d: %s", i, runs[i].why);
		for (j = 0; j < i; j++)
			ck_assert_msg(runs[i].mid_inode != runs[j].mid_inode,
			              "runs %d and %d share a mid namespace", i, j);
	}
}
END_TEST

static char *host_iptables(void)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	FILE *in = popen("iptables -S 2>&1", "r");
	char buf[4096];
	size_t n;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(in);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, out);
	fprintf(out, "(status %d)\n", pclose(in));
	fclose(out);
	return text;
}

START_TEST(test_run_status_stdin_stderr)
{
	char *true_argv[] = { "true", NULL };
	char *false_argv[] = { "false", NULL };
	char *echo_argv[] = { "sh", "-c", "cat >&2; exit 3", NULL };
	char *count_argv[] = { "sh", "-c", "wc -c >&2; exit 5", NULL };
	char *flood_argv[] = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; "
	                                   "cat >/dev/null; exit 6", NULL };
	char *kill_argv[] = { "sh", "-c", "kill -TERM $$", NULL };
	char *missing_argv[] = { "faultwire-no-such-command", NULL };
	struct topology t;
	char *err = NULL, *big;
	size_t big_size = 300000;

	topology_make(&t);
	big = malloc(big_size + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'y', big_size);
	big[big_size] = '\0';

	ck_assert_int_eq(netns_run(t.mid_ns, true_argv, NULL, &err), 0);
	ck_assert_ptr_null(err);

	ck_assert_int_ne(netns_run(t.mid_ns, false_argv, NULL, &err), 0);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "false exited with status 1"), "err: %s", err);
	free(err);
	err = NULL;

	ck_assert_int_eq(netns_run(t.mid_ns, echo_argv, "hello through stdin\n", &err), 3);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "hello through stdin"), "err: %s", err);
	free(err);
	err = NULL;

	/* Every byte of a large input gets through... */
	ck_assert_int_eq(netns_run(t.mid_ns, count_argv, big, &err), 5);
	ck_assert_msg(err && strstr(err, ": 300000"), "err: %s", err);
	free(err);
	err = NULL;

	/* ...even when the command writes more to stderr than a pipe holds
	 * before it reads any input; and only the first KiB is kept. */
	ck_assert_int_eq(netns_run(t.mid_ns, flood_argv, big, &err), 6);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "xxxx"));
	ck_assert_uint_lt(strlen(err), 1200);
	free(err);
	err = NULL;

	/* A command that ignores its input must not take this process down
	 * with SIGPIPE. */
	ck_assert_int_eq(netns_run(t.mid_ns, true_argv, big, &err), 0);
	ck_assert_ptr_null(err);

	ck_assert_int_eq(netns_run(t.mid_ns, kill_argv, NULL, &err), 128 + 15);
	ck_assert_msg(err && strstr(err, "killed by signal 15"), "err: %s", err);
	free(err);
	err = NULL;

	ck_assert_int_eq(netns_run(t.mid_ns, missing_argv, NULL, &err), -1);
	ck_assert_msg(err && strstr(err, "faultwire-no-such-command: No such file or directory"),
	              "err: %s", err);
	free(err);
	err = NULL;

	free(big);
	topology_destroy(&t);
}
END_TEST

START_TEST(test_run_inside_namespace)
{
	char *links_argv[] = { "sh", "-c", "ip -o link >&2; exit 1", NULL };
	char *restore_argv[] = { "iptables-restore", NULL };
	char *rules_argv[] = { "sh", "-c", "iptables -S FORWARD >&2; exit 1", NULL };
	const char *rules = "*filter\n-A FORWARD -j NFQUEUE --queue-num 0\nCOMMIT\n";
	struct topology t;
	char *err = NULL, *host_before, *host_after;

	topology_make(&t);

	/* ip lists mid's links inside mid, and client's inside client. */
	ck_assert_int_eq(netns_run(t.mid_ns, links_argv, NULL, &err), 1);
	ck_assert_msg(err && strstr(err, " c0@") && strstr(err, " s0@") && !strstr(err, " eth0@"),
	              "err: %s", err);
	free(err);
	err = NULL;
	ck_assert_int_eq(netns_run(t.client_ns, links_argv, NULL, &err), 1);
	ck_assert_msg(err && strstr(err, " eth0@") && !strstr(err, " c0@"), "err: %s", err);
	free(err);
	err = NULL;

	host_before = host_iptables();
	ck_assert_ptr_null(strstr(host_before, "NFQUEUE"));
	if (netns_run(t.mid_ns, restore_argv, rules, &err) != 0)
		ck_abort_msg("iptables-restore in mid: %s", err ? err : "?");
	ck_assert_ptr_null(err);
	ck_assert_int_eq(netns_run(t.mid_ns, rules_argv, NULL, &err), 1);
	ck_assert_msg(err && strstr(err, "-A FORWARD -j NFQUEUE --queue-num 0"), "err: %s", err);
	free(err);
	err = NULL;
	host_after = host_iptables();
	ck_assert_str_eq(host_after, host_before);

	free(host_before);
	free(host_after);
	topology_destroy(&t);
}
END_TEST

START_TEST(test_enter_bad_fd_stays_home)
{
	struct stat before, after;
	char *err = NULL;
	int saved = 123;

	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &before), 0);
	ck_assert_int_eq(netns_enter(-1, &saved, &err), -1);
	ck_assert_int_eq(saved, -1);
	ck_assert_msg(err && strstr(err, "enter namespace fd -1: Bad file descriptor"), "err: %s", err);
	free(err);
	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &after), 0);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
}
END_TEST

static Suite *netns_suite(void)
{
	Suite *s = suite_create("netns");
	TCase *topology = tcase_create("topology");
	TCase *run = tcase_create("run");

	tcase_set_timeout(topology, 20);
	tcase_add_test(topology, test_tcp_through_mid_v4_and_v6);
	tcase_add_test(topology, test_host_namespace_untouched);
	tcase_add_test(topology, test_destroy_releases_everything);
	tcase_add_test(topology, test_create_failure_releases_everything);
	tcase_add_test(topology, test_parallel_topologies);
	tcase_add_test(topology, test_enter_bad_fd_stays_home);
	suite_add_tcase(s, topology);

	tcase_set_timeout(run, 20);
	tcase_add_test(run, test_run_status_stdin_stderr);
	tcase_add_test(run, test_run_inside_namespace);
	suite_add_tcase(s, run);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(netns_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
