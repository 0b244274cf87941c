/* report.h — what a person (or CI) reads after runs: the human summary,
 * TAP, and JUnit XML. Everything here is written from run records only. */
#ifndef FW_HARNESS_REPORT_H
#define FW_HARNESS_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "harness/run.h"

struct report_item {
	const char *path;            /* the scenario file */
	struct run_outcome outcome;
	int repeat_index;            /* 0-based, for --repeat */
	char *pcap_path;             /* this run's capture, or NULL */
};

/* The human summary of one run: the client, each connection, the faults
 * as they fired, the server's requests, each expectation with why it held
 * or failed, and the verdict. verbose adds the whole stdout/stderr tails. */
void report_human(FILE *out, const struct report_item *item, int verbose, int color);

/* One line per run, for -q. */
void report_line(FILE *out, const struct report_item *item, int color);

/* TAP version 13 over all runs. */
void report_tap(FILE *out, const struct report_item *items, size_t count);

/* JUnit XML, one testcase per run. Returns 0 or -1 (errno) on write failure. */
int report_junit(const char *path, const struct report_item *items, size_t count);

#endif
