/* client.c — the client process and its namespaces; see client.h. */
#include "harness/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_TAIL_BYTES 8192
#define CLIENT_KILL_GRACE_MS 2000
#define CLIENT_INIT_STACK (256 * 1024)

extern char **environ;

/* Everything the init needs, prepared before clone: after clone in a
 * threaded process only async-signal-safe calls are allowed, so no malloc. */
struct client_init_args {
	const struct client_spec *spec;
	char **envp;
	int out_pipe[2], err_pipe[2];
	int status_pipe[2];   /* init -> harness: exec errno, then the wait status */
};

static volatile sig_atomic_t init_child_pid;

static void init_forward_signal(int sig)
{
	/* Stop the client's process group first, then anything else it left. */
	if (init_child_pid > 0)
		kill(-init_child_pid, sig);
	kill(-1, sig);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* The client proper, after fork from the init. */
static void client_exec(struct client_init_args *a)
{
	const struct client_spec *spec = a->spec;
	setpgid(0, 0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null_fd = open("/dev/null", O_RDONLY);
	if (null_fd >= 0)
		dup2(null_fd, 0);
	dup2(a->out_pipe[1], 1);
	dup2(a->err_pipe[1], 2);
	int code = 0;
	if (chdir(spec->workdir) < 0) {
		code = errno;
	} else {
		environ = a->envp;
		execvp(spec->argv[0], spec->argv);
		code = errno;
	}
	int tagged[2] = { 1, code };
	write_all(a->status_pipe[1], tagged, sizeof tagged);
	_exit(127);
}

/* PID 1 of the client's PID namespace. */
static int client_init(void *arg)
{
	struct client_init_args *a = arg;
	const struct client_spec *spec = a->spec;
	int tagged[2] = { 2, 0 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(a->status_pipe[0]);
	if (setns(spec->net_ns, CLONE_NEWNET) < 0)
		goto setup_failed;
	/* Our mounts must not propagate back to the host. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		goto setup_failed;
	if (spec->hosts_file && mount(spec->hosts_file, "/etc/hosts", "none", MS_BIND, NULL) < 0)
		goto setup_failed;
	if (spec->resolv_file && mount(spec->resolv_file, "/etc/resolv.conf", "none", MS_BIND, NULL) < 0)
		goto setup_failed;
	/* A /proc of this PID namespace, so ps and friends see the client's view. */
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

	struct sigaction sa = { .sa_handler = init_forward_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	pid_t child = fork();
	if (child < 0)
		goto setup_failed;
	if (child == 0)
		client_exec(a);
	init_child_pid = child;
	close(a->out_pipe[1]);
	close(a->err_pipe[1]);

	int status = 0;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (p == child) {
			status = st;
			break;
		}
	}
	tagged[0] = 3;
	tagged[1] = status;
	write_all(a->status_pipe[1], tagged, sizeof tagged);
	/* Whatever the client left behind dies with us. */
	kill(-1, SIGKILL);
	_exit(0);

setup_failed:
	tagged[1] = errno;
	write_all(a->status_pipe[1], tagged, sizeof tagged);
	_exit(126);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct tail {
	char buf[CLIENT_TAIL_BYTES];
	size_t len;
};

static void tail_add(struct tail *t, const char *data, size_t n)
{
	size_t cap = sizeof t->buf;
	if (n > cap) {
		data += n - cap;
		n = cap;
	}
	if (t->len + n > cap) {
		size_t drop = t->len + n - cap;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
}

static char *tail_string(const struct tail *t)
{
	char *s = malloc(t->len + 1);
	if (!s)
		return NULL;
	memcpy(s, t->buf, t->len);
	s[t->len] = 0;
	/* Output is text for reports; a NUL inside would cut it short. */
	for (size_t i = 0; i < t->len; i++)
		if (!s[i])
			s[i] = '.';
	return s;
}

static char **client_environment(const struct client_spec *spec)
{
	static const char *const dropped[] = {
		"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
		"ftp_proxy", "FTP_PROXY", "no_proxy", "NO_PROXY",
	};
	size_t n = 0, extra = 0;
	while (environ[n])
		n++;
	while (spec->env && spec->env[extra])
		extra++;
	char **envp = calloc(n + extra + 1, sizeof *envp);
	if (!envp)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int skip = 0;
		/* A proxy would take the client's traffic away from the test network. */
		for (size_t d = 0; d < sizeof dropped / sizeof dropped[0]; d++) {
			size_t len = strlen(dropped[d]);
			if (strncmp(environ[i], dropped[d], len) == 0 && environ[i][len] == '=')
				skip = 1;
		}
		if (strncmp(environ[i], "FAULTWIRE_", 10) == 0)
			skip = 1;
		if (!skip)
			envp[k++] = environ[i];
	}
	for (size_t i = 0; i < extra; i++)
		envp[k++] = spec->env[i];
	return envp;
}

int client_run(const struct client_spec *spec, struct client_result *res, char **err)
{
	struct client_init_args a = { .spec = spec };
	struct tail out = { .len = 0 }, errtail = { .len = 0 };
	void *stack = MAP_FAILED;
	pid_t init = -1;
	int rc = -1;

	memset(res, 0, sizeof *res);
	res->exit_code = -1;
	a.out_pipe[0] = a.out_pipe[1] = a.err_pipe[0] = a.err_pipe[1] = -1;
	a.status_pipe[0] = a.status_pipe[1] = -1;
	a.envp = client_environment(spec);
	if (!a.envp || pipe2(a.out_pipe, O_CLOEXEC) < 0 || pipe2(a.err_pipe, O_CLOEXEC) < 0 ||
	    pipe2(a.status_pipe, O_CLOEXEC) < 0) {
		if (asprintf(err, "client: pipes: %s", strerror(errno)) < 0)
			*err = NULL;
		goto out;
	}
	stack = mmap(NULL, CLIENT_INIT_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		if (asprintf(err, "client: stack: %s", strerror(errno)) < 0)
			*err = NULL;
		goto out;
	}
	res->start_ns = now_ns();
	if (spec->on_start)
		spec->on_start(res->start_ns, spec->on_start_arg);
	init = clone(client_init, (char *)stack + CLIENT_INIT_STACK, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, &a);
	if (init < 0) {
		if (asprintf(err, "client: cannot create its PID and mount namespaces: %s", strerror(errno)) < 0)
			*err = NULL;
		goto out;
	}
	close(a.out_pipe[1]);
	close(a.err_pipe[1]);
	close(a.status_pipe[1]);
	a.out_pipe[1] = a.err_pipe[1] = a.status_pipe[1] = -1;

	int64_t deadline = res->start_ns + (int64_t)(spec->timeout_s * 1e9);
	int64_t kill_at = -1;
	int status_known = 0, status = 0, exec_errno = 0, setup_errno = 0;
	int open_fds = 3;
	struct pollfd fds[5] = {
		{ .fd = a.out_pipe[0], .events = POLLIN },
		{ .fd = a.err_pipe[0], .events = POLLIN },
		{ .fd = a.status_pipe[0], .events = POLLIN },
		{ .fd = spec->abort_fd, .events = POLLIN },
		{ .fd = spec->interrupt_fd, .events = POLLIN },
	};
	while (open_fds > 0) {
		int64_t now = now_ns();
		for (int i = 3; i < 5; i++) {
			if (res->timed_out || res->aborted || fds[i].fd < 0 || !(fds[i].revents & POLLIN))
				continue;
			res->aborted = 1;
			fds[3].fd = fds[4].fd = -1;
			kill(init, SIGTERM);
			kill_at = now + (int64_t)CLIENT_KILL_GRACE_MS * 1000000;
		}
		if (!res->timed_out && !res->aborted && now >= deadline) {
			res->timed_out = 1;
			kill(init, SIGTERM);
			kill_at = now + (int64_t)CLIENT_KILL_GRACE_MS * 1000000;
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill(init, SIGKILL);
			kill_at = -1;
		}
		int stopping = res->timed_out || res->aborted;
		int64_t wake = stopping ? (kill_at >= 0 ? kill_at : now + 100000000) : deadline;
		int timeout_ms = (int)((wake - now) / 1000000) + 1;
		int n = poll(fds, 5, timeout_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 3 && n > 0; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			ssize_t got = read(fds[i].fd, buf, sizeof buf);
			if (got <= 0) {
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 2) {
				/* Status messages: tag 1 exec errno, 2 setup errno, 3 wait status. */
				for (ssize_t off = 0; off + 8 <= got; off += 8) {
					int tagged[2];
					memcpy(tagged, buf + off, sizeof tagged);
					if (tagged[0] == 1)
						exec_errno = tagged[1];
					else if (tagged[0] == 2)
						setup_errno = tagged[1];
					else if (tagged[0] == 3) {
						status = tagged[1];
						status_known = 1;
					}
				}
				continue;
			}
			tail_add(i == 0 ? &out : &errtail, buf, (size_t)got);
			if (spec->echo)
				write_all(2, buf, (size_t)got);
		}
	}
	int init_status;
	while (waitpid(init, &init_status, 0) < 0 && errno == EINTR)
		;
	res->end_ns = now_ns();
	init = -1;
	if (setup_errno) {
		if (asprintf(err, "client: cannot enter its namespaces: %s", strerror(setup_errno)) < 0)
			*err = NULL;
		goto out;
	}
	if (exec_errno) {
		if (asprintf(&res->exec_error, "cannot run '%s': %s", spec->argv[0], strerror(exec_errno)) < 0)
			res->exec_error = NULL;
		res->exit_code = 127;
	} else if (status_known) {
		res->started = 1;
		if (WIFEXITED(status))
			res->exit_code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			res->signal = WTERMSIG(status);
	} else {
		/* The init was killed before it could tell: the client died with it. */
		res->started = 1;
		res->signal = SIGKILL;
	}
	rc = 0;
out:
	if (init > 0) {
		kill(init, SIGKILL);
		waitpid(init, NULL, 0);
	}
	res->stdout_tail = tail_string(&out);
	res->stderr_tail = tail_string(&errtail);
	for (int i = 0; i < 2; i++) {
		if (a.out_pipe[i] >= 0)
			close(a.out_pipe[i]);
		if (a.err_pipe[i] >= 0)
			close(a.err_pipe[i]);
		if (a.status_pipe[i] >= 0)
			close(a.status_pipe[i]);
	}
	if (stack != MAP_FAILED)
		munmap(stack, CLIENT_INIT_STACK);
	free(a.envp);
	return rc;
}

void client_result_free(struct client_result *res)
{
	free(res->stdout_tail);
	free(res->stderr_tail);
	free(res->exec_error);
	res->stdout_tail = res->stderr_tail = res->exec_error = NULL;
}
