/* scenario.c — Lua scenarios; see scenario.h. */
#include "harness/scenario.h"

#include <errno.h>
#include <netinet/in.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "harness/content.h"
#include "harness/httpd.h"

extern const char faultwire_prelude[];
extern const size_t faultwire_prelude_len;

/* Scenario code gets this many instructions per call into it, and this much
 * memory in all: plenty for any scenario, and a loop that never ends or a
 * table that grows forever is stopped with a message instead of hanging CI. */
#define SCENARIO_INSTRUCTION_BUDGET 200000000L
#define SCENARIO_HOOK_STEP 100000
#define SCENARIO_MEMORY_LIMIT (256u * 1024 * 1024)

struct scenario_state {
	size_t used, limit;
	long budget;               /* instructions per call */
	long call_budget;          /* the budget of the call running now */
	long instructions_left;
};

/* The budget, unless FAULTWIRE_LUA_BUDGET (a positive number of
 * instructions) says otherwise: the fuzzer lowers it so that an endless loop
 * ends in milliseconds. */
static long scenario_budget(void)
{
	const char *text = getenv("FAULTWIRE_LUA_BUDGET");
	char *end;
	if (!text || !*text)
		return SCENARIO_INSTRUCTION_BUDGET;
	errno = 0;
	long budget = strtol(text, &end, 10);
	if (errno || *end || budget <= 0)
		return SCENARIO_INSTRUCTION_BUDGET;
	return budget;
}

static void *scenario_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct scenario_state *st = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		st->used -= old;
		return NULL;
	}
	if (nsize > old && st->used - old + nsize > st->limit)
		return NULL;  /* Lua raises "not enough memory" */
	void *p = realloc(ptr, nsize);
	if (p)
		st->used = st->used - old + nsize;
	return p;
}

static void scenario_count_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct scenario_state *st;
	lua_getallocf(L, (void **)&st);
	st->instructions_left -= SCENARIO_HOOK_STEP;
	if (st->instructions_left < 0) {
		/* Level 0 is the running function (a hook has no frame of its
		 * own): the loop's line, also for a loop in the main chunk. */
		luaL_where(L, 0);
		if (st->call_budget >= 1000000)
			lua_pushfstring(L, "scenario code ran for too long (more than %d million instructions in one call): "
			                   "is there a loop that never ends?", (int)(st->call_budget / 1000000));
		else
			lua_pushfstring(L, "scenario code ran for too long (more than %d instructions in one call): "
			                   "is there a loop that never ends?", (int)st->call_budget);
		lua_concat(L, 2);
		lua_error(L);
	}
}

/* Message handler: keep the error, add the Lua traceback for -v. */
static int scenario_message_handler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	lua_pushstring(L, msg);
	return 1;
}

/* A hook runs for one packet while the others wait in the kernel: it gets
 * a budget that a loop exhausts in a fraction of a second. */
#define SCENARIO_HOOK_BUDGET 10000000L

static int scenario_call_budget(lua_State *L, int nargs, int nresults, char **err, long budget);

/* The one way into Lua: protected, budgeted, error as "file:line: message". */
static int scenario_call(lua_State *L, int nargs, int nresults, char **err)
{
	struct scenario_state *st;
	lua_getallocf(L, (void **)&st);
	return scenario_call_budget(L, nargs, nresults, err, st->budget);
}

static int scenario_call_budget(lua_State *L, int nargs, int nresults, char **err, long budget)
{
	struct scenario_state *st;
	lua_getallocf(L, (void **)&st);
	st->call_budget = budget < st->budget ? budget : st->budget;
	st->instructions_left = st->call_budget;
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, scenario_message_handler);
	lua_insert(L, base);
	int status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	if (status != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		if (status == LUA_ERRMEM)
			msg = "scenario code used more memory than allowed (256 MiB)";
		*err = strdup(msg ? msg : "unknown Lua error");
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}

static long long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long long size = -1;
	if (f && fseek(f, 0, SEEK_END) == 0)
		size = ftell(f);
	if (f)
		fclose(f);
	return size;
}

/* native.compare_served(file, urlpath, seed) -> same, detail */
static int native_compare_served(lua_State *L)
{
	const char *file = luaL_checkstring(L, 1);
	const char *path = luaL_checkstring(L, 2);
	uint64_t seed = (uint64_t)luaL_checkinteger(L, 3);
	unsigned long long n;
	char *why = NULL;
	int same;

	/* /bytes and /stream serve the same content, from offset 0. */
	const char *stream_bytes = strncmp(path, "/stream", 7) == 0 ? strstr(path, "bytes=") : NULL;
	if (sscanf(path, "/bytes/%llu", &n) == 1 || (stream_bytes && sscanf(stream_bytes, "bytes=%llu", &n) == 1)) {
		same = content_compare_file(file, seed, n, &why);
	} else {
		uint8_t *body = NULL;
		size_t len = 0;
		if (httpd_render(path, seed, &body, &len) < 0) {
			lua_pushboolean(L, 0);
			lua_pushfstring(L, "the server has no fixed body at %s to compare with", path);
			return 2;
		}
		FILE *f = fopen(file, "rb");
		if (!f) {
			free(body);
			lua_pushboolean(L, 0);
			lua_pushfstring(L, "cannot read it (%s)", strerror(errno));
			return 2;
		}
		uint8_t *got = malloc(len + 1);
		size_t have = got ? fread(got, 1, len + 1, f) : 0;
		fclose(f);
		same = got && have == len && memcmp(got, body, len) == 0;
		if (!same && asprintf(&why, "file is %zu bytes and differs from the %zu bytes served", have, len) < 0)
			why = NULL;
		free(got);
		free(body);
	}
	lua_pushboolean(L, same == 1);
	if (same == 1)
		lua_pushfstring(L, "%I bytes", (lua_Integer)file_size(file));
	else
		lua_pushstring(L, why ? why : "it differs");
	free(why);
	return 2;
}

/* native.keep_caller(f) -> f called through C. `return fw.scenario{...}` is
 * a tail call, which takes the scenario's own frame off the stack (and its
 * line out of messages); a tail call to a C function leaves it there. */
static int native_call_through(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int native_keep_caller(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_pushcclosure(L, native_call_through, 1);
	return 1;
}

static int scenario_unknown_global(lua_State *L)
{
	const char *name = lua_tostring(L, 2);
	if (name && strcmp(name, "fw") == 0)
		return luaL_error(L, "unknown global 'fw': start the scenario with local fw = require \"faultwire\"");
	return luaL_error(L, "unknown global '%s'", name ? name : "?");
}

/* Standard library minus what reaches outside the scenario. */
static void scenario_sandbox(lua_State *L)
{
	static const char *const removed[][2] = {
		{ "os", "execute" }, { "os", "exit" }, { "os", "remove" }, { "os", "rename" },
		{ "os", "tmpname" }, { "os", "setlocale" }, { "io", "popen" }, { "package", "loadlib" },
	};
	for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
		lua_getglobal(L, removed[i][0]);
		lua_pushnil(L);
		lua_setfield(L, -2, removed[i][1]);
		lua_pop(L, 1);
	}
	/* No C modules: keep only the preload and Lua-file searchers. */
	lua_getglobal(L, "package");
	lua_pushstring(L, "");
	lua_setfield(L, -2, "cpath");
	lua_getfield(L, -1, "searchers");
	lua_pushnil(L);
	lua_rawseti(L, -2, 4);
	lua_pushnil(L);
	lua_rawseti(L, -2, 3);
	lua_pop(L, 2);
	lua_pushnil(L);
	lua_setglobal(L, "debug");
	/* Text only: crafted bytecode can corrupt the interpreter's memory,
	 * so load, loadfile and dofile refuse binary chunks, and nothing can
	 * make one (string.dump). */
	static const char text_only[] =
		"local load, loadfile = load, loadfile\n"
		"_G.load = function(chunk, name, mode, env) return load(chunk, name, 't', env) end\n"
		"_G.loadfile = function(file, mode, env) return loadfile(file, 't', env) end\n"
		"_G.dofile = function(file) local f = assert(loadfile(file, 't')); return f() end\n"
		"string.dump = nil\n";
	if (luaL_loadbufferx(L, text_only, sizeof text_only - 1, "=sandbox", "t") == LUA_OK)
		lua_call(L, 0, 0);
	/* nor through require "debug" (debug.sethook would lift the budget) */
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_pushnil(L);
	lua_setfield(L, -2, "debug");
	lua_pop(L, 1);
}

static int scenario_open_module(lua_State *L)
{
	if (luaL_loadbufferx(L, faultwire_prelude, faultwire_prelude_len, "=faultwire", "t") != LUA_OK)
		return lua_error(L);
	lua_newtable(L);
	lua_pushcfunction(L, native_compare_served);
	lua_setfield(L, -2, "compare_served");
	lua_pushcfunction(L, native_keep_caller);
	lua_setfield(L, -2, "keep_caller");
	lua_call(L, 1, 1);
	return 1;
}

static char *dup_field_string(lua_State *L, int index, const char *field)
{
	lua_getfield(L, index, field);
	char *s = lua_isstring(L, -1) ? strdup(lua_tostring(L, -1)) : NULL;
	lua_pop(L, 1);
	return s;
}

static double field_number(lua_State *L, int index, const char *field, double fallback, int *present)
{
	lua_getfield(L, index, field);
	int is_number = lua_isnumber(L, -1);
	double v = is_number ? lua_tonumber(L, -1) : fallback;
	lua_pop(L, 1);
	if (present)
		*present = is_number;
	return v;
}

/* Scenario numbers become C integers through these two. Lua checked them
 * when the fault was made, but math.huge passes "a number >= 0", and the
 * table may have been changed since: out of range, a plain cast is undefined
 * behaviour. NaN gives 0 and the rest saturates. Times stop at 2^61 ns
 * (73 years), which leaves room for the engine to add them to its clock. */
static int64_t scenario_ns(double ns)
{
	const double max = (double)(INT64_C(1) << 61);
	if (ns != ns)
		return 0;
	return ns >= max ? INT64_C(1) << 61 : ns <= -max ? -(INT64_C(1) << 61) : (int64_t)ns;
}

static uint64_t scenario_unsigned(double v, uint64_t max)
{
	if (!(v > 0))
		return 0;
	return v >= (double)max ? max : (uint64_t)v;
}

static int field_string_is(lua_State *L, int index, const char *field, const char *value)
{
	lua_getfield(L, index, field);
	int same = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), value) == 0;
	lua_pop(L, 1);
	return same;
}

static const char *const flow_state_for_lua[] = { "syn_sent", "syn_received", "established", "closing", "closed" };

static void push_flow(lua_State *L, const struct flow *f, int64_t t_ns)
{
	char addr[80];
	lua_createtable(L, 0, 10);
	lua_pushinteger(L, f->id);
	lua_setfield(L, -2, "id");
	lua_pushinteger(L, f->id);
	lua_setfield(L, -2, "ordinal");
	lua_pushstring(L, f->proto == IPPROTO_TCP ? "tcp" : "udp");
	lua_setfield(L, -2, "proto");
	lua_pushstring(L, f->state <= FLOW_CLOSED ? flow_state_for_lua[f->state] : "?");
	lua_setfield(L, -2, "state");
	lua_pushinteger(L, (lua_Integer)f->up.bytes);
	lua_setfield(L, -2, "bytes_up");
	lua_pushinteger(L, (lua_Integer)f->down.bytes);
	lua_setfield(L, -2, "bytes_down");
	lua_pushinteger(L, (lua_Integer)((f->last_ns - f->opened_ns) / 1000000));
	lua_setfield(L, -2, "age_ms");
	lua_pushinteger(L, (lua_Integer)(t_ns / 1000000));
	lua_setfield(L, -2, "t_ms");
	lua_pushstring(L, packet_addr_format(&f->client, f->client_port, addr, sizeof addr));
	lua_setfield(L, -2, "client");
	lua_pushstring(L, packet_addr_format(&f->server, f->server_port, addr, sizeof addr));
	lua_setfield(L, -2, "server");
}

static void push_packet(lua_State *L, const struct packet *p, const struct flow *f, int dir, int64_t t_ns)
{
	static const struct { uint8_t bit; char letter; } flags[] = {
		{ TCP_SYN, 'S' }, { TCP_ACK, 'A' }, { TCP_FIN, 'F' }, { TCP_RST, 'R' }, { TCP_PSH, 'P' }, { TCP_URG, 'U' },
	};
	char letters[8];
	size_t n = 0;
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (p->tcp_flags & flags[i].bit)
			letters[n++] = flags[i].letter;
	letters[n] = 0;
	lua_createtable(L, 0, 10);
	lua_pushstring(L, dir == DIR_UP ? "up" : "down");
	lua_setfield(L, -2, "dir");
	lua_pushstring(L, p->proto == IPPROTO_TCP ? "tcp" : p->proto == IPPROTO_UDP ? "udp" : "other");
	lua_setfield(L, -2, "proto");
	lua_pushstring(L, letters);
	lua_setfield(L, -2, "flags");
	lua_pushinteger(L, (lua_Integer)p->len);
	lua_setfield(L, -2, "len");
	lua_pushinteger(L, (lua_Integer)p->payload_len);
	lua_setfield(L, -2, "payload_len");
	lua_pushinteger(L, p->seq);
	lua_setfield(L, -2, "seq");
	lua_pushinteger(L, p->ack);
	lua_setfield(L, -2, "ack");
	lua_pushinteger(L, f->id);
	lua_setfield(L, -2, "flow");
	lua_pushinteger(L, (lua_Integer)(t_ns / 1000000));
	lua_setfield(L, -2, "t_ms");
}

/* Turn what a hook returned (on top of the stack) into an action. */
static int hook_answer(lua_State *L, const char *where, const char *which, struct fault_decision *d)
{
	int action = -1;
	if (lua_isnil(L, -1)) {
		action = ACTION_ACCEPT;
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		const char *s = lua_tostring(L, -1);
		action = strcmp(s, "accept") == 0 ? ACTION_ACCEPT : strcmp(s, "drop") == 0 ? ACTION_DROP
		       : strcmp(s, "reset") == 0 ? ACTION_RESET : -1;
	} else if (lua_istable(L, -1)) {
		/* Raw: this runs outside any pcall, and a metatable's __index
		 * could raise an error. */
		lua_pushliteral(L, "delay_ms");
		lua_rawget(L, -2);
		if (lua_isnumber(L, -1) && lua_tonumber(L, -1) >= 0) {
			d->delay_ns = scenario_ns(lua_tonumber(L, -1) * 1e6);
			d->keep_order = 1;
			action = ACTION_DELAY;
		}
		lua_pop(L, 1);
	}
	if (action < 0 && asprintf(&d->error, "%s: %s returned %s; expected \"accept\", \"drop\", \"reset\" or "
	                                      "{delay_ms = N}", where, which, luaL_typename(L, -1)) < 0)
		d->error = strdup("a hook returned an unexpected value");
	lua_pop(L, 1);
	return action < 0 ? ACTION_DROP : action;
}

/* The engine's hook callback: on_flow for a flow's first packet, then
 * on_packet. Runs on the engine thread, which owns the Lua state while the
 * run goes on. */
static int scenario_hook(void *arg, struct flow *f, const struct packet *p, int dir, int opening, int64_t t_ns,
                         struct fault_decision *d)
{
	struct scenario_callback *cb = arg;
	lua_State *L = cb->scenario->L;
	int action = ACTION_ACCEPT;
	if (opening && cb->on_flow != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, cb->on_flow);
		push_flow(L, f, t_ns);
		if (scenario_call_budget(L, 1, 1, &d->error, SCENARIO_HOOK_BUDGET) < 0)
			return ACTION_DROP;
		action = hook_answer(L, cb->where, "on_flow", d);
	}
	if (action == ACTION_ACCEPT && !d->error && cb->on_packet != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, cb->on_packet);
		push_packet(L, p, f, dir, t_ns);
		if (scenario_call_budget(L, 1, 1, &d->error, SCENARIO_HOOK_BUDGET) < 0)
			return ACTION_DROP;
		action = hook_answer(L, cb->where, "on_packet", d);
	}
	return action;
}

static int scenario_at(void *arg, char **err)
{
	struct scenario_callback *cb = arg;
	lua_State *L = cb->scenario->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, cb->at);
	return scenario_call_budget(L, 0, 0, err, SCENARIO_HOOK_BUDGET);
}

static int function_ref(lua_State *L, int index, const char *field)
{
	lua_getfield(L, index, field);
	if (lua_isfunction(L, -1))
		return luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
	return LUA_NOREF;
}

static int scenario_read_rule(lua_State *L, int index, struct fault_rule *r, char **err)
{
	static const struct { const char *name; enum fault_type type; } types[] = {
		{ "reset", FAULT_RESET }, { "refuse", FAULT_REFUSE },
		{ "unreachable", FAULT_UNREACHABLE }, { "blackhole", FAULT_BLACKHOLE },
		{ "loss", FAULT_LOSS }, { "delay", FAULT_DELAY }, { "reorder", FAULT_REORDER },
		{ "rate", FAULT_RATE }, { "truncate", FAULT_TRUNCATE }, { "conn_cap", FAULT_CONN_CAP },
		{ "block", FAULT_BLOCK }, { "rate_block", FAULT_RATE_BLOCK },
		{ "idle_timeout", FAULT_IDLE_TIMEOUT }, { "mtu", FAULT_MTU }, { "duplicate", FAULT_DUPLICATE },
		{ "corrupt", FAULT_CORRUPT }, { "match", FAULT_MATCH }, { "router_restart", FAULT_ROUTER_RESTART },
		{ "hook", FAULT_HOOK },
	};
	size_t i;
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (field_string_is(L, index, "type", types[i].name))
			break;
	char *where = dup_field_string(L, index, "where");
	if (i == sizeof types / sizeof types[0]) {
		if (asprintf(err, "%s: this fault is not supported by the engine", where ? where : "?") < 0)
			*err = NULL;
		free(where);
		return -1;
	}
	fault_rule_init(r, types[i].type);
	snprintf(r->where, sizeof r->where, "%s", where ? where : "?");
	free(where);

	r->dirs = field_string_is(L, index, "dir", "up") ? DIR_UP
	        : field_string_is(L, index, "dir", "down") ? DIR_DOWN : DIR_UP | DIR_DOWN;
	r->from_ns = scenario_ns(field_number(L, index, "from", 0, NULL) * 1e9);
	int present;
	double until = field_number(L, index, "until", 0, &present);
	r->until_ns = present ? scenario_ns(until * 1e9) : -1;
	r->port = (uint16_t)scenario_unsigned(field_number(L, index, "port", 0, NULL), UINT16_MAX);
	r->p = field_number(L, index, "p", 1, NULL);
	lua_getfield(L, index, "flows");
	if (lua_istable(L, -1)) {
		lua_Integer n = luaL_len(L, -1);
		if (n > FAULT_MAX_FLOWS) {
			lua_pop(L, 1);
			if (asprintf(err, "%s: 'flows' may list at most %d connections", r->where, FAULT_MAX_FLOWS) < 0)
				*err = NULL;
			return -1;
		}
		for (lua_Integer k = 1; k <= n; k++) {
			lua_rawgeti(L, -1, k);
			r->flows[r->flow_count++] = (uint32_t)lua_tointeger(L, -1);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	double v = field_number(L, index, "after_bytes", -1, &present);
	r->after_bytes = present ? (int64_t)scenario_unsigned(v, INT64_MAX) : -1;
	v = field_number(L, index, "after_ms", -1, &present);
	r->after_ns = present ? scenario_ns(v * 1e6) : -1;
	r->to = field_string_is(L, index, "to", "client") ? TARGET_CLIENT
	      : field_string_is(L, index, "to", "server") ? TARGET_SERVER : TARGET_CLIENT | TARGET_SERVER;
	r->gilbert = field_string_is(L, index, "model", "gilbert");
	r->r = field_number(L, index, "r", 0, NULL);
	r->loss_good = field_number(L, index, "loss_good", 0, NULL);
	r->loss_bad = field_number(L, index, "loss_bad", 1, NULL);
	r->delay_ns = scenario_ns(field_number(L, index, "ms", r->type == FAULT_REORDER ? 10 : 0, NULL) * 1e6);
	r->jitter_ns = scenario_ns(field_number(L, index, "jitter_ms", 0, NULL) * 1e6);
	r->bits_per_s = field_number(L, index, "kbit", 1000, NULL) * 1000.0;
	/* fw.rate checks kbit >= 1, but a table changed since may say 0 or
	 * NaN, and the engine divides by it. */
	if (r->type == FAULT_RATE && !(r->bits_per_s >= 1000.0)) {
		if (asprintf(err, "%s: fw.rate needs kbit >= 1", r->where) < 0)
			*err = NULL;
		return -1;
	}
	lua_getfield(L, index, "shared");
	r->shared = lua_toboolean(L, -1);
	lua_pop(L, 1);
	r->http403 = field_string_is(L, index, "action", "http403");
	r->action = field_string_is(L, index, "action", "blackhole") ? ACTION_DROP
	          : field_string_is(L, index, "action", "reset") ? ACTION_RESET
	          : field_string_is(L, index, "action", "refuse") ? ACTION_REFUSE
	          : r->type == FAULT_IDLE_TIMEOUT ? ACTION_RESET : ACTION_REFUSE;
	r->max_conns = (uint32_t)scenario_unsigned(field_number(L, index, "max", 0, NULL), UINT32_MAX);
	r->per_source = !field_string_is(L, index, "per", "global");
	r->conns = (uint32_t)scenario_unsigned(field_number(L, index, "conns", 0, NULL), UINT32_MAX);
	r->within_ns = scenario_ns(field_number(L, index, "within_s", 0, NULL) * 1e9);
	r->block_ns = scenario_ns(field_number(L, index, "block_s", 0, NULL) * 1e9);
	r->idle_ns = scenario_ns(field_number(L, index, "after_s", 0, NULL) * 1e9);
	r->mtu = (uint16_t)scenario_unsigned(field_number(L, index, "bytes", 1500, NULL), UINT16_MAX);
	lua_getfield(L, index, "icmp");
	r->icmp = lua_toboolean(L, -1);
	lua_pop(L, 1);
	r->fix_checksum = !field_string_is(L, index, "checksum", "break");
	lua_getfield(L, index, "pattern");
	if (lua_isstring(L, -1)) {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		r->pattern_len = len < sizeof r->pattern ? len : sizeof r->pattern;
		memcpy(r->pattern, s, r->pattern_len);
	}
	lua_pop(L, 1);
	if (r->type == FAULT_ROUTER_RESTART) {
		r->from_ns = scenario_ns(field_number(L, index, "at", 0, NULL) * 1e9);
		r->until_ns = r->from_ns + scenario_ns(field_number(L, index, "down_s", 1, NULL) * 1e9);
	}
	r->code = field_string_is(L, index, "code", "net") ? UNREACH_NET
	        : field_string_is(L, index, "code", "port") ? UNREACH_PORT
	        : field_string_is(L, index, "code", "admin") ? UNREACH_ADMIN : UNREACH_HOST;
	return 0;
}

/* Runs only under scenario_call (see scenario_read_protected), so it may
 * raise Lua errors. */
/* The argv at the top of the stack: a string runs with /bin/sh -c, a
 * table is the argv itself. NULL-terminated, malloc'd; NULL on ENOMEM. */
static char **read_argv(lua_State *L)
{
	char **argv;
	if (lua_type(L, -1) == LUA_TSTRING) {
		argv = calloc(4, sizeof *argv);
		if (!argv)
			return NULL;
		argv[0] = strdup("/bin/sh");
		argv[1] = strdup("-c");
		argv[2] = strdup(lua_tostring(L, -1));
		return argv;
	}
	lua_Integer n = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
	argv = calloc((size_t)n + 1, sizeof *argv);
	if (!argv)
		return NULL;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		argv[i - 1] = strdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
		lua_pop(L, 1);
	}
	return argv;
}

static int scenario_read(lua_State *L, struct scenario *s, char **err)
{
	int t = lua_gettop(L);
	s->name = dup_field_string(L, t, "name");
	s->about = dup_field_string(L, t, "about");
	double seed = field_number(L, t, "seed", 1, &s->has_seed);
	s->seed = scenario_unsigned(seed, UINT64_MAX);
	s->timeout_s = field_number(L, t, "timeout", 30, &s->has_timeout);

	lua_getfield(L, t, "dns");
	s->dns = lua_istable(L, -1);
	lua_pop(L, 1);

	lua_getfield(L, t, "server");
	s->server_port = (uint16_t)scenario_unsigned(field_number(L, lua_gettop(L), "port", 80, NULL), UINT16_MAX);
	s->server_type = field_string_is(L, lua_gettop(L), "type", "tcp_echo") ? SERVER_TCP_ECHO
	               : field_string_is(L, lua_gettop(L), "type", "command") ? SERVER_COMMAND : SERVER_HTTP;
	s->server_udp = field_string_is(L, lua_gettop(L), "proto", "udp");
	if (s->server_type == SERVER_COMMAND) {
		lua_getfield(L, -1, "argv");
		s->server_argv = read_argv(L);
		lua_pop(L, 1);
		if (!s->server_argv) {
			lua_pop(L, 1);
			goto nomem;
		}
	}
	lua_pop(L, 1);

	lua_getfield(L, t, "client");
	if (lua_type(L, -1) == LUA_TSTRING) {
		s->client_argv = calloc(4, sizeof *s->client_argv);
		if (!s->client_argv)
			goto nomem;
		s->client_argv[0] = strdup("/bin/sh");
		s->client_argv[1] = strdup("-c");
		s->client_argv[2] = strdup(lua_tostring(L, -1));
		s->client_is_shell = 1;
	} else if (lua_istable(L, -1)) {
		/* Raw: a __len could ask for any size of allocation. */
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		s->client_argv = calloc((size_t)n + 1, sizeof *s->client_argv);
		if (!s->client_argv)
			goto nomem;
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			const char *arg = lua_tostring(L, -1);
			if (!arg)
				return luaL_error(L, "client[%d] is %s, not a string", (int)i, luaL_typename(L, -1));
			s->client_argv[i - 1] = strdup(arg);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);

	lua_getfield(L, t, "faults");
	if (!lua_istable(L, -1))
		return luaL_error(L, "'faults' is %s, not a list", luaL_typename(L, -1));
	lua_Integer n = luaL_len(L, -1);
	if (n < 0 || n > FLOW_MAX_RULES)
		return luaL_error(L, "a scenario may have at most %d faults; this one has %I", FLOW_MAX_RULES, n);
	s->rules = calloc((size_t)n + 1, sizeof *s->rules);
	s->timers = calloc((size_t)n + 1, sizeof *s->timers);
	s->callbacks = calloc((size_t)n + 1, sizeof *s->callbacks);
	s->dns_rules = calloc((size_t)n + 1, sizeof *s->dns_rules);
	if (!s->rules || !s->timers || !s->callbacks || !s->dns_rules)
		goto nomem;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		int item = lua_gettop(L);
		struct scenario_callback *cb = &s->callbacks[s->callback_count];
		cb->scenario = s;
		cb->on_packet = cb->on_flow = cb->at = LUA_NOREF;
		char *where = dup_field_string(L, item, "where");
		snprintf(cb->where, sizeof cb->where, "%s", where ? where : "?");
		free(where);
		if (field_string_is(L, item, "type", "dns_fail") || field_string_is(L, item, "type", "dns_wrong")) {
			struct dnsd_rule *d = &s->dns_rules[s->dns_rule_count++];
			d->kind = field_string_is(L, item, "type", "dns_wrong") ? DNSD_WRONG
			        : field_string_is(L, item, "rcode", "NXDOMAIN") ? DNSD_NXDOMAIN
			        : field_string_is(L, item, "rcode", "timeout") ? DNSD_TIMEOUT : DNSD_SERVFAIL;
			d->p = field_number(L, item, "p", 1, NULL);
			d->from_ns = (int64_t)(field_number(L, item, "from", 0, NULL) * 1e9);
			int has_until;
			double until = field_number(L, item, "until", 0, &has_until);
			d->until_ns = has_until ? (int64_t)(until * 1e9) : -1;
			char *addr = dup_field_string(L, item, "addr");
			snprintf(d->wrong_addr, sizeof d->wrong_addr, "%s", addr ? addr : "");
			free(addr);
			snprintf(d->where, sizeof d->where, "%s", cb->where);
			lua_pop(L, 1);
			continue;
		}
		if (field_string_is(L, item, "type", "at")) {
			/* Timed actions are not rules: the engine runs them on time. */
			cb->at = function_ref(L, item, "fn");
			s->timers[s->timer_count].at_ns = scenario_ns(field_number(L, item, "at", 0, NULL) * 1e9);
			s->timers[s->timer_count].fn = scenario_at;
			s->timers[s->timer_count].arg = cb;
			s->timer_count++;
			s->callback_count++;
			lua_pop(L, 1);
			continue;
		}
		int rc = scenario_read_rule(L, item, &s->rules[s->rule_count], err);
		if (rc == 0 && s->rules[s->rule_count].type == FAULT_HOOK) {
			cb->on_packet = function_ref(L, item, "on_packet");
			cb->on_flow = function_ref(L, item, "on_flow");
			s->rules[s->rule_count].hook = scenario_hook;
			s->rules[s->rule_count].hook_arg = cb;
			s->callback_count++;
		}
		lua_pop(L, 1);
		if (rc < 0) {
			lua_pop(L, 1);
			return -1;
		}
		s->rule_count++;
	}
	lua_pop(L, 1);

	lua_getfield(L, t, "expect");
	s->expect_count = (size_t)luaL_len(L, -1);
	lua_pop(L, 1);
	return 0;
nomem:
	*err = strdup("out of memory reading the scenario");
	return -1;
}

/* scenario_read(s, err) on the table at index 3, as a protected call. The
 * table comes from scenario code, which may have changed it after
 * fw.scenario checked it (a hole in a list, a number for `faults`, a
 * metatable whose __index loops): reading it can raise a Lua error, and
 * outside a pcall that aborts the process. */
static int scenario_read_protected(lua_State *L)
{
	struct scenario *s = lua_touserdata(L, 1);
	char **err = lua_touserdata(L, 2);
	lua_settop(L, 3);
	lua_pushboolean(L, scenario_read(L, s, err) == 0);
	return 1;
}

int scenario_load(const char *path, struct scenario **out, char **err)
{
	struct scenario *s = calloc(1, sizeof *s);
	struct scenario_state *st = calloc(1, sizeof *st);
	char *dir_copy = NULL;
	lua_State *L = NULL;
	*out = NULL;
	if (!s || !st) {
		free(s);
		free(st);
		*err = strdup("out of memory");
		return -1;
	}
	st->limit = SCENARIO_MEMORY_LIMIT;
	st->budget = scenario_budget();
	s->path = strdup(path);
	s->table_ref = LUA_NOREF;
	L = lua_newstate(scenario_alloc, st);
	if (!L) {
		free(st);
		*err = strdup("cannot create a Lua state");
		goto fail;
	}
	s->L = L;
	luaL_openlibs(L);
	lua_sethook(L, scenario_count_hook, LUA_MASKCOUNT, SCENARIO_HOOK_STEP);

	/* require "faultwire" gives the built-in module; other requires look
	 * next to the scenario. */
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, scenario_open_module);
	lua_setfield(L, -2, "faultwire");
	lua_pop(L, 1);
	dir_copy = strdup(path);
	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua", dirname(dir_copy));
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
	/* Load the module before the sandbox takes debug away: it needs
	 * debug.getinfo to name the scenario's lines in its messages. */
	lua_getglobal(L, "require");
	lua_pushstring(L, "faultwire");
	if (scenario_call(L, 1, 1, err) < 0)
		goto fail;
	/* Keep the module's _evaluate in the registry, out of the scenario's
	 * reach: scenario code can replace package.loaded.faultwire or
	 * fw._evaluate, and scenario_evaluate reads their results unprotected. */
	lua_getfield(L, -1, "_evaluate");
	lua_setfield(L, LUA_REGISTRYINDEX, "faultwire._evaluate");
	lua_pop(L, 1);
	scenario_sandbox(L);
	lua_pushglobaltable(L);
	lua_newtable(L);
	lua_pushcfunction(L, scenario_unknown_global);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);

	FILE *probe = fopen(path, "r");
	if (!probe) {
		if (asprintf(err, "%s: cannot open the scenario: %s", path, strerror(errno)) < 0)
			*err = NULL;
		goto fail;
	}
	fclose(probe);
	if (luaL_loadfilex(L, path, "t") != LUA_OK) {
		*err = strdup(lua_tostring(L, -1));
		goto fail;
	}
	if (scenario_call(L, 0, 1, err) < 0)
		goto fail;
	/* Not lua_getfield on whatever came back: indexing a number or nil
	 * raises an error, and here that is outside any pcall. */
	int is_scenario = 0;
	if (lua_type(L, -1) == LUA_TTABLE) {
		lua_pushliteral(L, "_kind");
		lua_rawget(L, -2);
		is_scenario = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "scenario") == 0;
		lua_pop(L, 1);
	}
	if (!is_scenario) {
		if (asprintf(err, "%s: the file must return fw.scenario{...}; it returned %s", path,
		             luaL_typename(L, -1)) < 0)
			*err = NULL;
		goto fail;
	}
	lua_pushcfunction(L, scenario_read_protected);
	lua_pushlightuserdata(L, s);
	lua_pushlightuserdata(L, err);
	lua_pushvalue(L, -4);
	if (scenario_call(L, 3, 1, err) < 0) {
		char *why = *err;
		lua_pushliteral(L, "where");
		lua_rawget(L, -2);
		if (asprintf(err, "%s: cannot read the scenario (was it changed after fw.scenario?): %s",
		             lua_isstring(L, -1) ? lua_tostring(L, -1) : path, why) < 0)
			*err = NULL;
		free(why);
		goto fail;
	}
	int read_ok = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (!read_ok)
		goto fail;
	s->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	free(dir_copy);
	*out = s;
	return 0;
fail:
	free(dir_copy);
	scenario_free(s);
	return -1;
}

void scenario_push_json(lua_State *L, json_t *value)
{
	size_t index;
	const char *key;
	json_t *item;
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(value));
		json_object_foreach(value, key, item) {
			scenario_push_json(L, item);
			lua_setfield(L, -2, key);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(value), 0);
		json_array_foreach(value, index, item) {
			scenario_push_json(L, item);
			lua_rawseti(L, -2, (lua_Integer)index + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(value));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(value));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	case JSON_NULL:
	default:
		lua_pushnil(L);
		break;
	}
}

int scenario_evaluate(struct scenario *s, json_t *record, json_t **results, char **err)
{
	lua_State *L = s->L;
	int top = lua_gettop(L);
	*results = NULL;
	lua_getfield(L, LUA_REGISTRYINDEX, "faultwire._evaluate");
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->table_ref);
	scenario_push_json(L, record);
	if (scenario_call(L, 2, 1, err) < 0) {
		lua_settop(L, top);
		return -1;
	}
	json_t *list = json_array();
	lua_Integer n = luaL_len(L, -1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		int r = lua_gettop(L);
		json_t *one = json_object();
		lua_getfield(L, r, "name");
		json_object_set_new(one, "name", json_string(lua_tostring(L, -1)));
		lua_getfield(L, r, "ok");
		json_object_set_new(one, "ok", json_boolean(lua_toboolean(L, -1)));
		lua_getfield(L, r, "detail");
		json_object_set_new(one, "detail", json_string(lua_isstring(L, -1) ? lua_tostring(L, -1) : ""));
		lua_getfield(L, r, "where");
		json_object_set_new(one, "where", json_string(lua_isstring(L, -1) ? lua_tostring(L, -1) : ""));
		json_array_append_new(list, one);
		lua_settop(L, r - 1);
	}
	lua_settop(L, top);
	*results = list;
	return 0;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	if (s->L) {
		struct scenario_state *st;
		lua_getallocf(s->L, (void **)&st);
		lua_close(s->L);
		free(st);
	}
	if (s->client_argv)
		for (char **a = s->client_argv; *a; a++)
			free(*a);
	free(s->client_argv);
	if (s->server_argv)
		for (char **a = s->server_argv; *a; a++)
			free(*a);
	free(s->server_argv);
	free(s->rules);
	free(s->timers);
	free(s->callbacks);
	free(s->dns_rules);
	free(s->name);
	free(s->about);
	free(s->path);
	free(s);
}
