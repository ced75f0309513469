-- wrk script: dashboard users on the stats API, each request one of the
-- calls a dashboard load makes for the last 30 days of site "demo": the
-- metric cards, the chart, three breakdowns and the realtime counter.
--
--   wrk -t2 -c20 -d40s --timeout 60s --latency -s bench/api.lua http://127.0.0.1:8081
--
-- The admin listener must answer without a password (loopback, no
-- admin.password_hash). done() prints the p95, which wrk's --latency
-- table lacks.

dofile("bench/cycle.lua")

local paths = {
  "/api/v1/stats/aggregate?site=demo&period=30d",
  "/api/v1/stats/timeseries?site=demo&period=30d&metrics=visitors",
  "/api/v1/stats/breakdown?site=demo&period=30d&property=page&limit=10",
  "/api/v1/stats/breakdown?site=demo&period=30d&property=source&limit=10",
  "/api/v1/stats/breakdown?site=demo&period=30d&property=country&limit=10",
  "/api/v1/stats/realtime?site=demo",
}

function init(args)
  for i, p in ipairs(paths) do
    requests[i] = wrk.format("GET", p)
  end
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, non-2xx/3xx %d, socket errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, socket_errors(summary)))
end
