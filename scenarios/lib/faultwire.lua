-- faultwire.lua — the scenario API, `local fw = require "faultwire"`.
--
-- Compiled into the faultwire binary. Constructors (fw.reset, fw.http,
-- fw.reported, ...) check every parameter by name and type, fill in the
-- defaults, and return plain tables tagged with `_kind` that the C side reads.
-- Expectations are evaluated here too, over the run record (the same table
-- that fw.check receives). The C side passes `native`, a table of helpers
-- written in C (file comparison against what the server serves).

local native = ...
local debug, string, table, math = debug, string, table, math
local pairs, ipairs, type, tostring, error, select = pairs, ipairs, type, tostring, error, select
local setmetatable, pcall, rawget = setmetatable, pcall, rawget

local fw = { _VERSION = "faultwire 1" }

-- The scenario line that called into this module: the first stack frame
-- whose code is not ours.
local function caller_where()
  local level = 2
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then return "?" end
    if info.source ~= "=faultwire" and info.what ~= "C" then
      return info.short_src .. ":" .. (info.currentline or 0)
    end
    level = level + 1
  end
end

local function fail(fmt, ...)
  error(caller_where() .. ": " .. string.format(fmt, ...), 0)
end

-- Edit distance, for "did you mean" hints.
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

local function suggestion(name, known)
  local best, best_d
  for _, k in ipairs(known) do
    local d = distance(name, k)
    if not best_d or d < best_d then best, best_d = k, d end
  end
  if best and best_d <= math.max(2, #name // 3) then
    return " (did you mean '" .. best .. "'?)"
  end
  return ""
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

------------------------------------------------------------------------
-- Parameter types. Each returns nil when the value is fine, or what was
-- expected.

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local T = {}

function T.number(min, max)
  return function(v)
    if type(v) ~= "number" then return "a number" end
    if v ~= v then return "a number (not NaN)" end
    if min and v < min then return "a number >= " .. min end
    if max and v > max then return "a number <= " .. max end
  end
end

function T.integer(min, max)
  return function(v)
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v
        and v > -2^53 and v < 2^53) then
      return "an integer"
    end
    if min and v < min then return "an integer >= " .. min end
    if max and v > max then return "an integer <= " .. max end
  end
end

function T.one_of(...)
  local choices = { ... }
  return function(v)
    for _, c in ipairs(choices) do
      if v == c then return nil end
    end
    local quoted = {}
    for i, c in ipairs(choices) do quoted[i] = string.format("%q", c) end
    return "one of " .. table.concat(quoted, ", ")
  end
end

function T.string(v)
  if type(v) ~= "string" then return "a string" end
end

function T.boolean(v)
  if type(v) ~= "boolean" then return "true or false" end
end

function T.func(v)
  if type(v) ~= "function" then return "a function" end
end

function T.list_of_integers(min)
  return function(v)
    if type(v) ~= "table" then return "a list of integers, e.g. {1, 3}" end
    for i = 1, #v do  -- not ipairs: it stops at a hole, {1, nil, 3}
      local x = v[i]
      if math.type(x) ~= "integer" or x < min then
        return "a list of integers >= " .. min .. " (item " .. i .. " is " .. describe(x) .. ")"
      end
    end
    for k in pairs(v) do
      if math.type(k) ~= "integer" or k < 1 or k > #v then
        return "a list of integers, e.g. {1, 3} (it has the key " .. describe(k) .. ")"
      end
    end
  end
end

function T.string_or_argv(v)
  if type(v) == "string" then return nil end
  if type(v) ~= "table" or #v == 0 then return "a command string or an argv table such as {\"curl\", \"-sS\", URL}" end
  for i = 1, #v do  -- not ipairs: it stops at a hole such as os.getenv("UNSET")
    local x = v[i]
    if type(x) ~= "string" and type(x) ~= "number" then
      return "an argv table of strings (item " .. i .. " is " .. type(x) .. ")"
    end
  end
end

function T.number_or_list(v)
  if type(v) == "number" then return nil end
  if type(v) == "table" and #v > 0 then
    for _, x in ipairs(v) do
      if type(x) ~= "number" then return "a number or a list of numbers" end
    end
    return nil
  end
  return "a number or a list of numbers"
end

-- Check args against schema { name = { type_check, default = v, required = bool } }
-- and return a fresh table with defaults filled in.
local function check_params(what, args, schema)
  if type(args) ~= "table" then
    fail("%s expects a table of parameters, as in %s{...}; got %s", what, what, type(args))
  end
  local known = sorted_keys(schema)
  local out = {}
  for k, v in pairs(args) do
    if type(k) ~= "string" then
      fail("%s takes named parameters only (found a value at position %s)", what, describe(k))
    end
    local spec = schema[k]
    if not spec then
      fail("unknown parameter '%s' to %s%s", k, what, suggestion(k, known))
    end
    local expected = spec[1](v)
    if expected then
      fail("parameter '%s' to %s must be %s, got %s", k, what, expected, describe(v))
    end
    out[k] = v
  end
  for _, k in ipairs(known) do
    local spec = schema[k]
    if out[k] == nil then
      if spec.required then fail("%s needs the parameter '%s'", what, k) end
      out[k] = spec.default
    end
  end
  return out
end

------------------------------------------------------------------------
-- Faults

-- Keys every fault takes.
local COMMON = {
  dir = { T.one_of("up", "down", "both"), default = "both" },
  from = { T.number(0) },
  ["until"] = { T.number(0) },
  flows = { T.list_of_integers(1) },
  port = { T.integer(1, 65535) },
  p = { T.number(0, 1), default = 1 },
}

local fault_kinds = {}

local function define_fault(name, own, validate, common)
  local schema = {}
  for k, v in pairs(common or COMMON) do schema[k] = v end
  for k, v in pairs(own) do schema[k] = v end
  fault_kinds[name] = true
  fw[name] = function(args)
    local what = "fw." .. name
    local f = check_params(what, args, schema)
    if f.from and f["until"] and f["until"] <= f.from then
      fail("%s: 'until' (%s) must be later than 'from' (%s)", what, f["until"], f.from)
    end
    if validate then
      local problem = validate(f)
      if problem then fail("%s: %s", what, problem) end
    end
    f._kind = "fault"
    f.type = name
    f.where = caller_where()
    return f
  end
end

define_fault("reset", {
  after_bytes = { T.integer(0) },
  after_ms = { T.number(0) },
  to = { T.one_of("client", "server", "both"), default = "both" },
})
define_fault("refuse", {})
define_fault("unreachable", {
  code = { T.one_of("host", "net", "port", "admin"), default = "host" },
})
define_fault("blackhole", {})
define_fault("loss", {
  p = { T.number(0, 1), required = true },
  model = { T.one_of("random", "gilbert"), default = "random" },
  r = { T.number(0, 1) },
  loss_good = { T.number(0, 1), default = 0 },
  loss_bad = { T.number(0, 1), default = 1 },
}, function(f)
  if f.model == "gilbert" and f.r == nil then
    return "the Gilbert-Elliott model needs r, the chance per packet to leave the bad state"
  end
  if f.model == "random" and f.r ~= nil then
    return "r only means something with model = \"gilbert\""
  end
end)
define_fault("delay", {
  ms = { T.number(0), required = true },
  jitter_ms = { T.number(0), default = 0 },
})
define_fault("reorder", {
  p = { T.number(0, 1), required = true },
  ms = { T.number(0), default = 10 },
})
define_fault("rate", {
  kbit = { T.number(1), required = true },
  shared = { T.boolean, default = false },
})
define_fault("truncate", {
  after_bytes = { T.integer(0), required = true },
})
define_fault("conn_cap", {
  max = { T.integer(0), required = true },
  per = { T.one_of("source", "global"), default = "source" },
  action = { T.one_of("refuse", "reset", "blackhole"), default = "refuse" },
  after_bytes = { T.integer(0) },
}, function(f)
  if f.after_bytes and f.action ~= "reset" then
    return "after_bytes only applies with action = \"reset\""
  end
end)
define_fault("block", {
  action = { T.one_of("refuse", "blackhole", "http403"), default = "refuse" },
})
define_fault("rate_block", {
  conns = { T.integer(1), required = true },
  within_s = { T.number(0.001), required = true },
  block_s = { T.number(0.001), required = true },
  action = { T.one_of("refuse", "blackhole", "http403"), default = "refuse" },
})
define_fault("mtu", {
  bytes = { T.integer(68, 65535), required = true },
  icmp = { T.boolean, default = false },
})
define_fault("duplicate", {
  p = { T.number(0, 1), required = true },
})
define_fault("corrupt", {
  p = { T.number(0, 1), required = true },
  checksum = { T.one_of("fix", "break"), default = "fix" },
})
define_fault("match", {
  pattern = { T.string, required = true },
  action = { T.one_of("reset", "blackhole"), default = "reset" },
}, function(f)
  if #f.pattern == 0 or #f.pattern > 255 then return "pattern must be 1 to 255 bytes long" end
end)
define_fault("router_restart", {
  at = { T.number(0), required = true },
  down_s = { T.number(0.001), required = true },
}, function(f)
  if f.from or f["until"] then return "the outage is given by 'at' and 'down_s', not 'from'/'until'" end
end)
define_fault("hook", {
  on_packet = { T.func },
  on_flow = { T.func },
}, function(f)
  if not f.on_packet and not f.on_flow then return "give on_packet, on_flow or both" end
end)

-- DNS faults act in the built-in DNS server (dns = fw.dns{}), per query.
local DNS_COMMON = {
  from = { T.number(0) },
  ["until"] = { T.number(0) },
  p = { T.number(0, 1), default = 1 },
}

local function define_dns_fault(name, own, validate)
  define_fault(name, own, validate, DNS_COMMON)
end

define_dns_fault("dns_fail", {
  rcode = { T.one_of("SERVFAIL", "NXDOMAIN", "timeout"), default = "SERVFAIL" },
})
define_dns_fault("dns_wrong", {
  addr = { T.string, required = true },
}, function(f)
  local a, b, c, d = f.addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local v4 = a and tonumber(a) < 256 and tonumber(b) < 256 and tonumber(c) < 256 and tonumber(d) < 256
  local v6 = f.addr:find(":", 1, true)
  if not v4 and not v6 then return "addr must be an IPv4 or IPv6 address, got " .. describe(f.addr) end
end)

function fw.dns(args)
  local s = check_params("fw.dns", args or {}, {})
  s._kind = "dns"
  s.where = caller_where()
  return s
end

-- A timed action: fn runs at `seconds` after the client started, on the
-- engine's thread, between packets. It goes in the faults list.
function fw.at(seconds, fn)
  if type(seconds) ~= "number" or seconds < 0 then
    fail("fw.at expects a time in seconds >= 0 first; got %s", describe(seconds))
  end
  if type(fn) ~= "function" then
    fail("fw.at expects a function second, as in fw.at(2, function() ... end); got %s", type(fn))
  end
  return { _kind = "fault", type = "at", at = seconds, fn = fn, where = caller_where() }
end

define_fault("idle_timeout", {
  after_s = { T.number(0.001), required = true },
  action = { T.one_of("reset", "blackhole"), default = "reset" },
})

------------------------------------------------------------------------
-- Servers

function fw.http(args)
  local s = check_params("fw.http", args or {}, {
    port = { T.integer(1, 65535), default = 80 },
  })
  s._kind = "server"
  s.type = "http"
  s.where = caller_where()
  return s
end

-- A TCP server that sends back every byte it gets.
function fw.tcp_echo(args)
  local s = check_params("fw.tcp_echo", args or {}, {
    port = { T.integer(1, 65535), default = 7 },
  })
  s._kind = "server"
  s.type = "tcp_echo"
  s.where = caller_where()
  return s
end

-- Your own server program, run in the server's namespace for the run.
function fw.command(args)
  local s = check_params("fw.command", args, {
    argv = { T.string_or_argv, required = true },
    port = { T.integer(1, 65535), required = true },
    proto = { T.one_of("tcp", "udp"), default = "tcp" },
  })
  s._kind = "server"
  s.type = "command"
  s.where = caller_where()
  return s
end

------------------------------------------------------------------------
-- Expectations. Each carries `evaluate(self, run)` returning ok, detail.

local function first_fault(run)
  return run.faults[1]
end

local function seconds(ms)
  return string.format("%.2f s", (ms or 0) / 1000)
end

local function tail(text, n)
  text = (text or ""):gsub("%s+$", "")
  local last = text:match("([^\n]*)$") or ""
  if #last > n then last = last:sub(1, n) .. "..." end
  return last
end

-- What the client did, in a few words, for failure messages.
local function client_summary(run)
  local c = run.client
  local s
  if c.signal ~= nil then
    s = "was killed by " .. tostring(c.signal)
  elseif c.exit_code == nil then
    s = "did not start"
  else
    s = "exited " .. tostring(c.exit_code)
  end
  if c.timed_out then s = s .. " after the " .. seconds(c.duration_ms) .. " timeout" else
    s = s .. " at " .. seconds(c.duration_ms) end
  local err = tail(c.stderr_tail, 120)
  if err ~= "" then s = s .. " (stderr: '" .. err .. "')" end
  return s
end

local function text_matches(text, pattern)
  text = text or ""
  if text:lower():find(pattern:lower(), 1, true) then return true end
  local ok, found = pcall(string.find, text, pattern)
  return ok and found ~= nil
end

local function define_expect(name, schema, evaluate, validate)
  fw[name] = function(args)
    local what = "fw." .. name
    local e = check_params(what, args or {}, schema)
    if validate then
      local problem = validate(e)
      if problem then fail("%s: %s", what, problem) end
    end
    e._kind = "expect"
    e.type = name
    e.where = caller_where()
    e.evaluate = evaluate
    return e
  end
end

define_expect("recovered", {
  file = { T.string, required = true },
  path = { T.string },
}, function(e, run)
  local c = run.client
  local path = e.path
  if not path then
    local first = run.server.requests[1]
    if not first then return false, "the server got no request, so there is nothing to compare " .. e.file .. " with" end
    path = first.path
  end
  local same, how = native.compare_served(run.workdir .. "/" .. e.file, path, run.seed)
  if c.exit_code ~= 0 then
    return false, "the client " .. client_summary(run) .. "; " .. e.file .. ": " .. how
  end
  if not same then
    return false, "the client exited 0 but " .. e.file .. " is not what the server serves at " .. path .. ": " .. how
  end
  return true, "exit 0 and " .. e.file .. " equals " .. path .. " (" .. how .. ")"
end)

define_expect("reported", {
  stderr = { T.string },
  stdout = { T.string },
  within_s = { T.number(0) },
}, function(e, run)
  local c = run.client
  if c.exit_code == 0 then
    return false, "the client exited 0: it did not report the failure" ..
      (tail(c.stderr_tail, 1) == "" and " (stderr is empty)" or "")
  end
  if c.exit_code == nil then
    return false, "the client " .. client_summary(run) .. ": a crash or a timeout is not a report"
  end
  local said = {}
  if e.stderr then
    if not text_matches(c.stderr_tail, e.stderr) then
      return false, "exit " .. c.exit_code .. ", but stderr does not mention '" .. e.stderr ..
        "' (stderr: '" .. tail(c.stderr_tail, 160) .. "')"
    end
    said[#said + 1] = "stderr matched '" .. e.stderr .. "'"
  end
  if e.stdout then
    if not text_matches(c.stdout_tail, e.stdout) then
      return false, "exit " .. c.exit_code .. ", but stdout does not mention '" .. e.stdout ..
        "' (stdout: '" .. tail(c.stdout_tail, 160) .. "')"
    end
    said[#said + 1] = "stdout matched '" .. e.stdout .. "'"
  end
  if e.within_s then
    local f = first_fault(run)
    local since = c.duration_ms - (f and f.t_ms or 0)
    if since > e.within_s * 1000 then
      return false, string.format("the client reported %.2f s after the first fault, later than %s s",
        since / 1000, e.within_s)
    end
    said[#said + 1] = string.format("%.2f s after the first fault", since / 1000)
  end
  local detail = "exit " .. c.exit_code
  if #said > 0 then detail = detail .. ", " .. table.concat(said, ", ") end
  return true, detail
end)

-- Connections opened after the first fault, with their opening times: the
-- flows numbered after those the middlebox had seen when the fault fired.
local function retries(run)
  local f = first_fault(run)
  local after = f and f.t_ms or 0
  local seen = f and f.flows_seen
  if not f then seen = 0 end
  local list = {}
  for _, flow in ipairs(run.flows) do
    local later
    if seen then later = flow.id > seen
    else later = flow.opened_ms > after end  -- a record without flows_seen (older, or hand-made)
    -- A flow first seen without its SYN is an old connection's late
    -- packet, not a new attempt.
    if flow.proto == "tcp" and later and not flow.midstream then list[#list + 1] = flow.opened_ms end
  end
  return list, after, f
end

define_expect("retried", {
  min = { T.integer(0), default = 1 },
  max = { T.integer(0) },
  backoff = { T.one_of("exponential") },
  min_gap_ms = { T.number(0) },
}, function(e, run)
  local opened, after, f = retries(run)
  local n = #opened
  local when = f and ("after the " .. f.fault .. " at " .. seconds(f.t_ms)) or "(no fault fired)"
  local range = e.max and (e.min .. ".." .. e.max) or (">= " .. e.min)
  if n < e.min or (e.max and n > e.max) then
    return false, string.format("expected %s new connection(s) %s; the client opened %d and %s",
      range, when, n, client_summary(run))
  end
  local gaps, previous = {}, after
  for i, t in ipairs(opened) do gaps[i] = t - previous; previous = t end
  if e.min_gap_ms then
    for i, g in ipairs(gaps) do
      if g < e.min_gap_ms then
        return false, string.format("retry %d came %.0f ms after the previous attempt; expected >= %s ms",
          i, g, e.min_gap_ms)
      end
    end
  end
  if e.backoff == "exponential" then
    if n < 2 then
      return false, "exponential backoff needs at least 2 retries to be seen; the client made " .. n
    end
    for i = 2, #gaps do
      -- Allow timer slack: each wait at least 1.5 times the one before.
      if gaps[i] < gaps[i - 1] * 1.5 then
        return false, string.format("no exponential backoff: wait %d was %.0f ms after a wait of %.0f ms",
          i, gaps[i], gaps[i - 1])
      end
    end
  end
  local shown = {}
  for i, g in ipairs(gaps) do shown[i] = string.format("%.0f", g) end
  return true, string.format("%d new connection(s) %s%s", n, when,
    n > 0 and (", waits " .. table.concat(shown, "/") .. " ms") or "")
end)

define_expect("resumed", {}, function(_, run)
  local f = first_fault(run)
  if not f then return false, "no fault fired, so there was nothing to resume from" end
  local first_after
  for _, req in ipairs(run.server.requests) do
    if req.t_ms >= f.t_ms and (req.flow == nil or f.flows_seen == nil or req.flow > f.flows_seen) then
      first_after = first_after or req
      local from = req.range and req.range:match("^bytes=(%d+)%-")
      if from and tonumber(from) > 0 then
        return true, string.format("%s %s with Range %s at %s, after the %s at %s", req.method, req.path,
          req.range, seconds(req.t_ms), f.fault, seconds(f.t_ms))
      end
    end
  end
  if first_after then
    return false, string.format("after the %s at %s the client asked for %s again without a Range: it started over",
      f.fault, seconds(f.t_ms), first_after.path)
  end
  return false, "after the " .. f.fault .. " at " .. seconds(f.t_ms) ..
    " the client made no new request; it " .. client_summary(run)
end)

-- Most connections open at once, from the flows' open and close times.
local function peak_concurrency(run)
  local events = {}
  local last = run.client.duration_ms or 0
  for _, flow in ipairs(run.flows) do
    if flow.proto == "tcp" then
      events[#events + 1] = { flow.opened_ms, 1 }
      events[#events + 1] = { flow.closed_ms or math.max(last, flow.opened_ms), -1 }
    end
  end
  -- At the same millisecond a close comes before an open.
  table.sort(events, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
  local now, peak, at = 0, 0, 0
  for _, ev in ipairs(events) do
    now = now + ev[2]
    if now > peak then peak, at = now, ev[1] end
  end
  return peak, at
end

define_expect("max_concurrent", {
  max = { T.integer(1), required = true },
}, function(e, run)
  local peak, at = peak_concurrency(run)
  if peak > e.max then
    return false, string.format("the client held %d connections at once (at %s); at most %d allowed",
      peak, seconds(at), e.max)
  end
  return true, string.format("at most %d connection(s) at once", peak)
end)

define_expect("exit", {
  code = { T.number_or_list, required = true },
}, function(e, run)
  local codes = type(e.code) == "table" and e.code or { e.code }
  for _, c in ipairs(codes) do
    if run.client.exit_code == c then return true, "exit " .. c end
  end
  local want = {}
  for i, c in ipairs(codes) do want[i] = tostring(c) end
  return false, "expected exit " .. table.concat(want, " or ") .. "; the client " .. client_summary(run)
end)

define_expect("finished_within", {
  s = { T.number(0), required = true },
}, function(e, run)
  local c = run.client
  if c.timed_out then
    return false, "the client hung: it was stopped at the " .. seconds(c.duration_ms) .. " timeout"
  end
  if c.duration_ms > e.s * 1000 then
    return false, string.format("the client took %s, longer than %s s", seconds(c.duration_ms), e.s)
  end
  return true, "finished in " .. seconds(c.duration_ms)
end)

function fw.check(fn, description)
  if type(fn) ~= "function" then
    fail("fw.check expects a function(run) returning ok, why; got %s", type(fn))
  end
  if description ~= nil and type(description) ~= "string" then
    fail("fw.check's second argument is a description string; got %s", type(description))
  end
  return {
    _kind = "expect", type = "check", where = caller_where(), description = description,
    evaluate = function(_, run)
      local ok, why = fn(run)
      if why == nil then why = ok and "the check held" or "the check returned false" end
      return ok and true or false, tostring(why)
    end,
  }
end

------------------------------------------------------------------------
-- The scenario

local scenario_schema = {
  name = { T.string, required = true },
  about = { T.string, default = "" },
  seed = { T.integer(0) },
  timeout = { T.number(0.001) },
  server = { function(v) if type(v) ~= "table" or v._kind ~= "server" then return "a server such as fw.http{port = 80}" end end },
  client = { T.string_or_argv },
  faults = { function(v) if type(v) ~= "table" then return "a list of faults, e.g. {fw.reset{after_bytes = 1024}}" end end, default = {} },
  dns = { function(v) if type(v) ~= "table" or v._kind ~= "dns" then return "the built-in DNS server, fw.dns{}" end end },
  expect = { function(v) if type(v) ~= "table" then return "a list of expectations, e.g. {fw.reported{stderr = \"reset\"}}" end end, default = {} },
}

local function check_list(list, kind, field, example)
  local n = #list
  for k in pairs(list) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      fail("%s must be a list; it has the key %s", field, describe(k))
    end
  end
  for i, item in ipairs(list) do
    if type(item) == "function" then
      fail("%s[%d] is a function: did you forget the braces, as in %s?", field, i, example)
    end
    if type(item) ~= "table" or item._kind ~= kind then
      fail("%s[%d] must be a %s made by fw (e.g. %s), got %s", field, i, kind, example, describe(item))
    end
  end
end

function fw.scenario(args)
  local s = check_params("fw.scenario", args, scenario_schema)
  check_list(s.faults, "fault", "faults", "fw.reset{after_bytes = 1024}")
  check_list(s.expect, "expect", "expect", "fw.reported{stderr = \"reset\"}")
  if #s.faults > 32 then fail("a scenario may have at most 32 faults; this one has %d", #s.faults) end
  if not s.server then s.server = { _kind = "server", type = "http", port = 80 } end
  for _, f in ipairs(s.faults) do
    if f.action == "http403" and s.server.type ~= "http" then
      fail("fw.%s (%s) with action = \"http403\" needs the built-in HTTP server (server = fw.http{}): "
        .. "only it can answer 403", f.type, f.where)
    end
    if (f.type == "dns_fail" or f.type == "dns_wrong") and not s.dns then
      fail("fw.%s (%s) acts in the built-in DNS server: add dns = fw.dns{} to the scenario", f.type, f.where)
    end
  end
  s._kind = "scenario"
  s.where = caller_where()
  return s
end

-- Evaluate every expectation of scenario s over the run record.
-- Returns a list of { name, ok, detail, where }.
function fw._evaluate(s, run)
  local results = {}
  for i, e in ipairs(s.expect) do
    local ok, detail = e:evaluate(run)
    local name = e.description and (e.type .. ": " .. e.description) or e.type
    results[i] = { name = name, ok = ok, detail = detail, where = e.where }
  end
  return results
end

-- Through C, so that a tail call (`return fw.scenario{...}`) keeps the
-- scenario's frame, and its messages and `where` name its line.
for k, v in pairs(fw) do
  if type(v) == "function" and k:sub(1, 1) ~= "_" then fw[k] = native.keep_caller(v) end
end

-- Unknown names are mistakes: say so instead of "attempt to call a nil value".
local known_names = sorted_keys(fw)
return setmetatable(fw, {
  __index = function(_, k)
    if type(k) == "string" and k:sub(1, 1) ~= "_" then
      fail("faultwire has no '%s'%s", k, suggestion(k, known_names))
    end
  end,
})
