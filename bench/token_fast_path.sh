#!/usr/bin/env bash
# `llmauth token` against its baselines, in one hyperfine run each (SPEC §10):
#   1. cached token, file backend   vs `cat` of the same session record
#   2. cached token, keyring backend (the access token comes from the runtime-dir cache;
#      no keychain round trip)     vs `cat` of the same cache file
#   3. first call after expiry (one refresh round trip to a loopback IdP) vs `curl` making
#      one HTTPS request to the same IdP (the round trip alone)
# Results go to stdout and, as JSON, to $OUT (default target/bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
RUNS=${RUNS:-1000}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"

cargo build --release --quiet -p llmauth --bin llmauth
cargo build --release --quiet -p llmauth-tests --bin test-idp --bin fake-browser
BIN=$PWD/target/release

work=$(mktemp -d)
mkfifo "$work/idp.stdin"
sleep 100000 > "$work/idp.stdin" & keep_open=$!
"$BIN/test-idp" --ca-dir "$work" --token-lifetime 3600 < "$work/idp.stdin" > "$work/idp.json" & idp=$!
cleanup() { kill "$idp" "$keep_open" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
field() { python3 -c "import json,sys; print(json.load(open('$work/idp.json'))['$1'])"; }
issuer=$(field issuer); gateway=$(field gateway); ca=$(field ca_file)

export LLMAUTH_CONFIG=$work/config.yaml LLMAUTH_STATE_DIR=$work/state XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR"
llmauth() { "$BIN/llmauth" "$@"; }
llmauth config set --gateway-url "$gateway" --issuer "$issuer" --client-id llmauth-test \
  --ca-file "$ca" --callback-port 0 --secrets-backend file 2>/dev/null
BROWSER=$BIN/fake-browser FAKE_BROWSER_LOG=$work/browser.log LLMAUTH_TEST_CA=$ca llmauth login 2>/dev/null </dev/null
key=$(llmauth config show | awk '/session key/ {print $3}')
record=$LLMAUTH_STATE_DIR/sessions/$key.json
llmauth token >/dev/null

echo "== 1. cached token, file backend (runs: $RUNS)"
hyperfine -N --warmup 50 --runs "$RUNS" --export-json "$OUT/fast_file.json" \
  "cat $record" "$BIN/llmauth token"

echo "== 2. cached token, keyring backend's access-token cache"
# The keychain holds only the refresh token, so a fresh access token in the runtime-dir
# cache is all `token` reads; the refresh record is not needed for this measurement.
python3 - "$record" "$XDG_RUNTIME_DIR/llmauth/$key.at" <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
os.makedirs(os.path.dirname(sys.argv[2]), mode=0o700, exist_ok=True)
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps({"version": doc["version"], "access": doc["access"]}).encode())
os.close(fd)
PY
llmauth config set --secrets-backend keyring 2>/dev/null
hyperfine -N --warmup 50 --runs "$RUNS" --export-json "$OUT/fast_keyring.json" \
  "cat $XDG_RUNTIME_DIR/llmauth/$key.at" "$BIN/llmauth token"
llmauth config set --secrets-backend file 2>/dev/null

echo "== 3. first call after expiry: one refresh round trip"
expire="python3 -c \"import json;p='$record';d=json.load(open(p));d['access']['expires_at']=0;open(p,'w').write(json.dumps(d))\""
# Baseline: one HTTPS round trip to the same IdP by curl (process start, TLS handshake,
# request, answer). A refresh by curl itself would rotate the refresh token behind
# llmauth's back.
hyperfine -N --warmup 5 --runs 200 --export-json "$OUT/refresh.json" \
  --prepare "$expire" "$BIN/llmauth token" \
  --prepare "true" "curl -s --cacert $ca -o /dev/null $issuer/.well-known/openid-configuration"
