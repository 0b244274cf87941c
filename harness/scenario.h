/* scenario.h — load a Lua scenario file and evaluate its expectations.
 *
 * The scenario runs in its own Lua 5.4 state with the `faultwire` module
 * (scenarios/lib/faultwire.lua, compiled in) and without the parts of the
 * standard library that reach outside (os.execute, io.popen, C modules).
 * Every call into Lua is protected: a scenario error becomes a message that
 * starts with "file:line:", never a crash. Runaway code is stopped by an
 * instruction budget and the state's memory is capped. */
#ifndef FW_HARNESS_SCENARIO_H
#define FW_HARNESS_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "harness/dnsd.h"
#include "sim/engine.h"
#include "sim/fault.h"

struct lua_State;

/* A Lua function of the scenario that the engine calls (fw.hook, fw.at):
 * registry references, and where it was declared. */
struct scenario_callback {
	struct scenario *scenario;
	int on_packet, on_flow;     /* hook functions (LUA_NOREF when absent) */
	int at;                     /* fw.at function */
	char where[192];
};

struct scenario {
	char *path;                /* as given */
	char *name, *about;
	int has_seed;
	uint64_t seed;
	int has_timeout;
	double timeout_s;
	uint16_t server_port;
	enum { SERVER_HTTP, SERVER_TCP_ECHO, SERVER_COMMAND } server_type;
	char **server_argv;        /* SERVER_COMMAND: NULL-terminated */
	int server_udp;            /* SERVER_COMMAND: it serves UDP, not TCP */
	int dns;                   /* the client resolves through the built-in DNS server */
	struct dnsd_rule *dns_rules;
	size_t dns_rule_count;
	char **client_argv;        /* NULL-terminated; NULL when the scenario has no client */
	int client_is_shell;       /* the client was one string, run with /bin/sh -c */
	struct fault_rule *rules;
	size_t rule_count;
	size_t expect_count;
	struct engine_timer *timers;  /* fw.at actions, for the engine */
	size_t timer_count;
	struct scenario_callback *callbacks;  /* hooks and timed actions (Lua functions) */
	size_t callback_count;
	struct lua_State *L;
	int table_ref;             /* registry reference to the scenario table */
};

/* Load and validate the scenario at path. Returns 0 with *out (the caller
 * frees it with scenario_free), or -1 with *err (malloc'd) of the form
 * "path:line: what was wrong". */
int scenario_load(const char *path, struct scenario **out, char **err);

/* Evaluate the expectations over a run record (see record.h). Returns 0
 * with *results, a JSON array of {name, ok, detail, where} (the caller owns
 * it), or -1 with *err when scenario code failed while evaluating
 * (an error inside fw.check). */
int scenario_evaluate(struct scenario *s, json_t *record, json_t **results, char **err);

void scenario_free(struct scenario *s);

/* Push a JSON value as the Lua value it describes (null becomes nil). */
void scenario_push_json(struct lua_State *L, json_t *value);

#endif
