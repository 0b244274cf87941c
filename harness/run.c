/* run.c — one run of one scenario; see run.h. */
#include "harness/run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <dirent.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/client.h"
#include "harness/echod.h"
#include "harness/httpd.h"
#include "harness/netns.h"
#include "harness/pcap.h"
#include "harness/record.h"
#include "harness/scenario.h"
#include "sim/engine.h"

static const char RUN_HOSTS[] =
	"127.0.0.1\tlocalhost\n"
	"::1\tlocalhost\n"
	"198.19.0.2\tserver.test\n"
	"2001:db8:5::2\tserver.test\n"
	"198.18.0.2\tclient.test\n"
	"2001:db8:c::2\tclient.test\n";

/* With the built-in DNS server, names go through it (and its faults). */
static const char RUN_HOSTS_DNS[] =
	"127.0.0.1\tlocalhost\n"
	"::1\tlocalhost\n";

static const char RUN_RESOLV[] =
	"nameserver 198.19.0.2\n"
	"options timeout:1 attempts:2\n";

/* No bypass: when nobody reads the queue, packets wait and then drop. */
static const char RUN_FIREWALL[] =
	"*filter\n"
	":FORWARD ACCEPT [0:0]\n"
	"-A FORWARD -j NFQUEUE --queue-num 0\n"
	"COMMIT\n";

const char *run_verdict_name(enum run_verdict v)
{
	static const char *names[] = { "pass", "fail", "inconclusive", "error" };
	return v <= VERDICT_ERROR ? names[v] : "?";
}

/* A number from the environment, 0 when unset or not a number (the test
 * hooks of faultwire's own failure paths; see docs/architecture.md). */
static unsigned long long env_number(const char *name)
{
	const char *text = getenv(name);
	char *end;
	if (!text || !*text)
		return 0;
	unsigned long long v = strtoull(text, &end, 10);
	return *end ? 0 : v;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

int run_prepare_privileges(char **err)
{
	if (getenv("FAULTWIRE_ROOTLESS") == NULL && geteuid() == 0)
		return 0;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	if (unshare(CLONE_NEWUSER) < 0) {
		if (asprintf(err, "as user %u, faultwire needs an unprivileged user namespace to make its private "
		                  "network namespaces, and the kernel refused one (unshare(CLONE_NEWUSER): %s%s). "
		                  "Run it as root (sudo), or allow user namespaces: sysctl -w user.max_user_namespaces=10000, "
		                  "and on Debian kernels sysctl -w kernel.unprivileged_userns_clone=1",
		             (unsigned)uid, strerror(errno),
		             errno == ENOSPC ? ": user.max_user_namespaces is 0 or used up" : "") < 0)
			*err = NULL;
		return -1;
	}
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	int ok = write_file("/proc/self/setgroups", "deny\n") == 0 && write_file("/proc/self/uid_map", map) == 0;
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	ok = ok && write_file("/proc/self/gid_map", map) == 0;
	if (!ok) {
		if (asprintf(err, "cannot map user %u to root in a user namespace: %s", (unsigned)uid, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	/* Threads go back to this "home" network namespace after each setns;
	 * the host's belongs to the outer user namespace, where we may not
	 * enter, so home is a fresh (empty) one of our own. */
	if (unshare(CLONE_NEWNET) < 0) {
		if (asprintf(err, "cannot make a network namespace in the user namespace: %s", strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	/* The owner file goes last (remove_tree), so a run killed while it
	 * cleans up still leaves a folder the sweep recognises. */
	if (ftw->level == 1 && strcmp(path + ftw->base, "owner") == 0)
		return 0;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	char *owner = NULL;
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (asprintf(&owner, "%s/owner", path) >= 0)
		unlink(owner);
	free(owner);
	rmdir(path);
}

/* Field 22 of /proc/PID/stat: when the process started, which tells a
 * live owner from a later process that got the same pid. */
static unsigned long long process_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces: count fields after its ')'. */
	char *p = strrchr(buf, ')');
	unsigned long long start = 0;
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

static const char *run_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp && *tmp ? tmp : "/tmp";
}

void run_sweep_stale(void)
{
	DIR *d = opendir(run_tmpdir());
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *owner = NULL, *dir = NULL;
		if (strncmp(e->d_name, "faultwire-", 10) != 0)
			continue;
		if (asprintf(&dir, "%s/%s", run_tmpdir(), e->d_name) < 0)
			continue;
		char *kept = NULL;
		struct stat st;
		if (asprintf(&owner, "%s/owner", dir) >= 0 && asprintf(&kept, "%s/kept", dir) >= 0 &&
		    access(kept, F_OK) != 0 && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* A folder is swept unless it was kept for a failed run, or
			 * its owner still lives, or (with no owner file yet) it is a
			 * second old or less: its run may be starting right now and
			 * writes the owner file at once. */
			FILE *f = fopen(owner, "r");
			int pid;
			unsigned long long start;
			if (f) {
				if (fscanf(f, "%d %llu", &pid, &start) == 2 && process_start_time(pid) != start)
					remove_tree(dir);
				fclose(f);
			} else if (time(NULL) - st.st_mtime > 2) {
				remove_tree(dir);
			}
		}
		free(kept);
		free(owner);
		free(dir);
	}
	closedir(d);
}

static void set_error(struct run_outcome *out, enum run_exit exit_class, char *msg)
{
	out->exit_class = exit_class;
	out->verdict = VERDICT_ERROR;
	free(out->error);
	out->error = msg ? msg : strdup("out of memory");
}

/* fw.command: the user's server program, run like the client (own PID and
 * mount namespaces, dies with faultwire) but in the server's namespace, on
 * a thread of its own until the run ends. */
struct server_command {
	struct client_spec spec;
	struct client_result result;
	char *error;
	int stop_pipe[2];
	pthread_t thread;
	int started;
	_Atomic int finished;
};

static void *server_command_thread(void *arg)
{
	struct server_command *sc = arg;
	if (client_run(&sc->spec, &sc->result, &sc->error) < 0 && !sc->error)
		sc->error = strdup("the server command could not be started");
	atomic_store(&sc->finished, 1);
	return NULL;
}

/* Is something listening on port in ns (from /proc/net/{tcp,udp}{,6})? */
static int port_is_listening(int ns, uint16_t port, int udp)
{
	int saved, found = 0;
	char *err = NULL;
	if (netns_enter(ns, &saved, &err) < 0) {
		free(err);
		return 0;
	}
	const char *files[2] = { udp ? "/proc/thread-self/net/udp" : "/proc/thread-self/net/tcp",
	                         udp ? "/proc/thread-self/net/udp6" : "/proc/thread-self/net/tcp6" };
	for (int i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(files[i], "r");
		char line[512];
		while (f && fgets(line, sizeof line, f)) {
			char local[64];
			unsigned state;
			/* sl local_address rem_address st ... ; port is the hex after ':' */
			if (sscanf(line, "%*s %63s %*s %x", local, &state) != 2)
				continue;
			char *colon = strrchr(local, ':');
			if (colon && strtoul(colon + 1, NULL, 16) == port && state == (udp ? 0x07u : 0x0Au))
				found = 1;
		}
		if (f)
			fclose(f);
	}
	netns_leave(saved);
	return found;
}

static int server_command_start(struct server_command *sc, const struct scenario *s, int server_ns, const char *dir,
                                 const char *hosts, char *const *env, double timeout, char **err)
{
	if (pipe2(sc->stop_pipe, O_CLOEXEC) < 0 || mkdir(dir, 0755) < 0) {
		if (asprintf(err, "cannot prepare the server command: %s", strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	sc->spec = (struct client_spec){
		.argv = s->server_argv, .workdir = dir, .env = env, .net_ns = server_ns, .hosts_file = hosts,
		.timeout_s = timeout + 3600, .abort_fd = sc->stop_pipe[0], .interrupt_fd = -1,
	};
	if (pthread_create(&sc->thread, NULL, server_command_thread, sc) != 0) {
		*err = strdup("cannot start the server command's thread");
		return -1;
	}
	sc->started = 1;
	/* The client must find the server ready, as it would in the field. */
	for (int i = 0; i < 500; i++) {
		if (port_is_listening(server_ns, s->server_port, s->server_udp))
			return 0;
		if (atomic_load(&sc->finished))
			break;
		usleep(10000);
	}
	pthread_join(sc->thread, NULL);
	sc->started = 0;
	const char *said = sc->result.exec_error ? sc->result.exec_error
	                 : sc->result.stderr_tail && *sc->result.stderr_tail ? sc->result.stderr_tail : NULL;
	char ended[64] = "";
	if (!sc->result.exec_error && sc->result.exit_code >= 0 && atomic_load(&sc->finished))
		snprintf(ended, sizeof ended, " (it exited %d)", sc->result.exit_code);
	if (asprintf(err, "%s: the server command %s did not %s on port %u within 5 s%s%s%s", s->path, s->server_argv[0],
	             s->server_udp ? "bind UDP" : "listen", s->server_port, ended, said ? "; it said: " : "",
	             said ? said : "") < 0)
		*err = NULL;
	return -1;
}

static void server_command_stop(struct server_command *sc)
{
	if (sc->started) {
		char byte = 1;
		if (write(sc->stop_pipe[1], &byte, 1) < 0) {
			/* The pipe is ours; the join below waits either way. */
		}
		pthread_join(sc->thread, NULL);
		sc->started = 0;
	}
}

static void server_command_free(struct server_command *sc)
{
	server_command_stop(sc);
	for (int i = 0; i < 2; i++)
		if (sc->stop_pipe[i] >= 0)
			close(sc->stop_pipe[i]);
	client_result_free(&sc->result);
	free(sc->error);
}

/* Requests the server logged whose connection the engine never saw: they
 * went around the faults, which must never happen (fail closed). */
static size_t escaped_requests(json_t *record)
{
	size_t i, escaped = 0;
	json_t *r;
	json_array_foreach(json_object_get(json_object_get(record, "server"), "requests"), i, r)
		escaped += json_is_null(json_object_get(r, "flow"));
	return escaped;
}

struct run_clocks {
	struct engine *engine;
	struct dnsd *dnsd;
};

static void on_client_start(int64_t start_ns, void *arg)
{
	struct run_clocks *c = arg;
	engine_set_start(c->engine, start_ns);
	if (c->dnsd)
		dnsd_set_start(c->dnsd, start_ns);
}

/* The built-in server asks this before answering: 403 while an http403
 * block is in force. */
static int run_server_blocked(const char *peer, void *arg)
{
	(void)peer;
	return engine_http403(arg, engine_now_ns());
}

static void run_capture(void *arg, int64_t t_ns, const uint8_t *data, size_t caplen, size_t len, int dir,
                        const char *note)
{
	pcap_write(arg, t_ns, data, caplen, len, dir, note);
}

static void addr_set(struct packet_addr *a, int family, const char *text)
{
	memset(a, 0, sizeof *a);
	a->family = family;
	inet_pton(family, text, a->bytes);
}

/* Put the NFQUEUE rule into mid, for IPv4 and IPv6. A failure here is the
 * machine's: iptables missing, or the kernel lacking the NFQUEUE target. */
static int run_install_firewall(int mid_ns, char **err)
{
	static const char *const tools[] = { "iptables-restore", "ip6tables-restore" };
	for (size_t i = 0; i < 2; i++) {
		char *argv[] = { (char *)tools[i], "-w", NULL };
		char *why = NULL;
		int rc = netns_run(mid_ns, argv, RUN_FIREWALL, &why);
		if (rc != 0) {
			if (asprintf(err, "cannot install the NFQUEUE rule with %s: %s. faultwire needs iptables "
			                  "(apt-get install iptables) and a kernel with the NFQUEUE target "
			                  "(module xt_NFQUEUE, nfnetlink_queue)", tools[i], why ? why : "failed") < 0)
				*err = NULL;
			free(why);
			return -1;
		}
		free(why);
	}
	return 0;
}

static char **run_environment(uint64_t seed, uint16_t port)
{
	char **env = calloc(6, sizeof *env);
	if (!env)
		return NULL;
	int ok = 1;
	if (port == 80)
		ok &= asprintf(&env[0], "FAULTWIRE_URL=http://server.test/") >= 0;
	else
		ok &= asprintf(&env[0], "FAULTWIRE_URL=http://server.test:%u/", port) >= 0;
	ok &= asprintf(&env[1], "FAULTWIRE_SERVER=198.19.0.2") >= 0;
	ok &= asprintf(&env[2], "FAULTWIRE_SERVER6=2001:db8:5::2") >= 0;
	ok &= asprintf(&env[3], "FAULTWIRE_PORT=%u", port) >= 0;
	ok &= asprintf(&env[4], "FAULTWIRE_SEED=%llu", (unsigned long long)seed) >= 0;
	if (!ok) {
		for (int i = 0; i < 5; i++)
			free(env[i]);
		free(env);
		return NULL;
	}
	return env;
}

void run_scenario(const char *path, const struct run_options *options, struct run_outcome *out)
{
	struct scenario *s = NULL;
	struct topology topo = { -1, -1, -1, 0, 0 };
	struct engine *engine = NULL;
	struct httpd *httpd = NULL;
	struct dnsd *dnsd = NULL;
	struct pcap_writer *pcap = NULL;
	struct echod *echod = NULL;
	struct server_command command = { .stop_pipe = { -1, -1 } };
	char *resolv = NULL;
	struct client_result client = { 0 };
	char **env = NULL;
	char *err = NULL, *rundir = NULL, *workdir = NULL, *hosts = NULL, *owner = NULL;
	json_t *expectations = NULL;
	int64_t run_start = engine_now_ns();
	int client_ran = 0;

	memset(out, 0, sizeof *out);
	out->verdict = VERDICT_ERROR;
	if (scenario_load(path, &s, &err) < 0) {
		set_error(out, EXIT_SCENARIO, err);
		goto out;
	}
	char *const *client_argv = options->client_argv ? options->client_argv : s->client_argv;
	if (!client_argv || !client_argv[0]) {
		if (asprintf(&err, "%s: the scenario has no client; give one in the scenario (client = {...}) "
		                   "or after -- on the command line", path) < 0)
			err = NULL;
		set_error(out, EXIT_SCENARIO, err);
		goto out;
	}
	uint64_t seed = options->has_seed ? options->seed : s->seed;
	double timeout = options->has_timeout ? options->timeout_s : s->timeout_s;

	if (asprintf(&rundir, "%s/faultwire-XXXXXX", run_tmpdir()) < 0 || !mkdtemp(rundir)) {
		if (asprintf(&err, "cannot make a run folder under %s: %s", run_tmpdir(), strerror(errno)) < 0)
			err = NULL;
		set_error(out, EXIT_ENVIRONMENT, err);
		goto out;
	}
	/* If this process is killed, the next faultwire finds the folder by
	 * this file and removes it (run_sweep_stale). */
	char owner_text[64];
	snprintf(owner_text, sizeof owner_text, "%d %llu\n", (int)getpid(), process_start_time(getpid()));
	if (asprintf(&owner, "%s/owner", rundir) < 0 || write_file(owner, owner_text) < 0) {
		set_error(out, EXIT_ENVIRONMENT, strdup("cannot prepare the run folder"));
		goto out;
	}
	if (asprintf(&workdir, "%s/work", rundir) < 0 || asprintf(&hosts, "%s/hosts", rundir) < 0 ||
	    asprintf(&resolv, "%s/resolv.conf", rundir) < 0 || mkdir(workdir, 0755) < 0 ||
	    write_file(hosts, s->dns ? RUN_HOSTS_DNS : RUN_HOSTS) < 0 || write_file(resolv, RUN_RESOLV) < 0) {
		set_error(out, EXIT_ENVIRONMENT, strdup("cannot prepare the run folder"));
		goto out;
	}
	if (topology_create(&topo, &err) < 0) {
		char *msg = NULL;
		if (asprintf(&msg, "cannot make the run's network namespaces: %s. faultwire needs root or "
		                   "unprivileged user namespaces", err ? err : "?") < 0)
			msg = NULL;
		free(err);
		set_error(out, EXIT_ENVIRONMENT, msg);
		goto out;
	}
	if (run_install_firewall(topo.mid_ns, &err) < 0) {
		set_error(out, EXIT_ENVIRONMENT, err);
		goto out;
	}
	env = run_environment(seed, s->server_port);
	if (!env) {
		set_error(out, EXIT_ENVIRONMENT, strdup("out of memory"));
		goto out;
	}
	if (s->server_type == SERVER_HTTP) {
		httpd = httpd_start(topo.server_ns, s->server_port, seed, &err);
		if (!httpd) {
			set_error(out, EXIT_ENVIRONMENT, err);
			goto out;
		}
	} else if (s->server_type == SERVER_TCP_ECHO) {
		echod = echod_start(topo.server_ns, s->server_port, &err);
		if (!echod) {
			set_error(out, EXIT_ENVIRONMENT, err);
			goto out;
		}
	} else {
		char *dir = NULL;
		if (asprintf(&dir, "%s/server", rundir) < 0) {
			set_error(out, EXIT_ENVIRONMENT, strdup("out of memory"));
			goto out;
		}
		int rc = server_command_start(&command, s, topo.server_ns, dir, hosts, env, timeout, &err);
		free(dir);
		if (rc < 0) {
			set_error(out, err && strncmp(err, s->path, strlen(s->path)) == 0 ? EXIT_SCENARIO : EXIT_ENVIRONMENT, err);
			goto out;
		}
	}
	struct engine_config cfg = {
		.ns_fd = topo.mid_ns, .queue = 0, .client_ifindex = topo.mid_client_ifindex,
		.rules = s->rules, .rule_count = s->rule_count, .seed = seed,
		.timers = s->timers, .timer_count = s->timer_count,
		.fail_after_packets = env_number("FAULTWIRE_TEST_ENGINE_FAIL_AFTER"),
		.queue_maxlen = (uint32_t)env_number("FAULTWIRE_TEST_QUEUE_MAXLEN"),
	};
	if (options->pcap_path) {
		pcap = pcap_open(options->pcap_path, &err);
		if (!pcap) {
			set_error(out, EXIT_ENVIRONMENT, err);
			goto out;
		}
		cfg.capture = run_capture;
		cfg.capture_arg = pcap;
	}
	addr_set(&cfg.client_side4, AF_INET, "198.18.0.1");
	addr_set(&cfg.client_side6, AF_INET6, "2001:db8:c::1");
	addr_set(&cfg.server_side4, AF_INET, "198.19.0.1");
	addr_set(&cfg.server_side6, AF_INET6, "2001:db8:5::1");
	engine = engine_start(&cfg, &err);
	if (!engine) {
		set_error(out, EXIT_ENVIRONMENT, err);
		goto out;
	}
	if (httpd)
		httpd_set_block(httpd, run_server_blocked, engine);
	if (s->dns) {
		dnsd = dnsd_start(topo.server_ns, 53, s->dns_rules, s->dns_rule_count, seed, &err);
		if (!dnsd) {
			/* A rule's mistake starts with its file:line; anything else is the machine's. */
			int rule_error = 0;
			for (size_t i = 0; err && i < s->dns_rule_count; i++)
				rule_error |= strncmp(err, s->dns_rules[i].where, strlen(s->dns_rules[i].where)) == 0;
			set_error(out, rule_error ? EXIT_SCENARIO : EXIT_ENVIRONMENT, err);
			goto out;
		}
	}
	struct run_clocks clocks = { engine, dnsd };
	struct client_spec spec = {
		.argv = client_argv, .workdir = workdir, .env = env, .net_ns = topo.client_ns,
		.hosts_file = hosts, .resolv_file = s->dns ? resolv : NULL, .timeout_s = timeout, .echo = options->echo,
		.abort_fd = engine_failure_fd(engine), .interrupt_fd = options->interrupt_fd,
		.on_start = on_client_start, .on_start_arg = &clocks,
	};
	if (client_run(&spec, &client, &err) < 0) {
		set_error(out, EXIT_ENVIRONMENT, err);
		goto out;
	}
	client_ran = 1;
	/* Before the record is built: the memory the run itself needed. */
	struct rusage usage;
	long peak_rss_kb = getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : 0;
	httpd_stop(httpd);
	dnsd_stop(dnsd);
	server_command_stop(&command);
	uint64_t echo_connections = 0, echo_bytes = 0;
	echod_counts(echod, &echo_connections, &echo_bytes);
	engine_stop(engine);
	if (pcap && pcap_close(pcap) < 0) {
		pcap = NULL;
		set_error(out, EXIT_ENVIRONMENT, strdup("the capture could not be written in full"));
		goto out;
	}
	pcap = NULL;

	struct record_input in = {
		.scenario = s, .seed = seed, .workdir = workdir, .client_argv = client_argv,
		.client = &client, .engine = engine, .httpd = httpd, .dnsd = dnsd, .t0_ns = client.start_ns,
		.run_start_ns = run_start, .peak_rss_kb = peak_rss_kb,
	};
	out->record = record_build(&in);
	if (options->pcap_path)
		json_object_set_new(out->record, "pcap", json_string(options->pcap_path));
	json_t *server = json_object_get(out->record, "server");
	json_object_set_new(server, "type", json_string(s->server_type == SERVER_HTTP ? "http"
	                                               : s->server_type == SERVER_TCP_ECHO ? "tcp_echo" : "command"));
	if (echod) {
		json_t *echo = json_object();
		json_object_set_new(echo, "connections", json_integer((json_int_t)echo_connections));
		json_object_set_new(echo, "bytes", json_integer((json_int_t)echo_bytes));
		json_object_set_new(server, "echo", echo);
	}
	if (s->server_type == SERVER_COMMAND) {
		json_t *cmd = json_object();
		json_t *argv = json_array();
		for (char **a = s->server_argv; *a; a++)
			json_array_append_new(argv, json_string(*a));
		json_object_set_new(cmd, "argv", argv);
		json_object_set_new(cmd, "stdout_tail", json_string(command.result.stdout_tail ? command.result.stdout_tail : ""));
		json_object_set_new(cmd, "stderr_tail", json_string(command.result.stderr_tail ? command.result.stderr_tail : ""));
		json_object_set_new(server, "command", cmd);
	}

	/* The verdict: a run whose packets may have escaped the faults proves
	 * nothing, nor does one whose faults never fired. */
	const char *engine_failure = engine_error(engine);
	struct engine_stats st = engine_stats(engine);
	size_t fired = json_array_size(json_object_get(out->record, "faults"));
	/* fw.check sees the record as it will be, less what depends on the
	 * expectations themselves (verdict, expectations). */
	json_object_del(out->record, "verdict");
	json_object_set_new(out->record, "duration_ms", json_integer((engine_now_ns() - run_start) / 1000000));
	if (scenario_evaluate(s, out->record, &expectations, &err) < 0) {
		record_finish(out->record, NULL, "error", err, (engine_now_ns() - run_start) / 1000000);
		set_error(out, EXIT_SCENARIO, err);
		goto out;
	}
	int all_ok = 1;
	size_t i;
	json_t *e;
	json_array_foreach(expectations, i, e)
		all_ok &= json_is_true(json_object_get(e, "ok"));
	char *why = NULL;
	struct pollfd interrupted = { .fd = options->interrupt_fd, .events = POLLIN };
	if (options->interrupt_fd >= 0 && poll(&interrupted, 1, 0) == 1) {
		out->verdict = VERDICT_ERROR;
		why = strdup("interrupted: the client was stopped before it finished");
	} else if (engine_failure && engine_error_is_scenario(engine)) {
		/* A hook or timed action of the scenario failed: the scenario's
		 * error, said as file:line. */
		out->verdict = VERDICT_ERROR;
		why = strdup(engine_failure);
		record_finish(out->record, NULL, "error", why, (engine_now_ns() - run_start) / 1000000);
		set_error(out, EXIT_SCENARIO, why);
		goto out;
	} else if (engine_failure) {
		out->verdict = VERDICT_ERROR;
		if (asprintf(&why, "the packet engine failed: %s", engine_failure) < 0)
			why = NULL;
	} else if (escaped_requests(out->record)) {
		out->verdict = VERDICT_ERROR;
		if (asprintf(&why, "%zu request(s) reached the server on a connection the middlebox never saw: "
		                   "traffic escaped the faults, so the run proves nothing",
		             escaped_requests(out->record)) < 0)
			why = NULL;
	} else if (st.queue_drops) {
		out->verdict = VERDICT_ERROR;
		if (asprintf(&why, "the kernel dropped %llu queued packet(s) before the engine saw them, so "
		                   "faults may not have applied to them", (unsigned long long)st.queue_drops) < 0)
			why = NULL;
	} else if (client.exec_error) {
		out->verdict = VERDICT_ERROR;
		why = strdup(client.exec_error);
	} else if ((s->rule_count || s->dns_rule_count) && fired == 0) {
		out->verdict = VERDICT_INCONCLUSIVE;
		why = strdup("no fault fired: the client's traffic never met the conditions of any fault, "
		             "so the run says nothing about how it copes");
	} else {
		out->verdict = all_ok ? VERDICT_PASS : VERDICT_FAIL;
	}
	out->exit_class = out->verdict == VERDICT_PASS ? EXIT_PASS : EXIT_FAILED;
	out->error = why;
	record_finish(out->record, expectations, run_verdict_name(out->verdict), why,
	              (engine_now_ns() - run_start) / 1000000);
out:
	json_decref(expectations);
	engine_free(engine);
	pcap_close(pcap);
	httpd_free(httpd);
	dnsd_free(dnsd);
	server_command_free(&command);
	echod_free(echod);
	topology_destroy(&topo);
	if (client_ran || client.stdout_tail)
		client_result_free(&client);
	if (env) {
		for (char **p = env; *p; p++)
			free(*p);
		free(env);
	}
	if (rundir) {
		if (out->verdict == VERDICT_PASS || !client_ran) {
			remove_tree(rundir);
			free(rundir);
		} else {
			/* Kept for the user: the sweep leaves it alone. */
			char *kept = NULL;
			if (asprintf(&kept, "%s/kept", rundir) >= 0)
				write_file(kept, "kept: the run did not pass\n");
			free(kept);
			if (owner)
				unlink(owner);
			out->rundir = rundir;
		}
	}
	free(workdir);
	free(hosts);
	free(resolv);
	free(owner);
	scenario_free(s);
}

void run_outcome_free(struct run_outcome *out)
{
	json_decref(out->record);
	free(out->error);
	free(out->rundir);
	memset(out, 0, sizeof *out);
}
