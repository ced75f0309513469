-- wrk script: email opens of the campaign "bench" as mail clients fetch
-- them, one recipient token per request out of a few thousand.
--
--   wrk -t2 -c64 -d30s -s bench/open.lua http://127.0.0.1:8090
--
-- The campaign must exist (bench/run.sh creates it with
-- `mote campaign create --id bench`); an unknown campaign would be
-- answered the same GIF but store nothing.

dofile("bench/cycle.lua")

local agents = {
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
  "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
  "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
}

function init(args)
  for i = 1, 4096 do
    requests[i] = wrk.format("GET", string.format("/o/bench/sub-%05d.gif", i), {
      ["User-Agent"] = agents[(i % #agents) + 1],
      ["Accept"] = "image/avif,image/webp,image/png,image/*;q=0.8,*/*;q=0.5",
    })
  end
end
