/* check_scenario.c — unit tests for harness/scenario.c and the faultwire Lua
 * module: loading and converting scenarios, the messages of broken ones, the
 * sandbox and its limits, and expectations evaluated over run records. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "harness/content.h"
#include "harness/scenario.h"
#include "sim/fault.h"

/* Every test gets its own directory (checked fixture: made and removed in
 * the test's own process). */
static char test_dir[64];
static char scenario_path[PATH_MAX];

static void setup(void)
{
	snprintf(test_dir, sizeof test_dir, "/tmp/check_scenario.XXXXXX");
	ck_assert_msg(mkdtemp(test_dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(scenario_path, sizeof scenario_path, "%s/scenario.lua", test_dir);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(test_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void write_scenario(const char *text)
{
	write_file(scenario_path, text, strlen(text));
}

/* The 1-based line of text on which marker first appears. */
static int line_of(const char *text, const char *marker)
{
	const char *at = strstr(text, marker);
	ck_assert_msg(at != NULL, "marker '%s' is not in the scenario", marker);
	int line = 1;
	for (const char *c = text; c < at; c++)
		line += *c == '\n';
	return line;
}

static struct scenario *load_ok(const char *text)
{
	struct scenario *s = NULL;
	char *err = NULL;
	write_scenario(text);
	int rc = scenario_load(scenario_path, &s, &err);
	ck_assert_msg(rc == 0, "scenario_load failed: %s", err ? err : "(no message)");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(err);
	return s;
}

/* Load text, which must fail; returns the message (caller frees). */
static char *load_err(const char *text)
{
	struct scenario *s = NULL;
	char *err = NULL;
	write_scenario(text);
	int rc = scenario_load(scenario_path, &s, &err);
	ck_assert_msg(rc == -1, "scenario_load accepted a broken scenario");
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	return err;
}

static void assert_contains(const char *text, const char *needle)
{
	ck_assert_msg(strstr(text, needle) != NULL, "'%s' does not contain '%s'", text, needle);
}

/* err starts with "scenario_path:line:" where line is that of marker. */
static void assert_at(const char *err, const char *text, const char *marker)
{
	char prefix[PATH_MAX + 32];
	snprintf(prefix, sizeof prefix, "%s:%d:", scenario_path, line_of(text, marker));
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	              "error '%s' does not start with '%s'", err, prefix);
}

/* A broken scenario: the error names the line of marker and says needle. */
static void check_error(const char *text, const char *marker, const char *needle)
{
	char *err = load_err(text);
	if (marker)
		assert_at(err, text, marker);
	assert_contains(err, needle);
	free(err);
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---------------------------------------------------------------------- */
/* Valid scenarios */

static const char full_scenario[] =
	"local fw = require \"faultwire\"\n"
	"\n"
	"return fw.scenario {\n"
	"  name = \"all-fields\",\n"
	"  about = \"every field, read back\",\n"
	"  seed = 42,\n"
	"  timeout = 12.5,\n"
	"  server = fw.http { port = 8080 },\n"
	"  client = { \"curl\", \"-sS\", \"-o\", \"out.bin\", \"http://server.test:8080/bytes/1000\", 3 },\n"
	"  faults = {\n"
	"    fw.reset { after_bytes = 4096, dir = \"down\", to = \"client\" }, -- R1\n"
	"    fw.reset { after_ms = 250, dir = \"up\", to = \"server\" }, -- R2\n"
	"    fw.refuse {}, -- R3\n"
	"    fw.unreachable { code = \"admin\" }, -- R4\n"
	"    fw.blackhole { from = 1.5, [\"until\"] = 3, flows = { 1, 3 }, port = 8080, p = 0.25 }, -- R5\n"
	"  },\n"
	"  expect = {\n"
	"    fw.reported { stderr = \"reset\" },\n"
	"    fw.exit { code = 56 },\n"
	"  },\n"
	"}\n";

static void assert_where(const struct fault_rule *r, const char *marker)
{
	char want[PATH_MAX + 32];
	snprintf(want, sizeof want, "%s:%d", scenario_path, line_of(full_scenario, marker));
	ck_assert_str_eq(r->where, want);
}

START_TEST(test_load_fields)
{
	struct scenario *s = load_ok(full_scenario);
	ck_assert_str_eq(s->path, scenario_path);
	ck_assert_str_eq(s->name, "all-fields");
	ck_assert_str_eq(s->about, "every field, read back");
	ck_assert_int_eq(s->has_seed, 1);
	ck_assert_uint_eq(s->seed, 42);
	ck_assert_int_eq(s->has_timeout, 1);
	ck_assert_double_eq(s->timeout_s, 12.5);
	ck_assert_uint_eq(s->server_port, 8080);
	ck_assert_uint_eq(s->expect_count, 2);

	ck_assert_int_eq(s->client_is_shell, 0);
	ck_assert_ptr_nonnull(s->client_argv);
	const char *argv[] = { "curl", "-sS", "-o", "out.bin", "http://server.test:8080/bytes/1000", "3" };
	for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++) {
		ck_assert_ptr_nonnull(s->client_argv[i]);
		ck_assert_str_eq(s->client_argv[i], argv[i]);
	}
	ck_assert_ptr_null(s->client_argv[6]);
	scenario_free(s);
}
END_TEST

START_TEST(test_load_faults)
{
	struct scenario *s = load_ok(full_scenario);
	ck_assert_uint_eq(s->rule_count, 5);
	const struct fault_rule *r = s->rules;

	/* reset after_bytes, down, to the client; the other keys are defaults */
	ck_assert_int_eq(r[0].type, FAULT_RESET);
	assert_where(&r[0], "R1");
	ck_assert_uint_eq(r[0].dirs, DIR_DOWN);
	ck_assert_int_eq(r[0].after_bytes, 4096);
	ck_assert_int_eq(r[0].after_ns, -1);
	ck_assert_uint_eq(r[0].to, TARGET_CLIENT);
	ck_assert_int_eq(r[0].from_ns, 0);
	ck_assert_int_eq(r[0].until_ns, -1);
	ck_assert_uint_eq(r[0].flow_count, 0);
	ck_assert_uint_eq(r[0].port, 0);
	ck_assert_double_eq(r[0].p, 1.0);

	/* reset after_ms: milliseconds become nanoseconds */
	ck_assert_int_eq(r[1].type, FAULT_RESET);
	assert_where(&r[1], "R2");
	ck_assert_uint_eq(r[1].dirs, DIR_UP);
	ck_assert_int_eq(r[1].after_bytes, -1);
	ck_assert_int_eq(r[1].after_ns, 250LL * 1000 * 1000);
	ck_assert_uint_eq(r[1].to, TARGET_SERVER);

	/* refuse with every default: both directions */
	ck_assert_int_eq(r[2].type, FAULT_REFUSE);
	assert_where(&r[2], "R3");
	ck_assert_uint_eq(r[2].dirs, DIR_UP | DIR_DOWN);
	ck_assert_uint_eq(r[2].to, TARGET_CLIENT | TARGET_SERVER);
	ck_assert_int_eq(r[2].until_ns, -1);

	ck_assert_int_eq(r[3].type, FAULT_UNREACHABLE);
	assert_where(&r[3], "R4");
	ck_assert_int_eq(r[3].code, UNREACH_ADMIN);

	/* blackhole with every common key */
	ck_assert_int_eq(r[4].type, FAULT_BLACKHOLE);
	assert_where(&r[4], "R5");
	ck_assert_int_eq(r[4].from_ns, 1500LL * 1000 * 1000);
	ck_assert_int_eq(r[4].until_ns, 3000LL * 1000 * 1000);
	ck_assert_uint_eq(r[4].flow_count, 2);
	ck_assert_uint_eq(r[4].flows[0], 1);
	ck_assert_uint_eq(r[4].flows[1], 3);
	ck_assert_uint_eq(r[4].port, 8080);
	ck_assert_double_eq(r[4].p, 0.25);
	ck_assert_uint_eq(r[4].dirs, DIR_UP | DIR_DOWN);
	scenario_free(s);
}
END_TEST

START_TEST(test_load_unreachable_codes)
{
	static const struct { const char *name; enum craft_unreach code; } codes[] = {
		{ "host", UNREACH_HOST }, { "net", UNREACH_NET }, { "port", UNREACH_PORT }, { "admin", UNREACH_ADMIN },
	};
	struct scenario *s = load_ok(
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"codes\", faults = {\n"
		"  fw.unreachable { code = \"host\" }, fw.unreachable { code = \"net\" },\n"
		"  fw.unreachable { code = \"port\" }, fw.unreachable { code = \"admin\" },\n"
		"  fw.unreachable {},\n"
		"} }\n");
	ck_assert_uint_eq(s->rule_count, 5);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(s->rules[i].type, FAULT_UNREACHABLE);
		ck_assert_msg(s->rules[i].code == codes[i].code, "code \"%s\" became %d", codes[i].name, s->rules[i].code);
	}
	ck_assert_int_eq(s->rules[4].code, UNREACH_HOST);  /* the default */
	scenario_free(s);
}
END_TEST

START_TEST(test_load_shell_client)
{
	struct scenario *s = load_ok(
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"shell\",\n"
		"  client = \"curl -sS http://server.test/bytes/10 | wc -c\",\n"
		"}\n");
	ck_assert_int_eq(s->client_is_shell, 1);
	ck_assert_ptr_nonnull(s->client_argv);
	ck_assert_str_eq(s->client_argv[0], "/bin/sh");
	ck_assert_str_eq(s->client_argv[1], "-c");
	ck_assert_str_eq(s->client_argv[2], "curl -sS http://server.test/bytes/10 | wc -c");
	ck_assert_ptr_null(s->client_argv[3]);
	scenario_free(s);
}
END_TEST

START_TEST(test_load_defaults)
{
	struct scenario *s = load_ok(
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"bare\" }\n");
	ck_assert_str_eq(s->name, "bare");
	ck_assert_str_eq(s->about, "");
	ck_assert_int_eq(s->has_seed, 0);
	ck_assert_int_eq(s->has_timeout, 0);
	ck_assert_uint_eq(s->server_port, 80);
	ck_assert_ptr_null(s->client_argv);
	ck_assert_int_eq(s->client_is_shell, 0);
	ck_assert_uint_eq(s->rule_count, 0);
	ck_assert_uint_eq(s->expect_count, 0);
	scenario_free(s);
}
END_TEST

START_TEST(test_load_local_module)
{
	/* require of a Lua file next to the scenario works */
	static const char helper[] =
		"local fw = require \"faultwire\"\n"
		"return { cut = function(n) return fw.reset { after_bytes = n } end }\n";
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/helpers.lua", test_dir);
	write_file(path, helper, strlen(helper));
	struct scenario *s = load_ok(
		"local fw = require \"faultwire\"\n"
		"local helpers = require \"helpers\"\n"
		"return fw.scenario { name = \"helped\", faults = { helpers.cut(77) } }\n");
	ck_assert_uint_eq(s->rule_count, 1);
	ck_assert_int_eq(s->rules[0].after_bytes, 77);
	scenario_free(s);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Errors: file:line: and what is wrong */

START_TEST(test_error_misspelled_parameter)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"typo\",\n"
		"  faults = {\n"
		"    fw.reset { after_byts = 1 },\n"
		"  },\n"
		"}\n";
	check_error(text, "after_byts",
	            "unknown parameter 'after_byts' to fw.reset (did you mean 'after_bytes'?)");
}
END_TEST

START_TEST(test_error_misspelled_scenario_key)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"typo\",\n"
		"  fautls = {},\n"
		"}\n";
	check_error(text, "fw.scenario", "unknown parameter 'fautls' to fw.scenario (did you mean 'faults'?)");
}
END_TEST

START_TEST(test_error_wrong_type)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"local cut = fw.reset { after_bytes = \"x\" }\n"
		"return fw.scenario { name = \"t\", faults = { cut } }\n";
	check_error(text, "after_bytes", "parameter 'after_bytes' to fw.reset must be an integer, got \"x\"");
}
END_TEST

START_TEST(test_error_negative_bytes)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.reset { after_bytes = -1 },\n"
		"} }\n";
	check_error(text, "after_bytes", "parameter 'after_bytes' to fw.reset must be an integer >= 0, got -1");
}
END_TEST

START_TEST(test_error_probability)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.refuse {},\n"
		"  fw.blackhole { p = 1.5 },\n"
		"} }\n";
	check_error(text, "p = 1.5", "parameter 'p' to fw.blackhole must be a number <= 1, got 1.5");
}
END_TEST

START_TEST(test_error_window)
{
	static const char later[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.blackhole { from = 5, [\"until\"] = 2 },\n"
		"} }\n";
	check_error(later, "from = 5", "fw.blackhole: 'until' (2) must be later than 'from' (5)");
	static const char same[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.reset { after_bytes = 1, from = 3, [\"until\"] = 3 },\n"
		"} }\n";
	check_error(same, "from = 3", "must be later than 'from'");
}
END_TEST

START_TEST(test_error_bad_choice)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.reset { after_bytes = 1, dir = \"sideways\" },\n"
		"} }\n";
	check_error(text, "sideways", "parameter 'dir' to fw.reset must be one of \"up\", \"down\", \"both\"");
}
END_TEST

START_TEST(test_error_unknown_fault)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"t\",\n"
		"  faults = { fw.nosuch {} },\n"
		"}\n";
	check_error(text, "fw.nosuch", "faultwire has no 'nosuch'");
	static const char close[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.rest { after_bytes = 1 },\n"
		"} }\n";
	check_error(close, "fw.rest", "faultwire has no 'rest' (did you mean 'reset'?)");
}
END_TEST

START_TEST(test_error_fault_without_braces)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"t\",\n"
		"  faults = { fw.reset },\n"
		"}\n";
	/* the item is a bare function, which has no line: the scenario's */
	check_error(text, "fw.scenario", "faults[1] is a function: did you forget the braces");
}
END_TEST

START_TEST(test_error_not_a_fault)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"t\",\n"
		"  faults = { fw.reset { after_bytes = 1 }, fw.exit { code = 0 } },\n"
		"}\n";
	check_error(text, "fw.scenario", "faults[2] must be a fault made by fw");
}
END_TEST

START_TEST(test_error_missing_name)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"\n"
		"return fw.scenario {\n"
		"  faults = { fw.refuse {} },\n"
		"}\n";
	check_error(text, "fw.scenario", "fw.scenario needs the parameter 'name'");
}
END_TEST

START_TEST(test_error_returns_other)
{
	static const char *const texts[][2] = {
		{ "local fw = require \"faultwire\"\nreturn 42\n", "it returned number" },
		{ "local fw = require \"faultwire\"\nreturn { name = \"x\" }\n", "it returned table" },
		{ "local fw = require \"faultwire\"\nreturn \"scenario\"\n", "it returned string" },
		{ "local fw = require \"faultwire\"\nreturn true\n", "it returned boolean" },
		/* forgot the return */
		{ "local fw = require \"faultwire\"\nfw.scenario { name = \"x\" }\n", "it returned nil" },
		{ "local fw = require \"faultwire\"\nreturn fw.http {}\n", "it returned table" },
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		char *err = load_err(texts[i][0]);
		ck_assert_msg(strncmp(err, scenario_path, strlen(scenario_path)) == 0,
		              "error '%s' does not name the file", err);
		assert_contains(err, "must return fw.scenario{...}");
		assert_contains(err, texts[i][1]);
		free(err);
	}
}
END_TEST

START_TEST(test_error_syntax)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"t\"\n"
		"  about = \"missing comma above\",\n"
		"}\n";
	check_error(text, "about", "'}' expected");
}
END_TEST

START_TEST(test_error_missing_file)
{
	struct scenario *s = NULL;
	char *err = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/no_such_scenario.lua", test_dir);
	ck_assert_int_eq(scenario_load(path, &s, &err), -1);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	assert_contains(err, path);
	assert_contains(err, strerror(ENOENT));
	free(err);
}
END_TEST

START_TEST(test_error_runtime)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"local sizes = { small = 10 }\n"
		"local n = sizes.large * 2\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(text, "sizes.large", "attempt to perform arithmetic on a nil value (field 'large')");
	static const char raised[] =
		"local fw = require \"faultwire\"\n"
		"error(\"no such provider\")\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(raised, "error(", "no such provider");
}
END_TEST

START_TEST(test_error_runtime_in_function)
{
	/* an error inside a helper names the helper's line */
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"local function cut(n)\n"
		"  return fw.reset { after_bytes = n }\n"
		"end\n"
		"return fw.scenario { name = \"t\", faults = { cut(-5) } }\n";
	check_error(text, "fw.reset", "must be an integer >= 0, got -5");
}
END_TEST

START_TEST(test_error_undefined_global)
{
	static const char text[] =
		"return fw.scenario {\n"
		"  name = \"t\",\n"
		"}\n";
	check_error(text, "fw.scenario", "unknown global 'fw': start the scenario with local fw = require \"faultwire\"");
	static const char other[] =
		"local fw = require \"faultwire\"\n"
		"local size = MEGABYTE * 4\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(other, "MEGABYTE", "unknown global 'MEGABYTE'");
}
END_TEST

START_TEST(test_sandbox_os_execute)
{
	char text[PATH_MAX * 2];
	char marker[PATH_MAX + 16];
	snprintf(marker, sizeof marker, "%s/executed", test_dir);
	snprintf(text, sizeof text,
	         "local fw = require \"faultwire\"\n"
	         "os.execute(\"touch %s\")\n"
	         "return fw.scenario { name = \"t\" }\n", marker);
	check_error(text, "os.execute", "attempt to call a nil value (field 'execute')");
	ck_assert_msg(!file_exists(marker), "os.execute ran a command");
}
END_TEST

START_TEST(test_sandbox_io_popen)
{
	char text[PATH_MAX * 2];
	char marker[PATH_MAX + 16];
	snprintf(marker, sizeof marker, "%s/popened", test_dir);
	snprintf(text, sizeof text,
	         "local fw = require \"faultwire\"\n"
	         "local p = io.popen(\"touch %s\")\n"
	         "return fw.scenario { name = \"t\" }\n", marker);
	check_error(text, "io.popen", "attempt to call a nil value (field 'popen')");
	ck_assert_msg(!file_exists(marker), "io.popen ran a command");
}
END_TEST

START_TEST(test_sandbox_other_escapes)
{
	static const char loadlib[] =
		"local fw = require \"faultwire\"\n"
		"local f = package.loadlib(\"libc.so.6\", \"system\")\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(loadlib, "package.loadlib", "attempt to call a nil value (field 'loadlib')");
	/* the same os table is reachable through require: still no execute */
	static const char required[] =
		"local fw = require \"faultwire\"\n"
		"local os2 = require \"os\"\n"
		"os2.execute(\"true\")\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(required, "os2.execute", "attempt to call a nil value (field 'execute')");
}
END_TEST

START_TEST(test_sandbox_debug)
{
	/* debug is gone, also through require: it could lift the
	 * instruction budget with debug.sethook() */
	static const char global[] =
		"local fw = require \"faultwire\"\n"
		"debug.sethook()\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(global, "debug.sethook", "unknown global 'debug'");
	static const char required[] =
		"local fw = require \"faultwire\"\n"
		"local d = require \"debug\"\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(required, "require \"debug\"", "module 'debug' not found");
}
END_TEST

START_TEST(test_sandbox_c_module)
{
	/* A file where the C searcher would look: were it still there, it
	 * would try to load it (and fail on "invalid ELF header"). */
	char so[PATH_MAX + 16];
	snprintf(so, sizeof so, "%s/native.so", test_dir);
	write_file(so, "not really ELF", 14);
	char text[PATH_MAX * 2];
	snprintf(text, sizeof text,
	         "local fw = require \"faultwire\"\n"
	         "package.cpath = \"%s/?.so\"\n"
	         "local native = require \"native\"\n"
	         "return fw.scenario { name = \"t\" }\n", test_dir);
	char *err = load_err(text);
	assert_at(err, text, "require \"native\"");
	assert_contains(err, "module 'native' not found");
	ck_assert_msg(strstr(err, "native.so") == NULL, "the C searcher looked at native.so: %s", err);
	ck_assert_msg(strstr(err, "ELF") == NULL, "a C module was loaded: %s", err);
	free(err);
	static const char socket[] =
		"local fw = require \"faultwire\"\n"
		"local socket = require \"socket.core\"\n"
		"return fw.scenario { name = \"t\" }\n";
	check_error(socket, "socket.core", "module 'socket.core' not found");
}
END_TEST

START_TEST(test_error_argv_with_hole)
{
	/* os.getenv of an unset variable leaves a hole in the argv table */
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"t\",\n"
		"  client = { \"curl\", os.getenv(\"FAULTWIRE_NO_SUCH_VARIABLE_SET\"), \"-o\", \"out.bin\" },\n"
		"}\n";
	check_error(text, "fw.scenario", "parameter 'client' to fw.scenario must be an argv table of strings (item 2 is nil)");
}
END_TEST

START_TEST(test_error_flows_with_hole)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"local second\n"
		"return fw.scenario { name = \"t\", faults = {\n"
		"  fw.blackhole { flows = { 1, second, 3 } },\n"
		"} }\n";
	check_error(text, "flows", "parameter 'flows' to fw.blackhole must be a list of integers >= 1 (item 2 is nil)");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Runaway code */

START_TEST(test_runaway_loop)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"local n = 0\n"
		"while true do n = n + 1 end\n"
		"return fw.scenario { name = \"t\" }\n";
	char *err = load_err(text);
	assert_contains(err, "loop that never ends");
	assert_at(err, text, "while true");
	free(err);
}
END_TEST

START_TEST(test_runaway_empty_loop_in_function)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"local function wait()\n"
		"  while true do end\n"
		"end\n"
		"wait()\n"
		"return fw.scenario { name = \"t\" }\n";
	char *err = load_err(text);
	assert_contains(err, "loop that never ends");
	assert_at(err, text, "while true");
	free(err);
}
END_TEST

START_TEST(test_runaway_memory)
{
	static const char strings[] =
		"local fw = require \"faultwire\"\n"
		"local t = {}\n"
		"while true do t[#t + 1] = (\"x\"):rep(1024) .. #t end\n"
		"return fw.scenario { name = \"t\" }\n";
	char *err = load_err(strings);
	assert_contains(err, "more memory than allowed");
	free(err);
	static const char numbers[] =
		"local fw = require \"faultwire\"\n"
		"local t = {}\n"
		"for i = 1, math.maxinteger do t[i] = i end\n"
		"return fw.scenario { name = \"t\" }\n";
	err = load_err(numbers);
	assert_contains(err, "more memory than allowed");
	free(err);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Expectations over run records */

static json_t *make_record(int exit_code, const char *stderr_tail)
{
	json_t *r = json_pack(
		"{s:i, s:s, s:{s:[], s:i, s:n, s:b, s:i, s:s, s:s},"
		" s:[{s:i, s:s, s:i}], s:[{s:i, s:i, s:s, s:s}],"
		" s:{s:[{s:i, s:s, s:n, s:i}]}}",
		"seed", 1, "workdir", test_dir,
		"client", "argv", "exit_code", exit_code, "signal", "timed_out", 0,
		"duration_ms", 640, "stdout_tail", "", "stderr_tail", stderr_tail,
		"flows", "id", 1, "proto", "tcp", "opened_ms", 3,
		"faults", "t_ms", 118, "flow", 1, "fault", "reset", "detail", "after 262144 bytes down",
		"server", "requests", "t_ms", 5, "path", "/bytes/1000", "range", "status", 200);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* Replace record.flows by flows opened at these times (ms). */
static void set_flows(json_t *record, const int *opened_ms, size_t n)
{
	json_t *flows = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(flows, json_pack("{s:i, s:s, s:i}", "id", (int)i + 1, "proto", "tcp",
		                                        "opened_ms", opened_ms[i]));
	ck_assert_int_eq(json_object_set_new(record, "flows", flows), 0);
}

static void set_client(json_t *record, const char *key, json_t *value)
{
	ck_assert_int_eq(json_object_set_new(json_object_get(record, "client"), key, value), 0);
}

/* A scenario whose expect list is `expect` (Lua source). */
static struct scenario *load_expect(const char *expect)
{
	char text[4096];
	snprintf(text, sizeof text,
	         "local fw = require \"faultwire\"\n"
	         "return fw.scenario {\n"
	         "  name = \"expect\",\n"
	         "  faults = { fw.reset { after_bytes = 1000 } },\n"
	         "  expect = {\n"
	         "    %s,\n"
	         "  },\n"
	         "}\n", expect);
	struct scenario *s = load_ok(text);
	ck_assert_uint_eq(s->expect_count, 1);
	return s;
}

struct outcome {
	char name[64];
	int ok;
	char detail[1024];
	char where[PATH_MAX + 32];
};

/* Evaluate the one expectation of s over record (consumed). */
static struct outcome evaluate_one(struct scenario *s, json_t *record)
{
	struct outcome o;
	json_t *results = NULL;
	char *err = NULL;
	int rc = scenario_evaluate(s, record, &results, &err);
	ck_assert_msg(rc == 0, "scenario_evaluate failed: %s", err ? err : "(no message)");
	ck_assert_ptr_null(err);
	ck_assert(json_is_array(results));
	ck_assert_uint_eq(json_array_size(results), 1);
	json_t *one = json_array_get(results, 0);
	ck_assert(json_is_boolean(json_object_get(one, "ok")));
	ck_assert(json_is_string(json_object_get(one, "detail")));
	o.ok = json_is_true(json_object_get(one, "ok"));
	snprintf(o.name, sizeof o.name, "%s", json_string_value(json_object_get(one, "name")));
	snprintf(o.detail, sizeof o.detail, "%s", json_string_value(json_object_get(one, "detail")));
	snprintf(o.where, sizeof o.where, "%s", json_string_value(json_object_get(one, "where")));
	json_decref(results);
	json_decref(record);
	return o;
}

static const char curl_reset[] = "curl: (56) Recv failure: Connection reset by peer";

START_TEST(test_reported_holds)
{
	struct scenario *s = load_expect("fw.reported { stderr = \"reset\" }");
	struct outcome o = evaluate_one(s, make_record(56, curl_reset));
	ck_assert_msg(o.ok, "reported failed: %s", o.detail);
	ck_assert_str_eq(o.name, "reported");
	assert_contains(o.detail, "exit 56");
	assert_contains(o.detail, "stderr matched 'reset'");
	/* where is the expectation's own line */
	char where[PATH_MAX + 32];
	snprintf(where, sizeof where, "%s:6", scenario_path);
	ck_assert_str_eq(o.where, where);

	/* case-insensitive, and Lua patterns work too */
	scenario_free(s);
	s = load_expect("fw.reported { stderr = \"CONNECTION RESET\" }");
	o = evaluate_one(s, make_record(56, curl_reset));
	ck_assert_msg(o.ok, "case-insensitive match failed: %s", o.detail);
	scenario_free(s);
	s = load_expect("fw.reported { stderr = \"curl: %(%d+%)\" }");
	o = evaluate_one(s, make_record(56, curl_reset));
	ck_assert_msg(o.ok, "pattern match failed: %s", o.detail);
	scenario_free(s);
}
END_TEST

START_TEST(test_reported_exit_zero)
{
	struct scenario *s = load_expect("fw.reported { stderr = \"reset\" }");
	struct outcome o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(!o.ok, "reported held for exit 0: %s", o.detail);
	assert_contains(o.detail, "exited 0");
	scenario_free(s);
}
END_TEST

START_TEST(test_reported_other_stderr)
{
	static const char refused[] = "curl: (7) Failed to connect to server.test port 80: Connection refused";
	struct scenario *s = load_expect("fw.reported { stderr = \"reset\" }");
	struct outcome o = evaluate_one(s, make_record(7, refused));
	ck_assert_msg(!o.ok, "reported held for a refusal: %s", o.detail);
	assert_contains(o.detail, "exit 7");
	assert_contains(o.detail, "does not mention 'reset'");
	assert_contains(o.detail, refused);
	scenario_free(s);
}
END_TEST

START_TEST(test_reported_signal)
{
	struct scenario *s = load_expect("fw.reported { stderr = \"reset\" }");
	json_t *r = make_record(0, "");
	set_client(r, "exit_code", json_null());
	set_client(r, "signal", json_string("SIGSEGV"));
	struct outcome o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "a crash counted as a report: %s", o.detail);
	assert_contains(o.detail, "SIGSEGV");
	scenario_free(s);
}
END_TEST

START_TEST(test_exit_code)
{
	struct scenario *s = load_expect("fw.exit { code = 7 }");
	struct outcome o = evaluate_one(s, make_record(7, ""));
	ck_assert_msg(o.ok, "exit 7 failed: %s", o.detail);
	ck_assert_str_eq(o.name, "exit");
	o = evaluate_one(s, make_record(56, curl_reset));
	ck_assert_msg(!o.ok, "exit 56 passed fw.exit{code=7}: %s", o.detail);
	assert_contains(o.detail, "expected exit 7");
	assert_contains(o.detail, "exited 56");
	scenario_free(s);

	s = load_expect("fw.exit { code = { 0, 18 } }");
	o = evaluate_one(s, make_record(18, ""));
	ck_assert_msg(o.ok, "exit 18 failed fw.exit{code={0,18}}: %s", o.detail);
	o = evaluate_one(s, make_record(1, ""));
	ck_assert(!o.ok);
	assert_contains(o.detail, "expected exit 0 or 18");
	scenario_free(s);
}
END_TEST

START_TEST(test_finished_within)
{
	struct scenario *s = load_expect("fw.finished_within { s = 1 }");
	struct outcome o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(o.ok, "640 ms failed finished_within{s=1}: %s", o.detail);

	json_t *r = make_record(0, "");
	set_client(r, "timed_out", json_true());
	set_client(r, "exit_code", json_null());
	set_client(r, "signal", json_string("SIGKILL"));
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "a timed-out client finished within: %s", o.detail);
	assert_contains(o.detail, "hung");

	/* even a timeout shorter than s is not "finished" */
	r = make_record(0, "");
	set_client(r, "timed_out", json_true());
	o = evaluate_one(s, r);
	ck_assert(!o.ok);

	r = make_record(0, "");
	set_client(r, "duration_ms", json_integer(2500));
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "2.5 s passed finished_within{s=1}: %s", o.detail);
	assert_contains(o.detail, "2.50 s");
	scenario_free(s);
}
END_TEST

START_TEST(test_retried)
{
	struct scenario *s = load_expect("fw.retried { min = 1 }");
	json_t *r = make_record(0, "");
	static const int two_later[] = { 3, 300, 700 };  /* the fault is at 118 ms */
	set_flows(r, two_later, 3);
	struct outcome o = evaluate_one(s, r);
	ck_assert_msg(o.ok, "2 retries failed retried{min=1}: %s", o.detail);
	ck_assert_str_eq(o.name, "retried");
	assert_contains(o.detail, "2 new connection(s)");

	r = make_record(56, curl_reset);
	static const int none[] = { 3 };
	set_flows(r, none, 1);
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "no retry passed retried{min=1}: %s", o.detail);
	assert_contains(o.detail, "opened 0");
	scenario_free(s);

	/* flows opened before the fault are not retries */
	s = load_expect("fw.retried { min = 2, max = 2 }");
	r = make_record(0, "");
	static const int early[] = { 3, 50, 100, 200 };
	set_flows(r, early, 4);
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "3 flows before the fault counted: %s", o.detail);
	assert_contains(o.detail, "opened 1");
	r = make_record(0, "");
	static const int three[] = { 3, 200, 300, 400 };
	set_flows(r, three, 4);
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "3 retries passed max = 2: %s", o.detail);
	assert_contains(o.detail, "opened 3");
	scenario_free(s);
}
END_TEST

START_TEST(test_retried_flows_seen)
{
	/* Records made by faultwire say how many flows the middlebox had seen
	 * when the fault fired: a reconnect in the same millisecond counts. */
	struct scenario *s = load_expect("fw.retried { min = 2, max = 2 }");
	json_t *r = make_record(0, "");
	static const int same_ms[] = { 3, 118, 300 };
	set_flows(r, same_ms, 3);
	json_t *fault = json_array_get(json_object_get(r, "faults"), 0);
	ck_assert_int_eq(json_object_set_new(fault, "flows_seen", json_integer(1)), 0);
	struct outcome o = evaluate_one(s, r);
	ck_assert_msg(o.ok, "a reconnect at the fault's millisecond was not counted: %s", o.detail);

	r = make_record(0, "");
	set_flows(r, same_ms, 3);
	fault = json_array_get(json_object_get(r, "faults"), 0);
	ck_assert_int_eq(json_object_set_new(fault, "flows_seen", json_integer(2)), 0);
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "a flow seen before the fault counted as a retry: %s", o.detail);
	assert_contains(o.detail, "opened 1");
	scenario_free(s);
}
END_TEST

START_TEST(test_retried_backoff)
{
	struct scenario *s = load_expect("fw.retried { backoff = \"exponential\" }");
	json_t *r = make_record(0, "");
	static const int doubling[] = { 3, 218, 418, 818 };  /* waits 100/200/400 */
	set_flows(r, doubling, 4);
	struct outcome o = evaluate_one(s, r);
	ck_assert_msg(o.ok, "100/200/400 failed exponential: %s", o.detail);
	assert_contains(o.detail, "100/200/400");

	r = make_record(0, "");
	static const int steady[] = { 3, 218, 318, 418 };  /* waits 100/100/100 */
	set_flows(r, steady, 4);
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "100/100/100 passed exponential: %s", o.detail);
	assert_contains(o.detail, "no exponential backoff");
	scenario_free(s);
}
END_TEST

static void write_content(const char *name, size_t len)
{
	char path[PATH_MAX + 64];
	uint8_t buf[1000];
	ck_assert_uint_le(len, sizeof buf);
	content_fill(1, 0, buf, sizeof buf);
	snprintf(path, sizeof path, "%s/%s", test_dir, name);
	write_file(path, buf, len);
}

START_TEST(test_recovered)
{
	struct scenario *s = load_expect("fw.recovered { file = \"out.bin\", path = \"/bytes/1000\" }");
	write_content("out.bin", 1000);
	struct outcome o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(o.ok, "an equal file failed recovered: %s", o.detail);
	ck_assert_str_eq(o.name, "recovered");
	assert_contains(o.detail, "1000 bytes");

	/* the right bytes, but the client failed */
	o = evaluate_one(s, make_record(56, curl_reset));
	ck_assert_msg(!o.ok, "exit 56 passed recovered: %s", o.detail);
	assert_contains(o.detail, "exited 56");

	write_content("out.bin", 500);
	o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(!o.ok, "a truncated file passed recovered: %s", o.detail);
	assert_contains(o.detail, "500");
	assert_contains(o.detail, "1000");

	/* another seed serves other bytes */
	write_content("out.bin", 1000);
	json_t *r = make_record(0, "");
	ck_assert_int_eq(json_object_set_new(r, "seed", json_integer(2)), 0);
	o = evaluate_one(s, r);
	ck_assert_msg(!o.ok, "the wrong seed's content passed recovered: %s", o.detail);
	scenario_free(s);
}
END_TEST

START_TEST(test_recovered_missing_file)
{
	struct scenario *s = load_expect("fw.recovered { file = \"out.bin\" }");  /* path: the first request */
	struct outcome o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(!o.ok, "a missing file passed recovered: %s", o.detail);
	assert_contains(o.detail, "out.bin");
	write_content("out.bin", 1000);
	o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(o.ok, "recovered without path failed: %s", o.detail);
	assert_contains(o.detail, "/bytes/1000");
	scenario_free(s);
}
END_TEST

START_TEST(test_check_function)
{
	struct scenario *s = load_expect(
		"fw.check(function(run) return run.client.exit_code == 3, \"why: exit \" .. run.client.exit_code end)");
	struct outcome o = evaluate_one(s, make_record(3, ""));
	ck_assert_msg(o.ok, "the check failed: %s", o.detail);
	ck_assert_str_eq(o.name, "check");
	ck_assert_str_eq(o.detail, "why: exit 3");
	o = evaluate_one(s, make_record(56, curl_reset));
	ck_assert(!o.ok);
	ck_assert_str_eq(o.detail, "why: exit 56");
	scenario_free(s);

	/* the record as a table: null is nil, arrays are lists */
	s = load_expect(
		"fw.check(function(run) return run.client.signal == nil and #run.flows == 1 "
		"and run.faults[1].fault == \"reset\" and run.server.requests[1].range == nil "
		"and run.server.requests[1].status == 200 and run.workdir ~= nil end)");
	o = evaluate_one(s, make_record(0, ""));
	ck_assert_msg(o.ok, "the record did not arrive as expected: %s", o.detail);
	ck_assert_str_eq(o.detail, "the check held");
	scenario_free(s);
}
END_TEST

START_TEST(test_check_error)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"t\",\n"
		"  expect = {\n"
		"    fw.check(function(run)\n"
		"      return run.client.nosuch.field == 1\n"
		"    end),\n"
		"  },\n"
		"}\n";
	struct scenario *s = load_ok(text);
	json_t *record = make_record(0, "");
	json_t *results = NULL;
	char *err = NULL;
	ck_assert_int_eq(scenario_evaluate(s, record, &results, &err), -1);
	ck_assert_ptr_null(results);
	ck_assert_ptr_nonnull(err);
	assert_at(err, text, "nosuch");
	assert_contains(err, "attempt to index a nil value (field 'nosuch')");
	free(err);

	/* the state is still usable afterwards */
	err = NULL;
	ck_assert_int_eq(scenario_evaluate(s, record, &results, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(err);
	json_decref(record);
	scenario_free(s);
}
END_TEST

START_TEST(test_check_raised)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", expect = {\n"
		"  fw.check(function(run)\n"
		"    if run.client.exit_code ~= 0 then error(\"client failed\") end\n"
		"    return true\n"
		"  end),\n"
		"} }\n";
	struct scenario *s = load_ok(text);
	json_t *record = make_record(56, curl_reset);
	json_t *results = NULL;
	char *err = NULL;
	ck_assert_int_eq(scenario_evaluate(s, record, &results, &err), -1);
	ck_assert_ptr_nonnull(err);
	assert_at(err, text, "client failed");
	assert_contains(err, "client failed");
	free(err);
	json_decref(record);
	scenario_free(s);
}
END_TEST

START_TEST(test_check_runaway)
{
	static const char text[] =
		"local fw = require \"faultwire\"\n"
		"return fw.scenario { name = \"t\", expect = {\n"
		"  fw.check(function(run)\n"
		"    while run.client.exit_code ~= 1 do end\n"
		"    return true\n"
		"  end),\n"
		"} }\n";
	struct scenario *s = load_ok(text);
	json_t *record = make_record(0, "");
	json_t *results = NULL;
	char *err = NULL;
	ck_assert_int_eq(scenario_evaluate(s, record, &results, &err), -1);
	ck_assert_ptr_nonnull(err);
	assert_contains(err, "loop that never ends");
	free(err);
	json_decref(record);
	scenario_free(s);
}
END_TEST

START_TEST(test_evaluate_several)
{
	struct scenario *s = load_ok(
		"local fw = require \"faultwire\"\n"
		"return fw.scenario {\n"
		"  name = \"several\",\n"
		"  faults = { fw.reset { after_bytes = 1 } },\n"
		"  expect = {\n"
		"    fw.reported { stderr = \"reset\" },\n"
		"    fw.exit { code = 0 },\n"
		"    fw.finished_within { s = 10 },\n"
		"  },\n"
		"}\n");
	ck_assert_uint_eq(s->expect_count, 3);
	json_t *record = make_record(56, curl_reset);
	json_t *results = NULL;
	char *err = NULL;
	ck_assert_int_eq(scenario_evaluate(s, record, &results, &err), 0);
	ck_assert_uint_eq(json_array_size(results), 3);
	static const char *const names[] = { "reported", "exit", "finished_within" };
	static const int oks[] = { 1, 0, 1 };
	for (size_t i = 0; i < 3; i++) {
		json_t *one = json_array_get(results, i);
		ck_assert_str_eq(json_string_value(json_object_get(one, "name")), names[i]);
		ck_assert_int_eq(json_is_true(json_object_get(one, "ok")), oks[i]);
		char where[PATH_MAX + 32];
		snprintf(where, sizeof where, "%s:%zu", scenario_path, 6 + i);
		ck_assert_str_eq(json_string_value(json_object_get(one, "where")), where);
	}
	json_decref(results);
	json_decref(record);
	scenario_free(s);
}
END_TEST

/* ---------------------------------------------------------------------- */

static Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");

	TCase *load = tcase_create("load");
	tcase_add_checked_fixture(load, setup, teardown);
	tcase_add_test(load, test_load_fields);
	tcase_add_test(load, test_load_faults);
	tcase_add_test(load, test_load_unreachable_codes);
	tcase_add_test(load, test_load_shell_client);
	tcase_add_test(load, test_load_defaults);
	tcase_add_test(load, test_load_local_module);
	suite_add_tcase(s, load);

	TCase *errors = tcase_create("errors");
	tcase_add_checked_fixture(errors, setup, teardown);
	tcase_add_test(errors, test_error_misspelled_parameter);
	tcase_add_test(errors, test_error_misspelled_scenario_key);
	tcase_add_test(errors, test_error_wrong_type);
	tcase_add_test(errors, test_error_negative_bytes);
	tcase_add_test(errors, test_error_probability);
	tcase_add_test(errors, test_error_window);
	tcase_add_test(errors, test_error_bad_choice);
	tcase_add_test(errors, test_error_unknown_fault);
	tcase_add_test(errors, test_error_fault_without_braces);
	tcase_add_test(errors, test_error_not_a_fault);
	tcase_add_test(errors, test_error_missing_name);
	tcase_add_test(errors, test_error_returns_other);
	tcase_add_test(errors, test_error_syntax);
	tcase_add_test(errors, test_error_missing_file);
	tcase_add_test(errors, test_error_runtime);
	tcase_add_test(errors, test_error_runtime_in_function);
	tcase_add_test(errors, test_error_undefined_global);
	tcase_add_test(errors, test_error_argv_with_hole);
	tcase_add_test(errors, test_error_flows_with_hole);
	suite_add_tcase(s, errors);

	TCase *sandbox = tcase_create("sandbox");
	tcase_add_checked_fixture(sandbox, setup, teardown);
	tcase_add_test(sandbox, test_sandbox_os_execute);
	tcase_add_test(sandbox, test_sandbox_io_popen);
	tcase_add_test(sandbox, test_sandbox_other_escapes);
	tcase_add_test(sandbox, test_sandbox_debug);
	tcase_add_test(sandbox, test_sandbox_c_module);
	suite_add_tcase(s, sandbox);

	/* These must come back, not hang: the budget stops them. */
	TCase *runaway = tcase_create("runaway");
	tcase_add_checked_fixture(runaway, setup, teardown);
	tcase_set_timeout(runaway, 30);
	tcase_add_test(runaway, test_runaway_loop);
	tcase_add_test(runaway, test_runaway_empty_loop_in_function);
	tcase_add_test(runaway, test_runaway_memory);
	tcase_add_test(runaway, test_check_runaway);
	suite_add_tcase(s, runaway);

	TCase *evaluate = tcase_create("evaluate");
	tcase_add_checked_fixture(evaluate, setup, teardown);
	tcase_add_test(evaluate, test_reported_holds);
	tcase_add_test(evaluate, test_reported_exit_zero);
	tcase_add_test(evaluate, test_reported_other_stderr);
	tcase_add_test(evaluate, test_reported_signal);
	tcase_add_test(evaluate, test_exit_code);
	tcase_add_test(evaluate, test_finished_within);
	tcase_add_test(evaluate, test_retried);
	tcase_add_test(evaluate, test_retried_flows_seen);
	tcase_add_test(evaluate, test_retried_backoff);
	tcase_add_test(evaluate, test_recovered);
	tcase_add_test(evaluate, test_recovered_missing_file);
	tcase_add_test(evaluate, test_check_function);
	tcase_add_test(evaluate, test_check_error);
	tcase_add_test(evaluate, test_check_raised);
	tcase_add_test(evaluate, test_evaluate_several);
	suite_add_tcase(s, evaluate);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scenario_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
