/* run.h — one run of one scenario, from namespaces to verdict.
 *
 * The order: load the scenario; make the run folder and the three
 * namespaces; put the NFQUEUE rule in mid (no bypass); start the packet
 * engine (its own thread, in mid) and the built-in server (its own thread,
 * in server); run the client; stop engine and server; build the record;
 * evaluate the expectations; release everything. The namespaces are held
 * by file descriptors only, so a killed faultwire leaves nothing behind. */
#ifndef FW_HARNESS_RUN_H
#define FW_HARNESS_RUN_H

#include <stdint.h>

#include <jansson.h>

enum run_verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_INCONCLUSIVE, VERDICT_ERROR };

/* Exit classes of the CLI contract. */
enum run_exit { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_SCENARIO = 2, EXIT_ENVIRONMENT = 3 };

struct run_options {
	int has_seed;
	uint64_t seed;
	int has_timeout;
	double timeout_s;
	char **client_argv;   /* replaces the scenario's client when not NULL */
	int echo;             /* show the client's output as it comes */
	const char *pcap_path;  /* write a pcapng capture there (NULL: none) */
	int interrupt_fd;       /* readable once the user pressed Ctrl-C (-1: never) */
};

struct run_outcome {
	enum run_exit exit_class;
	enum run_verdict verdict;
	json_t *record;       /* NULL when the run did not get as far as the client */
	char *error;          /* what went wrong, for exit classes 2 and 3 and for error verdicts */
	char *rundir;         /* kept when the run did not pass, else NULL */
};

/* Run the scenario at path. Always fills *out; the caller frees it with
 * run_outcome_free. */
void run_scenario(const char *path, const struct run_options *options, struct run_outcome *out);

void run_outcome_free(struct run_outcome *out);

const char *run_verdict_name(enum run_verdict v);

/* Remove the run folders that runs killed before they could clean up left
 * behind (their owner process is gone). Called before new runs start. */
void run_sweep_stale(void);

/* As an ordinary user, enter a user namespace where we are root, so the
 * rest works the same. Must be called before any thread starts. Returns 0,
 * or -1 with *err saying what is missing and how to get it. */
int run_prepare_privileges(char **err);

#endif
