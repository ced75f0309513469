-- What the wrk scripts here share, loaded with dofile("bench/cycle.lua")
-- (wrk runs from the repository root, as bench/run.sh does).
--
-- Each script fills the global `requests` in its init, which wrk calls
-- once per thread: only then does wrk.headers hold the Host header that
-- wrk.format copies into each request. Building every request once keeps
-- wrk's own Lua work out of the result; request() cycles through them.

requests = {}

local n = 0
function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end

-- socket_errors counts the requests that got no answer: failed
-- connections, reads and writes, and timeouts.
function socket_errors(summary)
  return summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
end

-- Print how many answers were not 2xx/3xx: a 503 means the collector
-- refused hits (spool full), which must not count as throughput. A script
-- that wants more defines its own done after loading this file.
function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx responses: %d, socket errors: %d\n",
    summary.errors.status, socket_errors(summary)))
end
