/* fuzz_scenario.c — libFuzzer target for harness/scenario.c: the input is a
 * scenario file. It is written to a file in a directory of its own (made once
 * per process, so `require` finds nothing else next to it) and loaded with
 * scenario_load; when it loads, its expectations are evaluated over a fixed,
 * hand-made run record, which runs fw.check functions and every expectation's
 * evaluator. Whatever the file says, this must not crash, trip a sanitizer or
 * leak, and a failure must come with a message. A scenario that loads also
 * meets the engine's side: its timed actions run, and a short TCP
 * connection goes through fault_decide over its rules, which calls its hooks.
 *
 * The instruction budget is lowered through FAULTWIRE_LUA_BUDGET (unless it
 * is set already): 200 million instructions per call would make every
 * endless loop take seconds. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness/scenario.h"
#include "sim/craft.h"
#include "sim/fault.h"
#include "sim/flow.h"
#include "sim/packet.h"

#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                                   \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                       \
		}                                                                                  \
	} while (0)

static char fuzz_dir[PATH_MAX];
static char fuzz_path[PATH_MAX];

/* A run record shaped like record.c's, with a reset, a retry and a resumed
 * request, so that every built-in expectation has something to look at. */
static const char fuzz_record_text[] =
	"{\"faultwire\": 1, \"scenario\": \"fuzz\", \"seed\": 7, \"verdict\": \"error\","
	" \"duration_ms\": 900, \"workdir\": \"%s\","
	" \"client\": {\"argv\": [\"curl\", \"-sS\"], \"exit_code\": 56, \"signal\": null,"
	"   \"timed_out\": false, \"duration_ms\": 640, \"stdout_tail\": \"200 200 403\\n\","
	"   \"stderr_tail\": \"curl: (56) Recv failure: Connection reset by peer\\n\"},"
	" \"expectations\": [],"
	" \"flows\": [{\"id\": 1, \"proto\": \"tcp\", \"client\": \"198.18.0.2:41234\","
	"   \"server\": \"198.19.0.2:80\", \"opened_ms\": 3, \"closed_ms\": 118, \"end\": \"reset_injected\","
	"   \"bytes_up\": 80, \"bytes_down\": 262144, \"packets\": 200, \"dropped\": 1},"
	"  {\"id\": 2, \"proto\": \"tcp\", \"opened_ms\": 400, \"closed_ms\": null, \"end\": \"open\"},"
	"  {\"id\": 3, \"proto\": \"udp\", \"opened_ms\": 500, \"closed_ms\": 510, \"end\": \"open\"}],"
	" \"faults\": [{\"t_ms\": 118, \"flow\": 1, \"fault\": \"reset\", \"detail\": \"after 262144 bytes down\","
	"   \"flows_seen\": 1, \"where\": \"x.lua:3\"}],"
	" \"server\": {\"requests\": [{\"t_ms\": 5, \"flow\": 1, \"method\": \"GET\", \"path\": \"/bytes/1000\","
	"   \"range\": null, \"status\": 200},"
	"  {\"t_ms\": 410, \"flow\": 2, \"method\": \"GET\", \"path\": \"/bytes/1000\","
	"   \"range\": \"bytes=500-\", \"status\": 206}]},"
	" \"stats\": {\"packets\": 210, \"dropped\": 1, \"delayed\": 0, \"injected\": 2, \"queue_drops\": 0}}";

static json_t *fuzz_record;
static int fuzz_verbose;  /* FUZZ_SCENARIO_VERBOSE=1: say what each input did */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Best effort: a scenario may have written files of its own there. */
static void fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char text[sizeof fuzz_record_text + PATH_MAX];
	json_error_t error;

	(void)argc;
	(void)argv;
	/* 1 million instructions per call: the module itself needs a few
	 * thousand, and an endless loop is cut short in milliseconds. */
	setenv("FAULTWIRE_LUA_BUDGET", "1000000", 0);
	fuzz_verbose = getenv("FUZZ_SCENARIO_VERBOSE") != NULL;
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fuzz_scenario.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		fprintf(stderr, "fuzz_scenario: mkdtemp %s: %s\n", fuzz_dir, strerror(errno));
		exit(1);
	}
	snprintf(fuzz_path, sizeof fuzz_path, "%s/scenario.lua", fuzz_dir);
	atexit(fuzz_cleanup);
	snprintf(text, sizeof text, fuzz_record_text, fuzz_dir);
	fuzz_record = json_loads(text, 0, &error);
	if (!fuzz_record) {
		fprintf(stderr, "fuzz_scenario: the record does not parse: %s\n", error.text);
		exit(1);
	}
	return 0;
}

static void fuzz_write_file(const uint8_t *data, size_t size)
{
	int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fuzz_scenario: open %s: %s\n", fuzz_path, strerror(errno));
		exit(1);
	}
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "fuzz_scenario: write %s: %s\n", fuzz_path, strerror(errno));
			exit(1);
		}
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

/* One segment of the connection fuzz_engine_side plays: `payload` bytes
 * after a bare TCP header (craft.c makes the header, the payload is added;
 * the parser does not look at checksums). */
static size_t fuzz_segment(uint8_t *buf, size_t cap, int up, uint8_t flags, uint32_t seq, uint32_t ack,
                           size_t payload)
{
	static const struct packet_addr client = { .family = AF_INET, .bytes = { 198, 18, 0, 2 } };
	static const struct packet_addr server = { .family = AF_INET, .bytes = { 198, 19, 0, 2 } };
	struct craft_tcp t = {
		.src = up ? client : server, .dst = up ? server : client,
		.sport = up ? 41234 : 80, .dport = up ? 80 : 41234,
		.seq = seq, .ack = ack, .flags = flags, .window = 502,
	};
	size_t len = craft_tcp_segment(buf, cap, &t);
	FUZZ_CHECK(len > 0 && len + payload <= cap);
	memset(buf + len, 'x', payload);
	len += payload;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	return len;
}

/* What the engine does with a loaded scenario, in short: its timed actions
 * run, and each packet of one connection goes through fault_decide over
 * the scenario's rules (calling its Lua hooks), with flow_update when it is
 * let through. The rules are the scenario's own copy, freed with it. */
static void fuzz_engine_side(struct scenario *s)
{
	static const struct { int up; uint8_t flags; uint32_t seq, ack; size_t payload; int64_t at_ms; } conn[] = {
		{ 1, TCP_SYN, 1000, 0, 0, 5 },
		{ 0, TCP_SYN | TCP_ACK, 9000, 1001, 0, 6 },
		{ 1, TCP_ACK, 1001, 9001, 0, 7 },
		{ 1, TCP_PSH | TCP_ACK, 1001, 9001, 40, 8 },
		{ 0, TCP_ACK, 9001, 1041, 1400, 20 },
		{ 0, TCP_ACK, 10401, 1041, 1400, 900 },
		{ 1, TCP_ACK, 1041, 11801, 0, 2500 },
		{ 0, TCP_FIN | TCP_ACK, 11801, 1041, 0, 6000 },
		{ 1, TCP_FIN | TCP_ACK, 1041, 11802, 0, 6001 },
	};
	const int64_t t0 = 1000000000000LL;
	uint8_t buf[1600];

	for (size_t i = 0; i < s->timer_count; i++) {
		char *err = NULL;
		if (s->timers[i].fn(s->timers[i].arg, &err) < 0)
			FUZZ_CHECK(err != NULL && err[0] != '\0');
		free(err);
	}
	struct flow_table *t = flow_table_new(s->seed);
	if (!t)
		return;
	flow_table_set_rule_count(t, s->rule_count);
	for (size_t i = 0; i < sizeof conn / sizeof conn[0]; i++) {
		struct packet p;
		struct fault_decision d;
		enum flow_dir dir = conn[i].up ? DIR_UP : DIR_DOWN;
		int64_t now = t0 + conn[i].at_ms * 1000000;
		size_t len = fuzz_segment(buf, sizeof buf, conn[i].up, conn[i].flags, conn[i].seq, conn[i].ack,
		                          conn[i].payload);
		FUZZ_CHECK(packet_parse(&p, buf, len, NULL) == 0);
		struct flow *f = flow_lookup(t, &p, dir);
		if (!f && !(f = flow_open(t, &p, dir, now)))
			break;
		fault_decide(t, s->rules, s->rule_count, f, &p, dir, now - t0, now - f->opened_ns, &d);
		if (d.error) {
			/* A hook failed: the engine stops the run with the message. */
			FUZZ_CHECK(d.error[0] != '\0' && d.action == ACTION_DROP);
			free(d.error);
			break;
		}
		FUZZ_CHECK(d.rule >= -1 && d.rule < (int)s->rule_count);
		if (d.action == ACTION_DELAY)
			FUZZ_CHECK(d.delay_ns > 0);
		if (d.action == ACTION_ACCEPT || d.action == ACTION_DELAY || d.action == ACTION_DUPLICATE ||
		    d.action == ACTION_CORRUPT)
			flow_update(f, &p, dir, now);
		else if (d.action == ACTION_RESET || d.action == ACTION_FORGET)
			flow_end(f, FLOW_END_RESET_INJECTED, now);
	}
	flow_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *s = NULL;
	char *err = NULL;

	fuzz_write_file(data, size);
	if (scenario_load(fuzz_path, &s, &err) < 0) {
		FUZZ_CHECK(s == NULL);
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		if (fuzz_verbose)
			fprintf(stderr, "load: %s\n", err);
		free(err);
		return 0;
	}
	FUZZ_CHECK(s != NULL && err == NULL);
	/* What the engine and the run rely on. */
	FUZZ_CHECK(s->rule_count <= FLOW_MAX_RULES);
	for (size_t i = 0; i < s->rule_count; i++) {
		const struct fault_rule *r = &s->rules[i];
		FUZZ_CHECK(r->type < FAULT_TYPE_COUNT);
		FUZZ_CHECK(r->flow_count <= FAULT_MAX_FLOWS);
		FUZZ_CHECK(r->dirs != 0 && (r->dirs & ~(unsigned)(DIR_UP | DIR_DOWN)) == 0);
	}
	/* Every argument is a string the run can read (ASan watches strlen). */
	if (s->client_argv)
		for (char **a = s->client_argv; *a; a++)
			(void)strlen(*a);

	json_t *results = NULL;
	if (scenario_evaluate(s, fuzz_record, &results, &err) < 0) {
		FUZZ_CHECK(results == NULL);
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		if (fuzz_verbose)
			fprintf(stderr, "evaluate: %s\n", err);
		free(err);
	} else {
		/* Not always expect_count long: that is `#expect`, and a list
		 * with a hole has more than one border. */
		FUZZ_CHECK(json_is_array(results));
		if (fuzz_verbose) {
			char *text = json_dumps(results, JSON_COMPACT);
			fprintf(stderr, "loaded: %zu fault(s); results: %s\n", s->rule_count, text ? text : "?");
			free(text);
		}
		json_decref(results);
	}
	fuzz_engine_side(s);
	scenario_free(s);
	return 0;
}
