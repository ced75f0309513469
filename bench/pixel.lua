-- wrk script: the no-JS pixel as a browser on a marketing page sends it.
--
--   wrk -t2 -c64 -d30s -s bench/pixel.lua http://127.0.0.1:8090
--
-- Requests cycle through a few page paths (so not every request is the
-- same bytes) on the site "demo" with host example.com, a Google referrer
-- and a 1440px viewport, with the headers of a current desktop Chrome.

dofile("bench/cycle.lua")

local paths = {
  "%2Fpricing%3Futm_source%3Dnewsletter",
  "%2Fpricing%3Futm_source%3Dnewsletter%26utm_medium%3Demail",
  "%2F",
  "%2Fblog%2Fprivacy-first-analytics",
  "%2Fdocs%2Fgetting-started%23install",
  "%2Ffeatures%3Fref%3Dproducthunt",
  "%2Fpricing",
  "%2Fabout",
}

local headers = {
  ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
  ["Accept"] = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
  ["Accept-Language"] = "en-US,en;q=0.9",
  ["Accept-Encoding"] = "gzip, deflate, br, zstd",
  ["Referer"] = "https://example.com/",
  ["Sec-Fetch-Dest"] = "image",
  ["Sec-Fetch-Mode"] = "no-cors",
  ["Sec-Fetch-Site"] = "cross-site",
}

function init(args)
  for i, p in ipairs(paths) do
    requests[i] = wrk.format("GET",
      "/p.gif?s=demo&u=https%3A%2F%2Fexample.com" .. p ..
      "&r=https%3A%2F%2Fwww.google.com%2F&w=1440", headers)
  end
end
