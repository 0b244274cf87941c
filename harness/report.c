/* report.c — summaries of runs; see report.h. */
#include "harness/report.h"

#include <stdlib.h>
#include <string.h>

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *color_of(enum run_verdict v)
{
	return v == VERDICT_PASS ? GREEN : v == VERDICT_FAIL ? RED : YELLOW;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void format_bytes(long long n, char *buf, size_t size)
{
	if (n < 1024)
		snprintf(buf, size, "%lld B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", n / 1024.0);
	else
		snprintf(buf, size, "%.1f MiB", n / 1048576.0);
}

/* The last non-empty line of a text, at most max bytes. */
static void last_line(const char *text, char *buf, size_t size)
{
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	size_t start = len;
	while (start && text[start - 1] != '\n')
		start--;
	size_t n = len - start < size - 1 ? len - start : size - 1;
	memcpy(buf, text + start, n);
	buf[n] = 0;
}

static const char *verdict_label(enum run_verdict v)
{
	static const char *labels[] = { "PASS", "FAIL", "INCONCLUSIVE", "ERROR" };
	return v <= VERDICT_ERROR ? labels[v] : "?";
}

static void report_client(FILE *out, json_t *c, int verbose)
{
	json_t *argv = json_object_get(c, "argv");
	size_t i;
	json_t *a;
	fprintf(out, "  client  ");
	json_array_foreach(argv, i, a)
		fprintf(out, "%s%s", i ? " " : "", json_string_value(a));
	fprintf(out, "\n          ");
	json_t *code = json_object_get(c, "exit_code");
	if (json_is_true(json_object_get(c, "timed_out")))
		fprintf(out, "stopped at the timeout, ");
	if (json_is_integer(code))
		fprintf(out, "exit %lld", (long long)json_integer_value(code));
	else if (json_is_string(json_object_get(c, "signal")))
		fprintf(out, "killed by %s", str(c, "signal"));
	else
		fprintf(out, "did not run");
	fprintf(out, " after %.2f s\n", num(c, "duration_ms") / 1000.0);
	if (json_object_get(c, "error"))
		fprintf(out, "          %s\n", str(c, "error"));
	const char *streams[] = { "stderr_tail", "stdout_tail" };
	const char *names[] = { "stderr", "stdout" };
	for (int k = 0; k < 2; k++) {
		const char *text = str(c, streams[k]);
		if (!*text)
			continue;
		if (verbose) {
			fprintf(out, "          %s:\n", names[k]);
			for (const char *p = text; *p;) {
				const char *nl = strchr(p, '\n');
				int n = nl ? (int)(nl - p) : (int)strlen(p);
				fprintf(out, "            | %.*s\n", n, p);
				p += n + (nl ? 1 : 0);
			}
		} else if (k == 0) {
			char line[200];
			last_line(text, line, sizeof line);
			fprintf(out, "          stderr: %s\n", line);
		}
	}
}

void report_human(FILE *out, const struct report_item *item, int verbose, int color)
{
	const struct run_outcome *o = &item->outcome;
	json_t *r = o->record;
	const char *c_on = color ? color_of(o->verdict) : "", *c_off = color ? RESET : "";
	const char *dim = color ? DIM : "", *bold = color ? BOLD : "";
	size_t i;
	json_t *x;

	if (!r) {
		fprintf(out, "%s%s%s  %s\n", c_on, verdict_label(o->verdict), c_off, item->path);
		if (o->error)
			fprintf(out, "  %s\n", o->error);
		return;
	}
	fprintf(out, "%s%s%s  %s%s", bold, str(r, "scenario"), c_off, dim, str(r, "file"));
	fprintf(out, " · seed %lld%s\n", num(r, "seed"), c_off);
	report_client(out, json_object_get(r, "client"), verbose);

	json_array_foreach(json_object_get(r, "flows"), i, x) {
		char up[32], down[32];
		format_bytes(num(x, "bytes_up"), up, sizeof up);
		format_bytes(num(x, "bytes_down"), down, sizeof down);
		json_t *closed = json_object_get(x, "closed_ms");
		char span[48];
		if (json_is_integer(closed))
			snprintf(span, sizeof span, "%.3f–%.3f s", num(x, "opened_ms") / 1000.0,
			         json_integer_value(closed) / 1000.0);
		else
			snprintf(span, sizeof span, "%.3f s–", num(x, "opened_ms") / 1000.0);
		fprintf(out, "  %s #%lld %s %s → %s  %s  up %s, down %s  %s\n", i ? "      " : "flows ",
		        num(x, "id"), str(x, "proto"), str(x, "client"), str(x, "server"), span, up, down,
		        str(x, "end"));
	}
	json_t *faults = json_object_get(r, "faults");
	if (!json_array_size(faults))
		fprintf(out, "  faults  none fired\n");
	json_array_foreach(faults, i, x) {
		json_t *flow = json_object_get(x, "flow");
		fprintf(out, "  %s %.3f s  ", i ? "      " : "faults", num(x, "t_ms") / 1000.0);
		if (json_is_integer(flow))
			fprintf(out, "#%lld ", (long long)json_integer_value(flow));
		fprintf(out, "%s: %s %s(%s)%s\n", str(x, "fault"), str(x, "detail"), dim, str(x, "where"), c_off);
	}
	json_array_foreach(json_object_get(json_object_get(r, "server"), "requests"), i, x) {
		json_t *flow = json_object_get(x, "flow");
		fprintf(out, "  %s %.3f s  ", i ? "      " : "server", num(x, "t_ms") / 1000.0);
		if (json_is_integer(flow))
			fprintf(out, "#%lld ", (long long)json_integer_value(flow));
		fprintf(out, "%s %s", str(x, "method"), str(x, "path"));
		if (json_is_string(json_object_get(x, "range")))
			fprintf(out, " (Range: %s)", str(x, "range"));
		fprintf(out, " → %lld\n", num(x, "status"));
	}
	json_array_foreach(json_object_get(r, "expectations"), i, x) {
		int ok = json_is_true(json_object_get(x, "ok"));
		const char *mark_color = color ? (ok ? GREEN : RED) : "";
		fprintf(out, "  %s %s%s%s %-16s %s\n", i ? "      " : "expect", mark_color, ok ? "✓" : "✗", c_off,
		        str(x, "name"), str(x, "detail"));
	}
	if (verbose) {
		json_t *st = json_object_get(r, "stats");
		fprintf(out, "  stats   %lld packets, %lld dropped, %lld injected, %lld queue drops; digest %.16s\n",
		        num(st, "packets"), num(st, "dropped"), num(st, "injected"), num(st, "queue_drops"),
		        str(r, "decisions_digest"));
	}
	fprintf(out, "  %s%s%s  %.2f s", c_on, verdict_label(o->verdict), c_off, num(r, "duration_ms") / 1000.0);
	if (o->error && o->verdict != VERDICT_PASS)
		fprintf(out, "  %s", o->error);
	fprintf(out, "\n");
	if (o->rundir)
		fprintf(out, "  %skept the run folder: %s%s\n", dim, o->rundir, c_off);
}

void report_line(FILE *out, const struct report_item *item, int color)
{
	const struct run_outcome *o = &item->outcome;
	fprintf(out, "%s%-12s%s %s", color ? color_of(o->verdict) : "", verdict_label(o->verdict),
	        color ? RESET : "", item->path);
	if (o->error && o->verdict != VERDICT_PASS)
		fprintf(out, ": %s", o->error);
	fprintf(out, "\n");
}

static void yaml_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void report_tap(FILE *out, const struct report_item *items, size_t count)
{
	fprintf(out, "TAP version 13\n1..%zu\n", count);
	for (size_t n = 0; n < count; n++) {
		const struct run_outcome *o = &items[n].outcome;
		json_t *r = o->record;
		const char *name = r ? str(r, "scenario") : items[n].path;
		fprintf(out, "%s %zu - %s", o->verdict == VERDICT_PASS ? "ok" : "not ok", n + 1, name);
		if (items[n].repeat_index)
			fprintf(out, " (repeat %d)", items[n].repeat_index + 1);
		fprintf(out, "\n  ---\n  verdict: %s\n  file: ", run_verdict_name(o->verdict));
		yaml_quoted(out, items[n].path);
		fputc('\n', out);
		if (o->error) {
			fprintf(out, "  message: ");
			yaml_quoted(out, o->error);
			fputc('\n', out);
		}
		size_t i;
		json_t *x;
		if (r && json_array_size(json_object_get(r, "expectations"))) {
			fprintf(out, "  expectations:\n");
			json_array_foreach(json_object_get(r, "expectations"), i, x) {
				fprintf(out, "    - %s: %s, ", str(x, "name"), json_is_true(json_object_get(x, "ok")) ? "ok" : "failed");
				yaml_quoted(out, str(x, "detail"));
				fputc('\n', out);
			}
		}
		fprintf(out, "  ...\n");
	}
}

static void xml_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', out);
			else
				fputc(*s, out);
		}
	}
}

int report_junit(const char *path, const struct report_item *items, size_t count)
{
	FILE *out = fopen(path, "w");
	if (!out)
		return -1;
	size_t failures = 0, errors = 0;
	double total = 0;
	for (size_t n = 0; n < count; n++) {
		enum run_verdict v = items[n].outcome.verdict;
		failures += v == VERDICT_FAIL || v == VERDICT_INCONCLUSIVE;
		errors += v == VERDICT_ERROR;
		if (items[n].outcome.record)
			total += num(items[n].outcome.record, "duration_ms") / 1000.0;
	}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuite name=\"faultwire\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
	        count, failures, errors, total);
	for (size_t n = 0; n < count; n++) {
		const struct run_outcome *o = &items[n].outcome;
		json_t *r = o->record;
		fprintf(out, "  <testcase classname=\"");
		xml_escaped(out, items[n].path);
		fprintf(out, "\" name=\"");
		xml_escaped(out, r ? str(r, "scenario") : items[n].path);
		if (items[n].repeat_index)
			fprintf(out, " #%d", items[n].repeat_index + 1);
		fprintf(out, "\" time=\"%.3f\">\n", r ? num(r, "duration_ms") / 1000.0 : 0.0);
		if (o->verdict != VERDICT_PASS) {
			const char *tag = o->verdict == VERDICT_ERROR ? "error" : "failure";
			fprintf(out, "    <%s message=\"%s\">", tag, run_verdict_name(o->verdict));
			if (o->error) {
				xml_escaped(out, o->error);
				fputc('\n', out);
			}
			size_t i;
			json_t *x;
			if (r)
				json_array_foreach(json_object_get(r, "expectations"), i, x) {
					fprintf(out, "%s %s: ", json_is_true(json_object_get(x, "ok")) ? "ok    " : "FAILED",
					        str(x, "name"));
					xml_escaped(out, str(x, "detail"));
					fputc('\n', out);
				}
			fprintf(out, "</%s>\n", tag);
		}
		if (r) {
			fprintf(out, "    <system-err>");
			xml_escaped(out, str(json_object_get(r, "client"), "stderr_tail"));
			fprintf(out, "</system-err>\n");
		}
		fprintf(out, "  </testcase>\n");
	}
	fprintf(out, "</testsuite>\n");
	return fclose(out);
}
