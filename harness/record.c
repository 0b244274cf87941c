/* record.c — the run record; see record.h. */
#include "harness/record.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *ms_since(int64_t t_ns, int64_t t0_ns)
{
	return json_integer((json_int_t)((t_ns - t0_ns) / 1000000));
}

static json_t *record_client(const struct record_input *in)
{
	const struct client_result *c = in->client;
	json_t *argv = json_array();
	for (char *const *a = in->client_argv; a && *a; a++)
		json_array_append_new(argv, json_string(*a));
	json_t *o = json_object();
	json_object_set_new(o, "argv", argv);
	json_object_set_new(o, "exit_code", c->exit_code >= 0 ? json_integer(c->exit_code) : json_null());
	if (c->signal) {
		const char *name = sigabbrev_np(c->signal);
		char buf[32];
		snprintf(buf, sizeof buf, "SIG%s", name ? name : "?");
		json_object_set_new(o, "signal", json_string(buf));
	} else {
		json_object_set_new(o, "signal", json_null());
	}
	json_object_set_new(o, "timed_out", json_boolean(c->timed_out));
	if (c->aborted)
		json_object_set_new(o, "stopped", json_string("the run could not go on (see error)"));
	json_object_set_new(o, "duration_ms", json_integer((json_int_t)((c->end_ns - c->start_ns) / 1000000)));
	json_object_set_new(o, "stdout_tail", json_string(c->stdout_tail ? c->stdout_tail : ""));
	json_object_set_new(o, "stderr_tail", json_string(c->stderr_tail ? c->stderr_tail : ""));
	if (c->exec_error)
		json_object_set_new(o, "error", json_string(c->exec_error));
	return o;
}

static json_t *record_flows(const struct record_input *in)
{
	struct flow_table *t = engine_flows(in->engine);
	json_t *list = json_array();
	size_t n = flow_table_count(t);
	for (uint32_t id = 1; id <= n; id++) {
		const struct flow *f = flow_table_get(t, id);
		char client[80], server[80];
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(f->id));
		json_object_set_new(o, "proto", json_string(f->proto == IPPROTO_TCP ? "tcp" : "udp"));
		json_object_set_new(o, "client", json_string(packet_addr_format(&f->client, f->client_port, client, sizeof client)));
		json_object_set_new(o, "server", json_string(packet_addr_format(&f->server, f->server_port, server, sizeof server)));
		json_object_set_new(o, "opened_ms", ms_since(f->opened_ns, in->t0_ns));
		json_object_set_new(o, "closed_ms", f->closed_ns ? ms_since(f->closed_ns, in->t0_ns) : json_null());
		json_object_set_new(o, "end", json_string(flow_end_name(f->end)));
		json_object_set_new(o, "bytes_up", json_integer((json_int_t)f->up.bytes));
		json_object_set_new(o, "bytes_down", json_integer((json_int_t)f->down.bytes));
		json_object_set_new(o, "packets", json_integer((json_int_t)f->packets));
		json_object_set_new(o, "dropped", json_integer((json_int_t)f->dropped));
		if (f->midstream)
			json_object_set_new(o, "midstream", json_true());
		json_array_append_new(list, o);
	}
	return list;
}

static json_t *record_faults(const struct record_input *in)
{
	size_t n;
	const struct engine_event *ev = engine_events(in->engine, &n);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "t_ms", json_integer((json_int_t)(ev[i].t_ns / 1000000)));
		json_object_set_new(o, "flow", ev[i].flow ? json_integer(ev[i].flow) : json_null());
		json_object_set_new(o, "fault", json_string(ev[i].fault));
		json_object_set_new(o, "detail", json_string(ev[i].detail));
		json_object_set_new(o, "flows_seen", json_integer(ev[i].flows_seen));
		if (in->scenario && ev[i].rule >= 0 && (size_t)ev[i].rule < in->scenario->rule_count)
			json_object_set_new(o, "where", json_string(in->scenario->rules[ev[i].rule].where));
		json_array_append_new(list, o);
	}
	/* DNS faults act per query, in the DNS server. */
	size_t nq = 0;
	const struct dnsd_query *q = in->dnsd ? dnsd_queries(in->dnsd, &nq) : NULL;
	for (size_t i = 0; i < nq; i++) {
		if (q[i].rule < 0 || (size_t)q[i].rule >= in->scenario->dns_rule_count)
			continue;
		const struct dnsd_rule *r = &in->scenario->dns_rules[q[i].rule];
		char detail[400];
		if (r->kind == DNSD_WRONG)
			snprintf(detail, sizeof detail, "%s %s answered %s", q[i].name, q[i].type,
			         q[i].answer[0] ? q[i].answer : "with no address");
		else if (r->kind == DNSD_TIMEOUT)
			snprintf(detail, sizeof detail, "%s %s left unanswered", q[i].name, q[i].type);
		else
			snprintf(detail, sizeof detail, "%s %s answered %s", q[i].name, q[i].type, q[i].rcode);
		json_t *o = json_object();
		json_object_set_new(o, "t_ms", ms_since(q[i].t_ns, in->t0_ns));
		json_object_set_new(o, "flow", json_null());
		json_object_set_new(o, "fault", json_string(r->kind == DNSD_WRONG ? "dns_wrong" : "dns_fail"));
		json_object_set_new(o, "detail", json_string(detail));
		/* Connections opened before the query: retries are counted after them. */
		json_int_t seen = 0;
		struct flow_table *ft = engine_flows(in->engine);
		for (uint32_t id = 1; id <= flow_table_count(ft); id++)
			if (flow_table_get(ft, id)->opened_ns <= q[i].t_ns)
				seen = id;
		json_object_set_new(o, "flows_seen", json_integer(seen));
		json_object_set_new(o, "where", json_string(r->where));
		/* Keep the list in time order. */
		size_t at = json_array_size(list);
		while (at > 0 && json_integer_value(json_object_get(json_array_get(list, at - 1), "t_ms")) >
		                 json_integer_value(json_object_get(o, "t_ms")))
			at--;
		json_array_insert_new(list, at, o);
	}
	return list;
}

/* The flow a request came on: the newest flow from that client address
 * and port (ports are reused only after a flow ended). */
static json_t *request_flow(const struct record_input *in, const struct httpd_request *r)
{
	struct flow_table *t = engine_flows(in->engine);
	size_t n = flow_table_count(t);
	for (uint32_t id = (uint32_t)n; id >= 1; id--) {
		const struct flow *f = flow_table_get(t, id);
		char addr[80];
		if (f->client_port == r->peer_port &&
		    strcmp(packet_addr_format(&f->client, 0, addr, sizeof addr), r->peer) == 0)
			return json_integer(f->id);
	}
	return json_null();
}

static json_t *record_server(const struct record_input *in)
{
	json_t *requests = json_array();
	size_t n = 0;
	const struct httpd_request *r = in->httpd ? httpd_requests(in->httpd, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "t_ms", ms_since(r[i].t_ns, in->t0_ns));
		json_object_set_new(o, "flow", request_flow(in, &r[i]));
		json_object_set_new(o, "method", json_string(r[i].method));
		json_object_set_new(o, "path", json_string(r[i].path));
		json_object_set_new(o, "range", r[i].range[0] ? json_string(r[i].range) : json_null());
		json_object_set_new(o, "status", json_integer(r[i].status));
		json_array_append_new(requests, o);
	}
	json_t *o = json_object();
	json_object_set_new(o, "requests", requests);
	if (in->dnsd) {
		json_t *queries = json_array();
		size_t nq = 0;
		const struct dnsd_query *q = dnsd_queries(in->dnsd, &nq);
		for (size_t i = 0; i < nq; i++) {
			json_t *d = json_object();
			json_object_set_new(d, "t_ms", ms_since(q[i].t_ns, in->t0_ns));
			json_object_set_new(d, "name", json_string(q[i].name));
			json_object_set_new(d, "type", json_string(q[i].type));
			json_object_set_new(d, "rcode", json_string(q[i].rcode));
			json_object_set_new(d, "answer", q[i].answer[0] ? json_string(q[i].answer) : json_null());
			json_array_append_new(queries, d);
		}
		json_object_set_new(o, "dns", queries);
	}
	return o;
}

json_t *record_build(const struct record_input *in)
{
	json_t *r = json_object();
	struct engine_stats st = engine_stats(in->engine);
	char digest[65];

	json_object_set_new(r, "faultwire", json_integer(1));
	json_object_set_new(r, "scenario", json_string(in->scenario->name ? in->scenario->name : ""));
	json_object_set_new(r, "file", json_string(in->scenario->path));
	json_object_set_new(r, "seed", json_integer((json_int_t)in->seed));
	json_object_set_new(r, "verdict", json_string("error"));
	json_object_set_new(r, "duration_ms", json_integer(0));
	json_object_set_new(r, "workdir", json_string(in->workdir));
	json_object_set_new(r, "client", record_client(in));
	json_object_set_new(r, "expectations", json_array());
	json_object_set_new(r, "flows", record_flows(in));
	json_object_set_new(r, "faults", record_faults(in));
	json_object_set_new(r, "server", record_server(in));
	json_t *stats = json_object();
	json_object_set_new(stats, "packets", json_integer((json_int_t)st.packets));
	json_object_set_new(stats, "dropped", json_integer((json_int_t)st.dropped));
	json_object_set_new(stats, "delayed", json_integer((json_int_t)st.delayed));
	json_object_set_new(stats, "injected", json_integer((json_int_t)st.injected));
	json_object_set_new(stats, "queue_drops", json_integer((json_int_t)st.queue_drops));
	json_object_set_new(stats, "unparsed", json_integer((json_int_t)st.unparsed));
	json_object_set_new(stats, "flows_retired", json_integer((json_int_t)st.retired));
	json_object_set_new(stats, "longest_busy_ms", json_real((double)st.longest_busy_ns / 1e6));
	if (in->peak_rss_kb)
		json_object_set_new(stats, "peak_rss_kb", json_integer((json_int_t)in->peak_rss_kb));
	json_object_set_new(r, "stats", stats);
	flow_table_digest(engine_flows(in->engine), digest);
	json_object_set_new(r, "decisions_digest", json_string(digest));
	return r;
}

void record_finish(json_t *record, json_t *expectations, const char *verdict, const char *error,
                   int64_t duration_ms)
{
	if (expectations)
		json_object_set(record, "expectations", expectations);
	json_object_set_new(record, "verdict", json_string(verdict));
	json_object_set_new(record, "duration_ms", json_integer((json_int_t)duration_ms));
	if (error)
		json_object_set_new(record, "error", json_string(error));
}

int record_write(json_t *record, const char *path, char **err)
{
	if (json_dump_file(record, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
		if (asprintf(err, "cannot write the run record to %s: %s", path, strerror(errno)) < 0)
			*err = NULL;
		return -1;
	}
	return 0;
}
