-- wrk script: POST MCP tools/call over keep-alive connections, one MCP session per wrk thread.
--
--   wrk -t1 -c16 -d3s --latency -s bench/wrk_tools_call.lua http://127.0.0.1:PORT/mcp -- \
--       PROTOCOL_VERSION SESSION_ID_THREAD_1 [SESSION_ID_THREAD_2 ...]
--
-- A session id of "-" sends no Mcp-Session-Id header. Requests are pre-built in init() with IDS distinct
-- ids, so a stateful server that routes replies by id never sees two in-flight requests with one id.
-- A reply counts as bad unless it is HTTP 200 with a JSON-RPC "result" (wrk itself counts only >= 400).
-- done() prints one JSON line starting with "WRK_RESULT " for bench/wrk_load.py.

local IDS = 1000
local CALL = '{"jsonrpc":"2.0","id":%d,"method":"tools/call",'
          .. '"params":{"name":"get_repo","arguments":{"owner":"octocat","repo":"hello-world"}}}'

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count)
   table.insert(threads, thread)
end

function init(args)
   local session = args[1 + thread_index] or args[2]
   local headers = {["Content-Type"] = "application/json",
                    ["Accept"] = "application/json, text/event-stream",
                    ["MCP-Protocol-Version"] = args[1]}
   if session ~= nil and session ~= "-" then
      headers["Mcp-Session-Id"] = session
   end
   requests_ = {}
   for i = 1, IDS do
      requests_[i] = wrk.format("POST", wrk.path, headers, string.format(CALL, i))
   end
   next_ = 0
   bad = 0
   bad_status = 0
end

function request()
   next_ = next_ % IDS + 1
   return requests_[next_]
end

function response(status, headers, body)
   if status ~= 200 then
      bad = bad + 1
      bad_status = status
   elseif not string.find(body, '"result"', 1, true) then
      bad = bad + 1
   end
end

function done(summary, latency, requests)
   local bad_total, last_status = 0, 0
   for _, thread in ipairs(threads) do
      bad_total = bad_total + thread:get("bad")
      if thread:get("bad_status") ~= 0 then last_status = thread:get("bad_status") end
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_us":%d,"bad_replies":%d,"last_bad_status":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
      summary.requests, summary.duration, bad_total, last_status,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
