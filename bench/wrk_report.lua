-- Prints one machine-readable line at the end of a wrk run (latencies in µs).
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT p50=%d p90=%d p99=%d mean=%.1f rps=%.1f requests=%d errors=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    summary.requests / (summary.duration / 1e6), summary.requests, errors))
end
