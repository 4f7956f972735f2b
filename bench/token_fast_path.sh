#!/usr/bin/env bash
# `llmauth token` as tools run it (`llmauth-token`, wired by setup) against its baselines
# (SPEC §10), side by side in one hyperfine run per round:
#   true          — process start alone
#   cat           — `cat` of the same record llmauth reads
#   minimal Rust  — bench/minimal-token: read the record, parse it, print the token
#   llmauth       — llmauth-token, cached token (it never execs the full binary here)
#   oidc-token    — oidc-agent's warm `oidc-token`: a resident agent answers over a socket
#                   (Debian package oidc-agent, set up against the same loopback IdP;
#                   the row says why when it is not installed)
# for both backends: the file backend (the session record) and the keyring backend's
# runtime-dir cache (the keychain is not touched on this path). The full binary's
# `llmauth token` is measured in the same runs, for hand-wired tools, and so is
# `llmauth --version` (SPEC §10: start-up ≤ 1 ms median).
# Then the first call after expiry: one refresh round trip to the loopback IdP, through
# llmauth-token (which hands over to `llmauth token`), against `curl` making one HTTPS
# request to the same IdP.
# Each round runs every command RUNS times; the tables give, per command, the median of
# the per-round ratios of its median to cat's, and the per-round ratios themselves.
# Results: stdout (Markdown) and $OUT/token_fast_path.json.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine python3 curl; do
  command -v "$tool" >/dev/null || { echo "install $tool (apt-get install $tool)" >&2; exit 1; }
done
RUNS=${RUNS:-1000}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-50}
REFRESH_RUNS=${REFRESH_RUNS:-200}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

cargo build --release --quiet -p llmauth --bin llmauth --bin llmauth-token
cargo build --release --quiet -p llmauth-tests --bin test-idp --bin fake-browser
cargo build --release --quiet --manifest-path bench/minimal-token/Cargo.toml \
  --target-dir target/minimal-token
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The programs are measured as copies, as `cargo install` leaves them: a file the linker
# has just written can sit in the page cache in small pieces, which cost the full binary up
# to 20 more page faults (+0.15 ms) per run than a copy of the same bytes.
BIN=$work/bin
mkdir "$BIN"
cp target/release/{llmauth,llmauth-token,test-idp,fake-browser} "$BIN/"
cp target/minimal-token/release/minimal-token "$BIN/"
MINIMAL=$BIN/minimal-token
mkfifo "$work/idp.stdin"
sleep 100000 > "$work/idp.stdin" & pids+=($!)
"$BIN/test-idp" --ca-dir "$work" --token-lifetime 3600 < "$work/idp.stdin" > "$work/idp.json" & pids+=($!)
for _ in $(seq 50); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(open('$work/idp.json'))['$1'])"; }
issuer=$(field issuer); gateway=$(field gateway); ca=$(field ca_file)

export LLMAUTH_CONFIG=$work/config.yaml LLMAUTH_STATE_DIR=$work/state XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR"
llmauth() { "$BIN/llmauth" "$@"; }
login() { # state dir -> signs in there with the scripted browser
  LLMAUTH_STATE_DIR=$1 BROWSER=$BIN/fake-browser FAKE_BROWSER_LOG=$work/browser.log \
    LLMAUTH_TEST_CA=$ca llmauth login 2>/dev/null </dev/null
}
llmauth config set --gateway-url "$gateway" --issuer "$issuer" --client-id llmauth-test \
  --ca-file "$ca" --callback-port 0 --secrets-backend file 2>/dev/null
login "$LLMAUTH_STATE_DIR"
key=$(llmauth config show | awk '/session key/ {print $3}')
record=$LLMAUTH_STATE_DIR/sessions/$key.json
llmauth token >/dev/null
"$BIN/llmauth-token" >/dev/null

# oidc-agent, with a session of its own (a refresh by it must not rotate llmauth's token).
oidc_skip=""
if ! command -v oidc-agent >/dev/null || ! command -v oidc-gen >/dev/null \
  || ! command -v oidc-token >/dev/null; then
  oidc_skip="oidc-agent is not installed (Debian: apt-get install oidc-agent)"
else
  login "$work/oidc-state"
  rt=$(python3 -c "import json,glob; print(json.load(open(glob.glob('$work/oidc-state/sessions/*.json')[0]))['refresh']['refresh_token'])")
  mkdir -p "$work/oidc"
  export OIDC_CONFIG_DIR=$work/oidc
  eval "$(oidc-agent --no-autoload 2>/dev/null)" >/dev/null
  pids+=("$OIDCD_PID")
  if ! OIDC_REFRESH_TOKEN=$rt oidc-gen --iss="$issuer" --client-id=llmauth-test \
      --client-secret="" --rt-env --cp="$ca" --no-save --confirm-default \
      --scope="openid offline_access" --prompt=none bench >"$work/oidc-gen.log" 2>&1 \
    || ! oidc-token bench >/dev/null 2>&1; then
    oidc_skip="oidc-agent could not be set up against the test IdP: $(tail -1 "$work/oidc-gen.log")"
  fi
fi

round() { # backend round record -> hyperfine JSON of one round
  local backend=$1 n=$2 file=$3
  local names=(-n true -n cat -n minimal -n llmauth -n full -n version)
  local commands=(true "cat $file" "$MINIMAL $file" "$BIN/llmauth-token" "$BIN/llmauth token"
    "$BIN/llmauth --version")
  if [ -z "$oidc_skip" ]; then
    names+=(-n oidc-token); commands+=("oidc-token bench")
  fi
  hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "$OUT/token_${backend}_round$n.json" "${names[@]}" "${commands[@]}" >/dev/null
}

for n in $(seq "$ROUNDS"); do
  echo "== file backend, round $n of $ROUNDS ($RUNS runs per command)" >&2
  round file "$n" "$record"
done

# The keyring backend keeps only the refresh token in the keychain: a fresh access token
# in the runtime-dir cache is all `token` reads, so the keychain item is not needed here.
cache=$XDG_RUNTIME_DIR/llmauth/$key.at
python3 - "$record" "$cache" <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
os.makedirs(os.path.dirname(sys.argv[2]), mode=0o700, exist_ok=True)
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps({"version": doc["version"], "access": doc["access"]}).encode())
os.close(fd)
PY
llmauth config set --secrets-backend keyring 2>/dev/null
"$BIN/llmauth-token" >/dev/null
for n in $(seq "$ROUNDS"); do
  echo "== keyring backend (runtime-dir cache), round $n of $ROUNDS" >&2
  round keyring "$n" "$cache"
done
llmauth config set --secrets-backend file 2>/dev/null

echo "== first call after expiry: one refresh round trip ($REFRESH_RUNS runs)" >&2
expire="python3 -c \"import json;p='$record';d=json.load(open(p));d['access']['expires_at']=0;open(p,'w').write(json.dumps(d))\""
# Baseline: one HTTPS round trip to the same IdP by curl (process start, TLS handshake,
# request, answer). A refresh by curl itself would rotate the refresh token behind
# llmauth's back.
hyperfine -N --style none --warmup 5 --runs "$REFRESH_RUNS" --export-json "$OUT/token_refresh.json" \
  --prepare "$expire" "$BIN/llmauth-token" \
  --prepare "true" "curl -s --cacert $ca -o /dev/null $issuer/.well-known/openid-configuration" \
  >/dev/null

python3 - "$OUT" "$ROUNDS" "$oidc_skip" <<'PY'
import json, statistics, sys
out, rounds, oidc_skip = sys.argv[1], int(sys.argv[2]), sys.argv[3]
med = statistics.median
LABELS = [("true", "`true`"), ("cat", "`cat` of the record"),
          ("minimal", "minimal Rust (read, parse, print)"), ("llmauth", "llmauth (`llmauth-token`)"),
          ("oidc-token", "oidc-agent's warm `oidc-token`")]
report = {}
for backend in ("file", "keyring"):
    per = {}
    for n in range(1, rounds + 1):
        results = json.load(open(f"{out}/token_{backend}_round{n}.json"))["results"]
        medians = {r["command"]: r["median"] for r in results}
        for k, m in medians.items():
            per.setdefault(k, []).append((m, m / medians["cat"]))
    report[backend] = {k: {"median_ms": [round(m * 1e3, 4) for m, _ in v],
                           "ratio_to_cat": [round(x, 3) for _, x in v],
                           "median_ratio": round(med(x for _, x in v), 3)} for k, v in per.items()}
    print(f"\n### {backend} backend" + (" (runtime-dir cache)" if backend == "keyring" else "") +
          f" — {rounds} rounds\n")
    print("| command | median (ms), per round | × `cat`, per round | × `cat` (median) |")
    print("|---|---|---|---|")
    for k, label in LABELS:
        if k not in report[backend]:
            print(f"| {label} | skipped: {oidc_skip} | | |")
            continue
        r = report[backend][k]
        ms = ", ".join(f"{m:.3f}" for m in r["median_ms"])
        xs = ", ".join(f"{x:.2f}" for x in r["ratio_to_cat"])
        print(f"| {label} | {ms} | {xs} | **{r['median_ratio']:.2f}** |")
    full = report[backend].get("full")
    if full:
        print(f"\nThe full binary's `llmauth token`, same runs: {full['median_ratio']:.2f} × `cat` "
              f"(per round {', '.join(f'{x:.2f}' for x in full['ratio_to_cat'])}).")
    version = report[backend]["version"]
    print(f"\n`llmauth --version` (SPEC §10: start-up ≤ 1 ms median), same runs: "
          f"{med(version['median_ms']):.3f} ms, {version['median_ratio']:.2f} × `cat` "
          f"(per round {', '.join(f'{m:.3f} ms' for m in version['median_ms'])}).")
refresh = json.load(open(f"{out}/token_refresh.json"))["results"]
lean, curl = refresh[0]["median"], refresh[1]["median"]
report["refresh"] = {"llmauth_token_ms": lean * 1e3, "curl_ms": curl * 1e3}
print(f"\nFirst call after expiry (llmauth-token → llmauth token, one refresh round trip): "
      f"{lean * 1e3:.2f} ms median; one HTTPS request by curl to the same IdP: {curl * 1e3:.2f} ms "
      f"({lean / curl:.2f} ×, {1e3 * (lean - curl):+.2f} ms).")
json.dump(report, open(f"{out}/token_fast_path.json", "w"), indent=1)
PY
