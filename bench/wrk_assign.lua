-- wrk script for `make bench`: POST /v1/assign with keep-alive, a new record each request.
--   wrk ... -s bench/wrk_assign.lua URL -- TAG KEY
-- TAG makes record ids unique across runs (TAG-THREAD-N); KEY is the bearer key.
-- ROTA_WRK_DELAY_MS (environment), when set, paces each connection: it waits that many
-- milliseconds on average (random between floor and ceil) before each request, for an
-- approximately fixed rate below the peak (wrk2 is not packaged).
-- done() prints one line "JSON {...}" with the counts and latency percentiles in µs.
local threads = {}
local counter = 0
local prefix = "r-0-"

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  prefix = (args[1] or "r") .. "-" .. tostring(tid) .. "-"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  math.randomseed(1000 + tid)
end

-- ROTA_WRK_DRY_RUN=1 (environment) asks for dry runs: decided, not stored.
local dry = os.getenv("ROTA_WRK_DRY_RUN") == "1"

function request()
  counter = counter + 1
  local body = '{"object_type":"lead","event":"created",' .. (dry and '"dry_run":true,' or '') ..
               '"record":{"id":"' .. prefix .. counter .. '","properties":{"source":"web"}}}'
  return wrk.format("POST", "/v1/assign", nil, body)
end

local pace = tonumber(os.getenv("ROTA_WRK_DELAY_MS") or "")
if pace and pace > 0 then
  local lo = math.floor(pace)
  local frac = pace - lo
  function delay()
    if math.random() < frac then return lo + 1 end
    return lo
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
