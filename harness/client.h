/* client.h — run the client under test inside the client's namespaces.
 *
 * The client runs in the client network namespace, in a mount namespace of
 * its own (where the run's hosts file is bound over /etc/hosts so that
 * server.test resolves), and in a PID namespace whose first process is a
 * small init of ours. That init dies with faultwire (PR_SET_PDEATHSIG), and
 * when the first process of a PID namespace dies the kernel kills every
 * other process in it: whatever the client forks cannot outlive the run,
 * even when faultwire itself is killed with SIGKILL. */
#ifndef FW_HARNESS_CLIENT_H
#define FW_HARNESS_CLIENT_H

#include <stdint.h>

struct client_spec {
	char *const *argv;        /* NULL-terminated, looked up in PATH */
	const char *workdir;      /* the client's working directory */
	char *const *env;         /* NULL-terminated "NAME=value" added to the environment */
	int net_ns;               /* network namespace fd */
	const char *hosts_file;   /* bound over /etc/hosts (NULL: leave it) */
	const char *resolv_file;  /* bound over /etc/resolv.conf (NULL: leave it) */
	double timeout_s;         /* SIGTERM after this, SIGKILL 2 s later */
	int echo;                 /* copy the client's output to our stderr as it comes */
	int abort_fd;             /* readable: stop the client now, as at the timeout (-1: none) */
	int interrupt_fd;         /* the same, for the user's Ctrl-C (-1: none) */
	/* Called (on the calling thread) right before the client starts, with
	 * the CLOCK_MONOTONIC start time. */
	void (*on_start)(int64_t start_ns, void *arg);
	void *on_start_arg;
};

struct client_result {
	int started;              /* the command was executed */
	int exit_code;            /* -1 when it did not exit normally */
	int signal;               /* the signal that killed it, 0 when none */
	int timed_out;            /* faultwire stopped it at the timeout */
	int aborted;              /* faultwire stopped it because the run could not go on */
	int64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
	char *stdout_tail;        /* last bytes of its output (malloc'd, NUL-terminated) */
	char *stderr_tail;
	char *exec_error;         /* why it could not be started, or NULL */
};

/* Run the client and wait for it (or for the timeout). Returns 0 with *res
 * filled, or -1 with *err (malloc'd) when the namespaces could not be set up
 * for it. The caller frees res with client_result_free. */
int client_run(const struct client_spec *spec, struct client_result *res, char **err);

void client_result_free(struct client_result *res);

#endif
