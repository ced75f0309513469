-- wrk script for the soak test: bench/pixel.lua's requests, paced. Each
-- connection waits SOAK_DELAY_MS between its requests, so that
-- connections × 1000 / delay is the offered rate (bench/soak.sh computes
-- the delay from the measured maximum).

dofile("bench/pixel.lua")

local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "0")

function delay()
  return pause
end
