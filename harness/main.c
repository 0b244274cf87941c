/* main.c — the faultwire command line: run, check, list. Only this file
 * decides the process's exit code. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/record.h"
#include "harness/report.h"
#include "harness/run.h"
#include "harness/scenario.h"

static const char USAGE[] =
	"usage: faultwire run [OPTIONS] SCENARIO.lua|DIR... [-- CLIENT COMMAND ...]\n"
	"       faultwire check SCENARIO.lua...\n"
	"       faultwire list [DIR]\n"
	"       faultwire --version | --help\n"
	"\n"
	"run options:\n"
	"  --seed N       seed for every random choice (default: the scenario's, else 1)\n"
	"  --timeout S    how long the client may run (default: the scenario's, else 30)\n"
	"  --json FILE    write the run record (several runs: {\"runs\": [...]})\n"
	"  --junit FILE   write JUnit XML, one testcase per run\n"
	"  --tap          TAP on stdout instead of the human summary\n"
	"  --pcap FILE    pcapng of every packet the middlebox saw, with its verdict\n"
	"                 (several runs: FILE-1.pcapng, FILE-2.pcapng, ...)\n"
	"  --jobs N       run scenarios in parallel, each in its own namespaces\n"
	"  --repeat N     run each scenario N times and report the pass rate\n"
	"  -v, -q         more / less output\n"
	"\n"
	"exit: 0 every expectation held; 1 an expectation failed or a run was\n"
	"inconclusive or broken; 2 usage or scenario error; 3 environment error.\n";

struct cli {
	struct run_options run;
	const char *json_path, *junit_path, *pcap_path;
	int tap, jobs, repeat, verbose, quiet;
	char **paths;
	size_t path_count, path_capacity;
};

struct job_queue {
	struct report_item *items;
	size_t count;
	_Atomic size_t next;
	_Atomic size_t done;
	const struct run_options *options;
	int progress;          /* show progress on the terminal (stderr) */
	pthread_mutex_t lock;  /* one progress line at a time */
};

/* "[3/18] pass  scenarios/x.lua" on one terminal line, rewritten in place. */
static void job_progress(struct job_queue *q, const struct report_item *item)
{
	size_t done = atomic_fetch_add(&q->done, 1) + 1;
	if (!q->progress)
		return;
	pthread_mutex_lock(&q->lock);
	fprintf(stderr, "\r\033[K[%zu/%zu] %-12s %s", done, q->count, run_verdict_name(item->outcome.verdict), item->path);
	if (done == q->count)
		fprintf(stderr, "\r\033[K");
	fflush(stderr);
	pthread_mutex_unlock(&q->lock);
}

static int add_path(struct cli *c, const char *path)
{
	if (c->path_count == c->path_capacity) {
		size_t cap = c->path_capacity ? c->path_capacity * 2 : 16;
		char **v = realloc(c->paths, cap * sizeof *v);
		if (!v)
			return -1;
		c->paths = v;
		c->path_capacity = cap;
	}
	c->paths[c->path_count] = strdup(path);
	return c->paths[c->path_count++] ? 0 : -1;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder stands for its *.lua scenarios, in name order (the module
 * lives in scenarios/lib/, out of the way). */
static int expand_path(struct cli *c, const char *path, char **err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_path(c, path);
	DIR *d = opendir(path);
	if (!d) {
		if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	size_t first = c->path_count;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0 || e->d_name[0] == '.')
			continue;
		char *full;
		if (asprintf(&full, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name) < 0)
			continue;
		add_path(c, full);
		free(full);
	}
	closedir(d);
	qsort(c->paths + first, c->path_count - first, sizeof *c->paths, compare_strings);
	return 0;
}

static volatile sig_atomic_t interrupted;
static int interrupt_pipe[2] = { -1, -1 };

static void on_interrupt(int sig)
{
	(void)sig;
	/* Running clients are stopped (the pipe wakes their runs); a second
	 * Ctrl-C means now. */
	if (interrupted)
		_exit(130);
	interrupted = 1;
	if (write(interrupt_pipe[1], "!", 1) < 0) {
		/* Nothing to do in a signal handler: the flag is set. */
	}
}

static void *job_worker(void *arg)
{
	struct job_queue *q = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&q->next, 1);
		if (i >= q->count)
			return NULL;
		if (interrupted) {
			q->items[i].outcome.verdict = VERDICT_ERROR;
			q->items[i].outcome.exit_class = EXIT_FAILED;
			q->items[i].outcome.error = strdup("not run: interrupted");
			job_progress(q, &q->items[i]);
			continue;
		}
		struct run_options options = *q->options;
		options.pcap_path = q->items[i].pcap_path;
		run_scenario(q->items[i].path, &options, &q->items[i].outcome);
		job_progress(q, &q->items[i]);
	}
}

static int exit_code_of(const struct report_item *items, size_t count)
{
	int code = 0;
	for (size_t i = 0; i < count; i++) {
		int c = (int)items[i].outcome.exit_class;
		/* Environment and scenario errors say more than a failed run. */
		if (c > code)
			code = c;
	}
	return code;
}

/* The run's record, or for a run that ended before its client ran, a short
 * record saying why. */
static json_t *run_record_or_stub(const struct report_item *item)
{
	if (item->outcome.record)
		return json_incref(item->outcome.record);
	json_t *r = json_object();
	json_object_set_new(r, "faultwire", json_integer(1));
	json_object_set_new(r, "file", json_string(item->path));
	json_object_set_new(r, "verdict", json_string(run_verdict_name(item->outcome.verdict)));
	json_object_set_new(r, "error", json_string(item->outcome.error ? item->outcome.error : ""));
	return r;
}

static int write_json(const char *path, struct report_item *items, size_t count, char **err)
{
	json_t *doc;
	if (count == 1) {
		doc = run_record_or_stub(&items[0]);
	} else {
		json_t *runs = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(runs, run_record_or_stub(&items[i]));
		doc = json_object();
		json_object_set_new(doc, "faultwire", json_integer(1));
		json_object_set_new(doc, "runs", runs);
	}
	int rc = record_write(doc, path, err);
	json_decref(doc);
	return rc;
}

static void report_repeats(FILE *out, const struct cli *c, const struct report_item *items)
{
	for (size_t p = 0; p < c->path_count; p++) {
		int passed = 0;
		for (int k = 0; k < c->repeat; k++)
			passed += items[p * (size_t)c->repeat + (size_t)k].outcome.verdict == VERDICT_PASS;
		fprintf(out, "pass rate %d/%d (%.0f%%)  %s\n", passed, c->repeat, 100.0 * passed / c->repeat, c->paths[p]);
	}
}

static int command_run(struct cli *c)
{
	size_t count = c->path_count * (size_t)c->repeat;
	struct report_item *items = calloc(count, sizeof *items);
	char *err = NULL;
	if (!items)
		return EXIT_ENVIRONMENT;
	for (size_t p = 0; p < c->path_count; p++)
		for (int k = 0; k < c->repeat; k++) {
			items[p * (size_t)c->repeat + (size_t)k].path = c->paths[p];
			items[p * (size_t)c->repeat + (size_t)k].repeat_index = k;
		}
	/* One capture per run: FILE itself for one run, numbered otherwise. */
	for (size_t i = 0; c->pcap_path && i < count; i++) {
		if (count == 1) {
			items[i].pcap_path = strdup(c->pcap_path);
			continue;
		}
		const char *dot = strrchr(c->pcap_path, '.');
		const char *slash = strrchr(c->pcap_path, '/');
		if (!dot || (slash && dot < slash))
			dot = c->pcap_path + strlen(c->pcap_path);
		if (asprintf(&items[i].pcap_path, "%.*s-%zu%s", (int)(dot - c->pcap_path), c->pcap_path, i + 1, dot) < 0)
			items[i].pcap_path = NULL;
	}

	run_sweep_stale();
	if (run_prepare_privileges(&err) < 0) {
		fprintf(stderr, "faultwire: %s\n", err);
		free(err);
		free(items);
		return EXIT_ENVIRONMENT;
	}
	if (pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "faultwire: pipe: %s\n", strerror(errno));
		free(items);
		return EXIT_ENVIRONMENT;
	}
	c->run.interrupt_fd = interrupt_pipe[0];
	struct sigaction sa = { .sa_handler = on_interrupt };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct job_queue q = { .items = items, .count = count, .options = &c->run,
	                       .progress = count > 1 && isatty(2) && !c->quiet && !c->tap };
	pthread_mutex_init(&q.lock, NULL);
	int jobs = c->jobs < 1 ? 1 : c->jobs;
	if ((size_t)jobs > count)
		jobs = (int)count;
	pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
	int started = 0;
	for (int j = 0; threads && j < jobs; j++)
		if (pthread_create(&threads[j], NULL, job_worker, &q) == 0)
			started++;
	if (!started)
		job_worker(&q);
	for (int j = 0; j < started; j++)
		pthread_join(threads[j], NULL);
	free(threads);

	int color = isatty(1) && !getenv("NO_COLOR");
	if (c->tap) {
		report_tap(stdout, items, count);
	} else {
		for (size_t i = 0; i < count; i++) {
			if (c->quiet)
				report_line(stdout, &items[i], color);
			else {
				report_human(stdout, &items[i], c->verbose, color);
				if (i + 1 < count)
					fputc('\n', stdout);
			}
		}
		if (c->repeat > 1)
			report_repeats(stdout, c, items);
		if (count > 1) {
			size_t tally[4] = { 0 };
			for (size_t i = 0; i < count; i++)
				tally[items[i].outcome.verdict]++;
			printf("\n%zu passed, %zu failed, %zu inconclusive, %zu errors\n", tally[VERDICT_PASS],
			       tally[VERDICT_FAIL], tally[VERDICT_INCONCLUSIVE], tally[VERDICT_ERROR]);
		}
	}
	int code = exit_code_of(items, count);
	if (c->json_path && write_json(c->json_path, items, count, &err) < 0) {
		fprintf(stderr, "faultwire: %s\n", err);
		free(err);
		code = code > EXIT_ENVIRONMENT ? code : EXIT_ENVIRONMENT;
	}
	if (c->junit_path && report_junit(c->junit_path, items, count) < 0) {
		fprintf(stderr, "faultwire: cannot write %s: %s\n", c->junit_path, strerror(errno));
		code = EXIT_ENVIRONMENT;
	}
	for (size_t i = 0; i < count; i++) {
		run_outcome_free(&items[i].outcome);
		free(items[i].pcap_path);
	}
	free(items);
	if (interrupted)
		return 130;
	return code;
}

static int command_check(struct cli *c)
{
	int code = 0;
	for (size_t i = 0; i < c->path_count; i++) {
		struct scenario *s;
		char *err = NULL;
		if (scenario_load(c->paths[i], &s, &err) < 0) {
			fprintf(stderr, "%s\n", err);
			free(err);
			code = EXIT_SCENARIO;
			continue;
		}
		if (!c->quiet)
			printf("ok  %s  %s: %zu fault(s), %zu expectation(s)\n", c->paths[i], s->name,
			       s->rule_count + s->dns_rule_count + s->timer_count, s->expect_count);
		scenario_free(s);
	}
	return code;
}

static int command_list(struct cli *c)
{
	int code = 0;
	for (size_t i = 0; i < c->path_count; i++) {
		struct scenario *s;
		char *err = NULL;
		if (scenario_load(c->paths[i], &s, &err) < 0) {
			fprintf(stderr, "%s\n", err);
			free(err);
			code = EXIT_SCENARIO;
			continue;
		}
		printf("%-28s %s\n", s->name, s->about && *s->about ? s->about : "");
		scenario_free(s);
	}
	return code;
}

static int parse_number(const char *opt, const char *text, double min, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || v < min) {
		fprintf(stderr, "faultwire: %s expects a number >= %g, got '%s'\n", opt, min, text);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .jobs = 1, .repeat = 1 };
	int code = EXIT_SCENARIO;
	char *err = NULL;
	static const struct option options[] = {
		{ "seed", required_argument, NULL, 's' }, { "timeout", required_argument, NULL, 't' },
		{ "json", required_argument, NULL, 'J' }, { "junit", required_argument, NULL, 'U' },
		{ "tap", no_argument, NULL, 'T' }, { "jobs", required_argument, NULL, 'j' },
		{ "pcap", required_argument, NULL, 'P' },
		{ "repeat", required_argument, NULL, 'r' }, { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 },
	};

	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("faultwire %s\n", FAULTWIRE_VERSION);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_SCENARIO : 0;
	}
	const char *command = argv[1];
	if (strcmp(command, "run") && strcmp(command, "check") && strcmp(command, "list")) {
		fprintf(stderr, "faultwire: unknown command '%s'\n\n%s", command, USAGE);
		return EXIT_SCENARIO;
	}
	/* Everything after -- is the client command, untouched. */
	int end = argc;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			c.run.client_argv = &argv[i + 1];
			argv[i] = NULL;
			break;
		}
	if (c.run.client_argv && !c.run.client_argv[0]) {
		fprintf(stderr, "faultwire: nothing after --: give the client command\n");
		return EXIT_SCENARIO;
	}
	optind = 2;
	int opt;
	double v;
	while ((opt = getopt_long(end, argv, "vqh", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_number("--seed", optarg, 0, &v) < 0)
				return EXIT_SCENARIO;
			c.run.has_seed = 1;
			c.run.seed = (uint64_t)v;
			break;
		case 't':
			if (parse_number("--timeout", optarg, 0.001, &v) < 0)
				return EXIT_SCENARIO;
			c.run.has_timeout = 1;
			c.run.timeout_s = v;
			break;
		case 'J': c.json_path = optarg; break;
		case 'U': c.junit_path = optarg; break;
		case 'T': c.tap = 1; break;
		case 'P': c.pcap_path = optarg; break;
		case 'j':
			if (parse_number("--jobs", optarg, 1, &v) < 0)
				return EXIT_SCENARIO;
			c.jobs = (int)v;
			break;
		case 'r':
			if (parse_number("--repeat", optarg, 1, &v) < 0)
				return EXIT_SCENARIO;
			c.repeat = (int)v;
			break;
		case 'v': c.verbose++; break;
		case 'q': c.quiet = 1; break;
		case 'h': fputs(USAGE, stdout); return 0;
		default:
			fprintf(stderr, "%s", USAGE);
			return EXIT_SCENARIO;
		}
	}
	c.run.echo = c.verbose >= 2;
	for (int i = optind; i < end; i++)
		if (expand_path(&c, argv[i], &err) < 0) {
			fprintf(stderr, "faultwire: %s\n", err);
			free(err);
			goto out;
		}
	if (strcmp(command, "list") == 0 && c.path_count == 0 && optind == end)
		expand_path(&c, FAULTWIRE_SCENARIO_DIR, &err);
	if (c.path_count == 0) {
		fprintf(stderr, "faultwire %s: no scenario given\n\n%s", command, USAGE);
		goto out;
	}
	if (strcmp(command, "run") == 0)
		code = command_run(&c);
	else if (strcmp(command, "check") == 0)
		code = command_check(&c);
	else
		code = command_list(&c);
out:
	for (size_t i = 0; i < c.path_count; i++)
		free(c.paths[i]);
	free(c.paths);
	return code;
}
