-- Appended by run.sh to every case's script (and used alone for nginx's plain runs): prints the
-- latency percentiles in microseconds, p99.9 included, which wrk's --latency table lacks, and
-- then the case's own `report`, if it has one.
function done(summary, latency, requests)
  io.write(string.format("percentiles (us): p50 %.0f p99 %.0f p99.9 %.0f\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  if report then report(summary, latency, requests) end
end
