/* record.h — the run record: one JSON document per run (the --json file,
 * and the table fw.check receives), built once at the end of a run from
 * what the client, the engine and the server each observed.
 *
 * Times (t_ms, opened_ms, ...) count from the moment the client started. */
#ifndef FW_HARNESS_RECORD_H
#define FW_HARNESS_RECORD_H

#include <stdint.h>

#include <jansson.h>

#include "harness/client.h"
#include "harness/dnsd.h"
#include "harness/httpd.h"
#include "harness/scenario.h"
#include "sim/engine.h"

struct record_input {
	const struct scenario *scenario;
	uint64_t seed;
	const char *workdir;
	char *const *client_argv;
	const struct client_result *client;
	struct engine *engine;        /* stopped */
	const struct httpd *httpd;    /* stopped; NULL when the server was not ours */
	const struct dnsd *dnsd;      /* stopped; NULL without the built-in DNS server */
	int64_t t0_ns;                /* the client's start */
	int64_t run_start_ns;         /* when faultwire began the run */
	long peak_rss_kb;             /* faultwire's peak memory while the client ran (0: unknown) */
};

/* Build the record without verdict and expectations (record_finish adds
 * them). The caller owns the result. */
json_t *record_build(const struct record_input *in);

/* Add the expectation results, the verdict and the total duration. */
void record_finish(json_t *record, json_t *expectations, const char *verdict, const char *error,
                   int64_t duration_ms);

/* Write the record to path as indented JSON. Returns 0 or -1 with *err. */
int record_write(json_t *record, const char *path, char **err);

#endif
