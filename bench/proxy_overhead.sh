#!/usr/bin/env bash
# `llmauth proxy start` against its baselines, side by side in one run (SPEC §10):
#   direct  — wrk straight to the loopback HTTPS gateway, with the bearer token itself
#   nginx   — nginx proxy_pass with a static Authorization header (proxy_buffering off,
#             upstream keepalive), plain HTTP on loopback, like the llmauth proxy
#   llmauth — `llmauth proxy start` (release build; one worker thread per core, the default,
#             or LLMAUTH_PROXY_THREADS), with the local key
# All three reach the same upstream: the test gateway of `test-idp` (TLS, JWT checked on
# every request), GET /echo; SSE from its timestamped /sse.
# Measured, interleaved A B C A B C for $ROUNDS rounds; every figure is also computed per
# round (against direct, or nginx, of the same round) and reported as the median of the
# rounds with their spread:
#   1. latency on 1 keep-alive connection (bench/latency_probe.py; wrk's latency
#      percentiles are unreliable here): p50 / p99, added over direct; plus wrk -c1's
#      request rate, whose inverse is the mean time per request
#   2. throughput on 32 connections (wrk -c32): requests/s, llmauth / nginx, and CPU time
#      each proxy spends per request
#   3. per-SSE-event delay (gateway write → client read), added over direct; coalescing;
#      also through bench/tcp_relay.py, a process that only copies bytes: what one more
#      hop costs on this machine whatever it does; and, where perf can record system calls,
#      the proxies' own part — from the read that brings an event in to the write that
#      sends it on (bench/forwarding_delay.py), what SPEC §10's "≤ 30 µs after it arrives"
#      measures
#   4. llmauth RSS: idle, and with 1,000 concurrent open streams (nginx for reference)
# wrk is pinned to CPU 0 and the upstream to CPU 1 (override with WRK_CPU / UPSTREAM_CPU);
# the proxies are not pinned. Results: stdout (Markdown) and $OUT/proxy_overhead.json.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk python3 taskset; do
  command -v "$tool" >/dev/null || { echo "install $tool" >&2; exit 1; }
done
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || { echo "install nginx (or set NGINX=/path/to/nginx)" >&2; exit 1; }
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
PROBE_REQUESTS=${PROBE_REQUESTS:-5000}
SSE_EVENTS=${SSE_EVENTS:-100}
STREAMS=${STREAMS:-1000}
WRK_CPU=${WRK_CPU:-0}
UPSTREAM_CPU=${UPSTREAM_CPU:-1}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet -p llmauth --bin llmauth
cargo build --release --quiet -p llmauth-tests --bin test-idp --bin fake-browser
BIN=$PWD/target/release
BENCH=$PWD/bench

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- upstream: test IdP + gateway, pinned -------------------------------------------------
mkfifo "$work/idp.stdin"
sleep 100000 > "$work/idp.stdin" & pids+=($!)
taskset -c "$UPSTREAM_CPU" "$BIN/test-idp" --ca-dir "$work" --token-lifetime 7200 \
  < "$work/idp.stdin" > "$work/idp.json" 2> "$work/idp.err" & pids+=($!)
for _ in $(seq 100); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
field() { python3 -c "import json; print(json.load(open('$work/idp.json'))['$1'])"; }
issuer=$(field issuer); gateway=$(field gateway); ca=$(field ca_file)
gw_hostport=${gateway#https://}

# --- llmauth: configured, signed in, proxy started ------------------------------------------
export LLMAUTH_CONFIG=$work/config.yaml LLMAUTH_STATE_DIR=$work/state XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR"
"$BIN/llmauth" config set --gateway-url "$gateway" --issuer "$issuer" --client-id llmauth-test \
  --ca-file "$ca" --callback-port 0 --secrets-backend file 2>/dev/null
BROWSER=$BIN/fake-browser FAKE_BROWSER_LOG=$work/browser.log LLMAUTH_TEST_CA=$ca \
  "$BIN/llmauth" login 2>/dev/null </dev/null
token=$("$BIN/llmauth" token)
key=$("$BIN/llmauth" proxy key)
"$BIN/llmauth" proxy start --port 0 > "$work/proxy.out" 2> "$work/proxy.err" & proxy_pid=$!
pids+=($proxy_pid)
for _ in $(seq 100); do [ -s "$work/proxy.out" ] && break; sleep 0.1; done
llmauth_port=$(sed -n 's|^llmauth proxy listening on http://127.0.0.1:||p' "$work/proxy.out")
[ -n "$llmauth_port" ] || { cat "$work/proxy.err" >&2; exit 1; }

# --- nginx: same upstream, static Authorization header --------------------------------------
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
chmod 777 "$work/nginx/tmp"
cat > "$work/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  # nginx closes a keep-alive connection after 1,000 requests by default (client and
  # upstream side); raised so nginx is measured at its best, as llmauth has no such limit.
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  upstream gateway { server $gw_hostport; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass https://gateway;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $gw_hostport;
      proxy_set_header Authorization "Bearer $token";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_ssl_session_reuse on;
      proxy_read_timeout 300s;
    }
  }
}
EOF
"$NGINX" -p "$work/nginx" -c "$work/nginx.conf" 2> "$work/nginx/stderr" & nginx_pid=$!
pids+=($nginx_pid)
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$nginx_port/echo" && break; sleep 0.1
done

direct_url="$gateway/echo";           direct_hdr="Authorization: Bearer $token"
nginx_url="http://127.0.0.1:$nginx_port/echo"; nginx_hdr="X-Nothing: 1"
llmauth_url="http://127.0.0.1:$llmauth_port/echo"; llmauth_hdr="x-api-key: $key"
for v in direct nginx llmauth; do
  url=${v}_url; hdr=${v}_hdr
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" -H "${!hdr}" "${!url}")
  [ "$code" = 200 ] || { echo "$v answers $code" >&2; exit 1; }
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
nginx_rss_kib() {
  local total=0 pid
  for pid in $nginx_pid $(pgrep -P "$nginx_pid"); do total=$((total + $(rss_kib "$pid"))); done
  echo $total
}
idle_rss_start=$(rss_kib $proxy_pid)

cpu_ticks() { # pids... -> utime + stime, in clock ticks
  local pid total=0
  for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo $total
}
proxy_pids() { # variant -> the processes doing the proxying
  case $1 in
    direct) echo "" ;;
    nginx) pgrep -P "$nginx_pid" | tr '\n' ' ' ;;
    llmauth) echo "$proxy_pid" ;;
  esac
}
wrk_once() { # variant connections seconds -> RESULT line, with the proxy's CPU ticks
  local url=${1}_url hdr=${1}_hdr threads=1 pids before after
  [ "$2" -gt 1 ] && threads=2
  pids=$(proxy_pids "$1")
  before=$(cpu_ticks $pids)
  local line
  line=$(taskset -c "$WRK_CPU" wrk -t"$threads" -c"$2" -d"${3}s" -s "$BENCH/wrk_report.lua" \
    -H "${!hdr}" "${!url}" | grep '^RESULT')
  after=$(cpu_ticks $pids)
  echo "$line cpu_ticks=$((after - before))"
}
probe_once() { # variant -> latency JSON
  case $1 in
    direct) python3 "$BENCH/latency_probe.py" "$direct_url" "$PROBE_REQUESTS" --cafile "$ca" --header "$direct_hdr" ;;
    nginx) python3 "$BENCH/latency_probe.py" "$nginx_url" "$PROBE_REQUESTS" ;;
    llmauth) python3 "$BENCH/latency_probe.py" "$llmauth_url" "$PROBE_REQUESTS" --header "$llmauth_hdr" ;;
  esac
}
results=$work/results.txt
: > "$results"
for round in $(seq "$ROUNDS"); do
  for v in direct nginx llmauth; do
    echo "probe round=$round variant=$v $(probe_once "$v")" >> "$results"
  done
  for connections in 1 32; do
    for v in direct nginx llmauth; do
      wrk_once "$v" "$connections" 1 > /dev/null # warm-up: connections, pools
      line=$(wrk_once "$v" "$connections" "$SECONDS_PER_RUN")
      echo "wrk round=$round c=$connections variant=$v $line" | tee -a "$results"
    done
  done
done

sse_path="/sse?events=$SSE_EVENTS&interval_ms=20"
perf_skip=""
if ! command -v perf >/dev/null; then
  perf_skip="perf is not installed (Debian: apt-get install linux-perf)"
elif ! perf record -q -o "$work/perf.check" -e syscalls:sys_enter_write -- true 2>/dev/null; then
  perf_skip="perf cannot record system call tracepoints here (root, or kernel.perf_event_paranoid ≤ 1)"
fi
# The floor under any proxy's SSE delay: one more process on the path that only copies
# bytes (bench/tcp_relay.py; the client still speaks TLS to the gateway through it).
coproc RELAY { exec python3 "$BENCH/tcp_relay.py" 127.0.0.1 "${gw_hostport##*:}"; }
pids+=($RELAY_PID)
read -r relay_port <&"${RELAY[0]}"
for round in $(seq "$ROUNDS"); do
  for v in direct relay nginx llmauth; do
    case $v in
      direct) out=$(python3 "$BENCH/sse_probe.py" "$gateway$sse_path" --cafile "$ca" --header "$direct_hdr") ;;
      relay) out=$(python3 "$BENCH/sse_probe.py" "https://127.0.0.1:$relay_port$sse_path" --cafile "$ca" --header "$direct_hdr") ;;
      nginx) out=$(python3 "$BENCH/sse_probe.py" "http://127.0.0.1:$nginx_port$sse_path") ;;
      llmauth) out=$(python3 "$BENCH/sse_probe.py" "http://127.0.0.1:$llmauth_port$sse_path" --header "$llmauth_hdr") ;;
    esac
    echo "sse round=$round variant=$v $out" >> "$results"
  done
  # The proxies' own part (SPEC §10: forwarded ≤ 30 µs after it arrives): a second stream
  # each, with their read and write system calls recorded (bench/forwarding_delay.py).
  for v in nginx llmauth; do
    [ -n "$perf_skip" ] && break
    sse_url=http://127.0.0.1:$nginx_port$sse_path sse_hdr="X-Nothing: 1"
    [ $v = llmauth ] && sse_url=http://127.0.0.1:$llmauth_port$sse_path sse_hdr=$llmauth_hdr
    traced=$(proxy_pids $v | tr -s ' ' ',' | sed 's/,$//')
    perf record -q -o "$work/perf.$v" -p "$traced" -e 'syscalls:sys_exit_read' \
      -e 'syscalls:sys_exit_readv' -e 'syscalls:sys_exit_recvfrom' -e 'syscalls:sys_enter_write' \
      -e 'syscalls:sys_enter_writev' -e 'syscalls:sys_enter_sendto' 2>/dev/null & perf_pid=$!
    sleep 0.5
    python3 "$BENCH/sse_probe.py" "$sse_url" --header "$sse_hdr" > /dev/null
    kill -INT $perf_pid; wait $perf_pid 2>/dev/null || true
    out=$(perf script -i "$work/perf.$v" 2>/dev/null | python3 "$BENCH/forwarding_delay.py")
    echo "forward round=$round variant=$v $out" >> "$results"
  done
done

idle_rss_after=$(rss_kib $proxy_pid)
hold() { # port header -> RSS of pid $3 (function name) with $STREAMS streams open
  local port=$1 header=$2 measure=$3
  local fifo=$work/hold.$port
  mkfifo "$fifo"
  sleep 100000 > "$fifo" & local keep=$!
  python3 "$BENCH/hold_streams.py" "$port" "$STREAMS" --header "$header" < "$fifo" > "$work/hold.out.$port" & local holder=$!
  for _ in $(seq 1200); do grep -q ready "$work/hold.out.$port" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$work/hold.out.$port" || { echo "streams did not open" >&2; exit 1; }
  sleep 2
  $measure
  kill $keep; wait $holder 2>/dev/null || true
}
streams_rss=$(hold "$llmauth_port" "$llmauth_hdr" "rss_kib $proxy_pid")
streams_nginx_rss=$(hold "$nginx_port" "X-Nothing: 1" nginx_rss_kib)

python3 - "$results" "$OUT/proxy_overhead.json" "$idle_rss_start" "$idle_rss_after" \
  "$streams_rss" "$streams_nginx_rss" "$STREAMS" "$(getconf CLK_TCK)" "$perf_skip" <<'PY'
import json, re, statistics, sys
results, out, idle_start, idle_after, streams_rss, streams_nginx, streams, hz, perf_skip = sys.argv[1:10]
wrk, sse, probe, forward = {}, {}, {}, {}
for line in open(results):
    kind = line.split(" ", 1)[0]
    v = re.search(r"variant=(\w+)", line).group(1)
    r = int(re.search(r"round=(\d+)", line).group(1))
    if kind == "wrk":
        c = int(re.search(r"c=(\d+)", line).group(1))
        vals = dict(re.findall(r"(\w+)=([\d.]+)", line.split("RESULT", 1)[1]))
        wrk[(c, v, r)] = {k: float(x) for k, x in vals.items()}
    elif kind == "sse":
        sse[(v, r)] = json.loads(line.split(" ", 3)[3])
    elif kind == "forward":
        forward[(v, r)] = json.loads(line.split(" ", 3)[3])["delays_us"]
    elif kind == "probe":
        probe[(v, r)] = json.loads(line.split(" ", 3)[3])["samples"]
rounds = sorted({r for (_, r) in probe})
med = statistics.median
def pct(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]
def spread(values, fmt):
    return f"{fmt(med(values))} ({fmt(min(values))} – {fmt(max(values))})"
V = ("direct", "nginx", "llmauth")
report = {"rounds": len(rounds)}
# 1. latency, per round
lat = {v: {r: {"p50": pct(probe[(v, r)], 0.5), "p99": pct(probe[(v, r)], 0.99)} for r in rounds} for v in V}
added = {v: {q: [lat[v][r][q] - lat["direct"][r][q] for r in rounds] for q in ("p50", "p99")} for v in V}
us1 = {v: [1e6 / wrk[(1, v, r)]["rps"] for r in rounds] for v in V}
report["latency_1conn_us"] = {v: {"p50": [lat[v][r]["p50"] for r in rounds], "p99": [lat[v][r]["p99"] for r in rounds],
                                  "added_p50": added[v]["p50"], "added_p99": added[v]["p99"],
                                  "wrk_c1_us_per_request": us1[v]} for v in V}
# 2. throughput, per round
rps = {v: [wrk[(32, v, r)]["rps"] for r in rounds] for v in V}
vs_nginx = {v: [rps[v][i] / rps["nginx"][i] for i in range(len(rounds))] for v in V}
cpu = {v: [wrk[(32, v, r)]["cpu_ticks"] * 1e6 / float(hz) / wrk[(32, v, r)]["requests"] for r in rounds] for v in V}
report["throughput_32conn"] = {v: {"rps": rps[v], "x_nginx": vs_nginx[v], "x_nginx_median": med(vs_nginx[v]),
                                   "cpu_us_per_request": cpu[v]} for v in V}
# 3. SSE, per round
VS = ("direct", "relay", "nginx", "llmauth")
sse_p50 = {v: [med(sse[(v, r)]["delays_us"]) for r in rounds] for v in VS}
sse_added = {v: [sse_p50[v][i] - sse_p50["direct"][i] for i in range(len(rounds))] for v in VS}
most = {v: max(sse[(v, r)]["max_events_per_read"] for r in rounds) for v in VS}
report["sse_delay_us"] = {v: {"p50": sse_p50[v], "added_p50": sse_added[v], "max_events_per_read": most[v]} for v in VS}
fwd = {v: [med(forward[(v, r)]) for r in rounds if forward.get((v, r))] for v in ("nginx", "llmauth")}
fwd_p90 = {v: [pct(forward[(v, r)], 0.9) for r in rounds if forward.get((v, r))] for v in ("nginx", "llmauth")}
report["forwarding_us"] = {v: {"p50": fwd[v], "p90": fwd_p90[v], "events": sum(len(forward.get((v, r), [])) for r in rounds)} for v in fwd}
report["rss_kib"] = {"llmauth_idle_start": int(idle_start), "llmauth_idle_after_load": int(idle_after),
                     f"llmauth_{streams}_streams": int(streams_rss), f"nginx_{streams}_streams": int(streams_nginx)}
report["wrk_errors"] = {f"c{c}_{v}_r{r}": x["errors"] for (c, v, r), x in wrk.items() if x["errors"]}
json.dump(report, open(out, "w"), indent=1)
f0 = lambda x: f"{x:.0f}"
fs = lambda x: f"{x:+.0f}"
f2 = lambda x: f"{x:.2f}"
f1 = lambda x: f"{x:.1f}"
print(f"\n{len(rounds)} rounds; each cell: median of the rounds (lowest – highest)\n")
print("| 1 connection (µs) | p50 | p99 | added p50 | added p99 | wrk -c1 µs/request |")
print("|---|---|---|---|---|---|")
for v in V:
    print(f"| {v} | {spread([lat[v][r]['p50'] for r in rounds], f0)} | {spread([lat[v][r]['p99'] for r in rounds], f0)} "
          f"| {spread(added[v]['p50'], fs)} | {spread(added[v]['p99'], fs)} | {spread(us1[v], f1)} |")
print("\n| 32 connections | requests/s | × nginx (per round) | proxy CPU µs/request |")
print("|---|---|---|---|")
for v in V:
    per = ", ".join(f"{x:.2f}" for x in vs_nginx[v])
    c = "—" if v == "direct" else spread(cpu[v], f1)
    print(f"| {v} | {spread(rps[v], f0)} | **{med(vs_nginx[v]):.2f}** ({per}) | {c} |")
print("\n| SSE event delay (µs) | p50 | added p50 | most events in one read |")
print("|---|---|---|---|")
for v in VS:
    print(f"| {v} | {spread(sse_p50[v], f0)} | {spread(sse_added[v], fs)} | {most[v]} |")
if all(fwd.values()):
    print("\n| SSE forwarding inside the proxy (µs, read → write) | p50 | p90 | events |")
    print("|---|---|---|---|")
    for v in fwd:
        print(f"| {v} | {spread(fwd[v], f0)} | {spread(fwd_p90[v], f0)} | {report['forwarding_us'][v]['events']} |")
else:
    print(f"\nSSE forwarding inside the proxy: skipped ({perf_skip or 'no events recorded'})")
R = report["rss_kib"]
print(f"\nllmauth RSS: idle {R['llmauth_idle_start'] / 1024:.1f} MiB at start, {R['llmauth_idle_after_load'] / 1024:.1f} MiB after the load; "
      f"{R[f'llmauth_{streams}_streams'] / 1024:.1f} MiB with {streams} open streams (nginx master + workers: {R[f'nginx_{streams}_streams'] / 1024:.1f} MiB)")
print(f"wrk errors: {report['wrk_errors'] or 'none'}")
PY
echo "llmauth workers: ${LLMAUTH_PROXY_THREADS:-one per core} ($(nproc) cores); nginx: worker_processes auto"
