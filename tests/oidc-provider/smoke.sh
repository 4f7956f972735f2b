#!/usr/bin/env bash
# Smoke test of server.mjs with curl alone: starts the provider on a throw-away TLS
# certificate, then runs the authorization-code flow (PKCE, prompt=consent, resource),
# refresh with rotation, refresh-token reuse detection, the device flow and revocation,
# driving the "browser" side with curl + a cookie jar + a tiny form parser. Exits non-zero
# on the first failure. Prints what each step does; never prints a token, code or
# verifier (only decoded JWT claims and lengths).
#
# Needs: node (with `npm ci` done here), curl, openssl, python3.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AUDIENCE="https://gateway.llmauth.test"
CLIENT_ID="llmauth-e2e"
TTL=120
TMP="$(mktemp -d)"
SERVER_PID=""

cleanup() {
  exec 3>&- 2>/dev/null || true
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
exec 4>&1   # the scripted browser's trace goes here, next to the step lines

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
die() {
  printf '   FAIL: %s\n' "$*" >&2
  if [[ -f "$TMP/server.log" ]]; then
    printf '   --- server log (last 30 lines) ---\n' >&2
    tail -n 30 "$TMP/server.log" >&2
  fi
  exit 1
}

[[ -d "$HERE/node_modules/oidc-provider" ]] || die "run: npm ci --prefix $HERE"
for tool in node curl openssl python3; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# ---------------------------------------------------------------- helpers

# json FILE EXPR: evaluate a Python expression over the parsed JSON `d`.
json() {
  python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
v = eval(sys.argv[2], {"d": d})
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))
PY
}

# jwt_claims TOKEN-FILE FIELD: prints the decoded payload of a JWT stored in a JSON file
# field as JSON, or "opaque" when it is not a JWT.
jwt_claims() {
  python3 - "$1" "$2" <<'PY'
import base64, json, sys
with open(sys.argv[1]) as f:
    tok = json.load(f).get(sys.argv[2], "")
parts = tok.split(".")
if len(parts) != 3:
    print("opaque")
else:
    p = parts[1] + "=" * (-len(parts[1]) % 4)
    print(json.dumps(json.loads(base64.urlsafe_b64decode(p))))
PY
}

# PKCE verifier + S256 challenge (node's crypto, same as any RFC 7636 client).
pkce() {
  node -e '
    const c = require("node:crypto");
    const v = c.randomBytes(32).toString("base64url");
    const ch = c.createHash("sha256").update(v).digest("base64url");
    process.stdout.write(v + " " + ch);'
}

rand() { node -e 'process.stdout.write(require("node:crypto").randomBytes(16).toString("hex"))'; }

# form_of HTML-FILE BASE-URL: prints "ACTION\nURLENCODED-BODY" for the first <form> of the
# page (hidden and text inputs with their values), or nothing when there is no form.
form_of() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.parse
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.form = None; self.done = False; self.fields = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.done: return
        if tag == "form" and self.form is None:
            self.form = a
        elif tag == "input" and self.form is not None and a.get("name"):
            if a.get("type", "text") in ("hidden", "text"):
                self.fields.append((a["name"], a.get("value") or ""))
    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None: self.done = True
p = P()
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    p.feed(f.read())
if p.form is not None:
    print(urllib.parse.urljoin(sys.argv[2], p.form.get("action") or sys.argv[2]))
    print(urllib.parse.urlencode(p.fields))
PY
}

# browse URL JAR STOP-PREFIX: a scripted browser. Follows redirects keeping cookies in JAR,
# posts the first form of any HTML page, and stops at the first redirect whose target
# starts with STOP-PREFIX (printed on stdout) or at a page without a form ("PAGE: title").
browse() {
  local url="$1" jar="$2" stop="$3" method=GET data="" i status loc
  for i in $(seq 1 20); do
    local args=(-s -o "$TMP/body" -D "$TMP/headers" -b "$jar" -c "$jar" --cacert "$TMP/cert.pem"
      -w '%{http_code}')
    if [[ "$method" == POST ]]; then
      args+=(-X POST -H 'content-type: application/x-www-form-urlencoded' --data-binary "$data")
    fi
    status="$(curl "${args[@]}" "$url")"
    printf '   browser: %s %s -> %s\n' "$method" "${url%%\?*}" "$status" >&4
    case "$status" in
      30[1237])
        loc="$(tr -d '\r' <"$TMP/headers" | sed -n 's/^[Ll]ocation: //p' | tail -n 1)"
        loc="$(python3 -c 'import sys,urllib.parse;print(urllib.parse.urljoin(sys.argv[1],sys.argv[2]))' "$url" "$loc")"
        if [[ "$loc" == "$stop"* ]]; then
          printf '%s\n' "$loc"
          return 0
        fi
        url="$loc"; method=GET; data=""
        ;;
      200)
        local form
        form="$(form_of "$TMP/body" "$url")"
        if [[ -z "$form" ]]; then
          printf 'PAGE: %s\n' "$(sed -n 's:.*<title>\(.*\)</title>.*:\1:p' "$TMP/body" | head -n 1)"
          return 0
        fi
        url="$(sed -n 1p <<<"$form")"; data="$(sed -n 2p <<<"$form")"; method=POST
        printf '   browser: auto-submitting form with fields: %s\n' \
          "$(tr '&' '\n' <<<"$data" | cut -d= -f1 | paste -sd, -)" >&4
        ;;
      *)
        sed -e 's/<[^>]*>/ /g' "$TMP/body" | tr -s ' \n' ' ' | head -c 300 >&2; echo >&2
        return 1
        ;;
    esac
  done
  return 1
}

# query_param URL NAME
query_param() {
  python3 -c 'import sys,urllib.parse as u;print(dict(u.parse_qsl(u.urlsplit(sys.argv[1]).query)).get(sys.argv[2],""))' "$1" "$2"
}

# token_request OUT-FILE FIELD=VALUE...: POSTs to the token endpoint, prints the HTTP status.
post_form() {
  local endpoint="$1" out="$2"; shift 2
  local args=()
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  curl -s -o "$out" -w '%{http_code}' --cacert "$TMP/cert.pem" "${args[@]}" "$endpoint"
}

expect_jwt_for_gateway() {
  local file="$1" claims
  claims="$(jwt_claims "$file" access_token)"
  [[ "$claims" != opaque ]] || die "access token is not a JWT"
  python3 - "$claims" "$AUDIENCE" "$ISSUER" "$TTL" <<'PY' || die "JWT claims wrong: $claims"
import json, sys
c = json.loads(sys.argv[1]); aud, iss, ttl = sys.argv[2], sys.argv[3], int(sys.argv[4])
assert c["aud"] == aud, c["aud"]
assert c["iss"] == iss, c["iss"]
assert c["sub"] == "e2e-user", c["sub"]
assert c["exp"] - c["iat"] == ttl, c["exp"] - c["iat"]
PY
  ok "access token is a JWT: $(python3 -c 'import json,sys;c=json.loads(sys.argv[1]);print({k:c[k] for k in ("aud","sub","client_id","scope") if k in c}, "lifetime", c["exp"]-c["iat"])' "$claims")"
}

# ---------------------------------------------------------------- start the provider

step "generate a throw-away certificate for 127.0.0.1 and start server.mjs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1" 2>/dev/null
mkfifo "$TMP/stdin"
node "$HERE/server.mjs" --cert "$TMP/cert.pem" --key "$TMP/key.pem" --port 0 \
  --client-id "$CLIENT_ID" --audience "$AUDIENCE" --access-token-ttl "$TTL" \
  --device-interval 1 <"$TMP/stdin" >"$TMP/stdout" 2>"$TMP/server.log" &
SERVER_PID=$!
exec 3>"$TMP/stdin"   # keep the server's stdin open; closing it stops the server
for _ in $(seq 1 100); do [[ -s "$TMP/stdout" ]] && break; sleep 0.1; done
[[ -s "$TMP/stdout" ]] || die "server did not print its ready line"
[[ "$(wc -l <"$TMP/stdout")" -eq 1 ]] || die "more than one stdout line"
[[ "$(json "$TMP/stdout" 'd["ready"]')" == true ]] || die "ready line: $(cat "$TMP/stdout")"
ISSUER="$(json "$TMP/stdout" 'd["issuer"]')"
[[ "$ISSUER" =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || die "issuer: $ISSUER"
ok "ready: issuer $ISSUER"

step "discovery"
curl -sf --cacert "$TMP/cert.pem" "$ISSUER/.well-known/openid-configuration" -o "$TMP/disc.json" \
  || die "discovery failed"
[[ "$(json "$TMP/disc.json" 'd["issuer"]')" == "$ISSUER" ]] || die "issuer mismatch"
[[ "$(json "$TMP/disc.json" '"S256" in d["code_challenge_methods_supported"]')" == true ]] || die "no S256"
AUTH="$(json "$TMP/disc.json" 'd["authorization_endpoint"]')"
TOKEN="$(json "$TMP/disc.json" 'd["token_endpoint"]')"
DEVICE="$(json "$TMP/disc.json" 'd["device_authorization_endpoint"]')"
REVOKE="$(json "$TMP/disc.json" 'd["revocation_endpoint"]')"
[[ -n "$DEVICE" && -n "$REVOKE" ]] || die "device or revocation endpoint missing"
[[ "$(json "$TMP/disc.json" 'd.get("authorization_response_iss_parameter_supported")')" == true ]] \
  || die "iss parameter not advertised"
ok "issuer matches; S256; device_authorization_endpoint, revocation_endpoint, iss parameter"

# ---------------------------------------------------------------- code flow

# code_flow JAR PORT HOST PROMPT OUT-FILE [SCOPE]: runs one authorization-code flow,
# exchanges the code (with resource), leaves the token response in OUT-FILE.
code_flow() {
  local jar="$1" port="$2" host="$3" prompt="$4" out="$5" scope="${6:-openid offline_access llm:invoke}"
  local redirect="http://$host:$port/callback" state nonce pair verifier challenge url cb
  state="$(rand)"; nonce="$(rand)"; pair="$(pkce)"; verifier="${pair% *}"; challenge="${pair#* }"
  url="$(python3 - "$AUTH" "$CLIENT_ID" "$redirect" "$state" "$nonce" "$challenge" "$AUDIENCE" "$prompt" "$scope" <<'PY'
import sys, urllib.parse
auth, cid, redirect, state, nonce, challenge, aud, prompt, scope = sys.argv[1:]
q = {"response_type": "code", "client_id": cid, "redirect_uri": redirect,
     "scope": scope, "state": state, "nonce": nonce,
     "code_challenge": challenge, "code_challenge_method": "S256", "resource": aud}
if prompt: q["prompt"] = prompt
print(auth + "?" + urllib.parse.urlencode(q))
PY
)"
  cb="$(browse "$url" "$jar" "$redirect")" || die "browser did not reach the callback"
  [[ "$cb" == "$redirect?"* ]] || die "unexpected stop: ${cb%%\?*}"
  [[ -z "$(query_param "$cb" error)" ]] || die "authorization error: $(query_param "$cb" error)"
  [[ "$(query_param "$cb" state)" == "$state" ]] || die "state mismatch"
  [[ "$(query_param "$cb" iss)" == "$ISSUER" ]] || die "iss missing/mismatch in callback"
  ok "callback reached on $host:$port with code, matching state and iss=$ISSUER"
  local status
  status="$(post_form "$TOKEN" "$out" grant_type=authorization_code "code=$(query_param "$cb" code)" \
    "redirect_uri=$redirect" "code_verifier=$verifier" "client_id=$CLIENT_ID" "resource=$AUDIENCE")"
  [[ "$status" == 200 ]] || die "code exchange: HTTP $status $(json "$out" 'd.get("error")')"
  local id_claims
  id_claims="$(jwt_claims "$out" id_token)"
  python3 - "$id_claims" "$nonce" "$CLIENT_ID" "$ISSUER" <<'PY' || die "ID token claims wrong"
import json, sys
c = json.loads(sys.argv[1])
assert c["nonce"] == sys.argv[2] and c["aud"] == sys.argv[3] and c["iss"] == sys.argv[4] and c["sub"] == "e2e-user"
PY
  ok "code exchanged: token_type=$(json "$out" 'd["token_type"]') expires_in=$(json "$out" 'd["expires_in"]') scope='$(json "$out" 'd.get("scope")')' refresh_token=$(json "$out" '"yes" if d.get("refresh_token") else "no"'); ID token nonce/aud/iss/sub ok"
}

step "authorization-code flow with prompt=consent (fresh browser: login + consent auto-approved)"
: >"$TMP/jar1"
code_flow "$TMP/jar1" 53682 localhost consent "$TMP/t1.json"
expect_jwt_for_gateway "$TMP/t1.json"
[[ "$(json "$TMP/t1.json" 'bool(d.get("refresh_token"))')" == true ]] || die "no refresh token with prompt=consent"
[[ "$(json "$TMP/t1.json" 'd["expires_in"]')" == "$TTL" ]] || die "expires_in is not $TTL"
RT1="$(json "$TMP/t1.json" 'd["refresh_token"]')"

step "refresh with resource: rotation gives a new refresh token and a gateway JWT"
status="$(post_form "$TOKEN" "$TMP/t2.json" grant_type=refresh_token "refresh_token=$RT1" \
  "client_id=$CLIENT_ID" "resource=$AUDIENCE")"
[[ "$status" == 200 ]] || die "refresh: HTTP $status $(json "$TMP/t2.json" 'd.get("error")')"
RT2="$(json "$TMP/t2.json" 'd.get("refresh_token")')"
[[ -n "$RT2" && "$RT2" != "$RT1" ]] || die "refresh token was not rotated"
expect_jwt_for_gateway "$TMP/t2.json"
python3 - "$(jwt_claims "$TMP/t2.json" id_token)" <<'PY2' || die "ID token on refresh is wrong"
import json, sys
c = json.loads(sys.argv[1])
assert c["sub"] == "e2e-user", c
PY2
ok "rotated (new refresh token, length ${#RT2}); refresh also returns an ID token (sub e2e-user, nonce claim present: $(python3 -c 'import json,sys;print("nonce" in json.loads(sys.argv[1]))' "$(jwt_claims "$TMP/t2.json" id_token)"))"

step "refresh WITHOUT resource (informational: what an IdP like this does when resource is not repeated)"
status="$(post_form "$TOKEN" "$TMP/t3.json" grant_type=refresh_token "refresh_token=$RT2" \
  "client_id=$CLIENT_ID")"
[[ "$status" == 200 ]] || die "refresh without resource: HTTP $status"
[[ "$(jwt_claims "$TMP/t3.json" access_token)" == opaque ]] \
  || die "expected an opaque (userinfo) access token without resource"
ok "access token is opaque (for userinfo), not a gateway JWT: resource must be repeated on refresh"
RT3="$(json "$TMP/t3.json" 'd["refresh_token"]')"

step "reuse detection: replaying the rotated refresh token revokes the whole grant"
status="$(post_form "$TOKEN" "$TMP/t4.json" grant_type=refresh_token "refresh_token=$RT1" \
  "client_id=$CLIENT_ID" "resource=$AUDIENCE")"
[[ "$status" == 400 && "$(json "$TMP/t4.json" 'd["error"]')" == invalid_grant ]] \
  || die "replay of a rotated refresh token: HTTP $status"
ok "replay -> 400 invalid_grant ($(json "$TMP/t4.json" 'd.get("error_description")'))"
status="$(post_form "$TOKEN" "$TMP/t5.json" grant_type=refresh_token "refresh_token=$RT3" \
  "client_id=$CLIENT_ID" "resource=$AUDIENCE")"
[[ "$status" == 400 && "$(json "$TMP/t5.json" 'd["error"]')" == invalid_grant ]] \
  || die "newest refresh token survived the replay: HTTP $status"
ok "newest refresh token of that grant is dead too -> invalid_grant ($(json "$TMP/t5.json" 'd.get("error_description")'))"

step "authorization-code flow WITHOUT prompt=consent (existing browser session, 127.0.0.1, other port)"
code_flow "$TMP/jar1" 41234 127.0.0.1 "" "$TMP/t6.json"
expect_jwt_for_gateway "$TMP/t6.json"
[[ "$(json "$TMP/t6.json" 'bool(d.get("refresh_token"))')" == false ]] \
  || die "expected no refresh token without prompt=consent"
ok "no refresh token: offline_access is dropped unless prompt=consent"

step "authorization-code flow with llmauth's default scopes (openid offline_access, no gateway scope)"
code_flow "$TMP/jar1" 53684 localhost consent "$TMP/t9.json" "openid offline_access"
expect_jwt_for_gateway "$TMP/t9.json"
[[ "$(json "$TMP/t9.json" 'bool(d.get("refresh_token"))')" == true ]] || die "no refresh token"
ok "still a gateway JWT and a refresh token; token response scope is '$(json "$TMP/t9.json" 'd.get("scope")')' (present: $(json "$TMP/t9.json" '"scope" in d'))"

step "authorization request naming another resource is rejected"
url="$AUTH?response_type=code&client_id=$CLIENT_ID&redirect_uri=http%3A%2F%2Flocalhost%3A5000%2Fcallback&scope=openid&code_challenge=$(pkce | cut -d' ' -f2)&code_challenge_method=S256&resource=https%3A%2F%2Fother.example&state=x"
cb="$(browse "$url" "$TMP/jar1" "http://localhost:5000/callback")" || die "no redirect"
[[ "$(query_param "$cb" error)" == invalid_target ]] || die "expected invalid_target, got: $(query_param "$cb" error)"
ok "error=invalid_target"

step "authorization request with a non-loopback / wrong-path redirect_uri is refused (no redirect)"
url="$AUTH?response_type=code&client_id=$CLIENT_ID&redirect_uri=http%3A%2F%2Flocalhost%3A5000%2Fevil&scope=openid&code_challenge=$(pkce | cut -d' ' -f2)&code_challenge_method=S256&state=x"
status="$(curl -s -o "$TMP/body" -w '%{http_code}' --cacert "$TMP/cert.pem" "$url")"
[[ "$status" == 400 ]] || die "wrong redirect path: HTTP $status"
ok "HTTP 400 error page ($(sed -n 's:.*<p id="error">\([^<]*\)</p>.*:\1:p' "$TMP/body"))"

# ---------------------------------------------------------------- device flow

step "device flow: device authorization (scope with offline_access, resource), no prompt parameter"
status="$(post_form "$DEVICE" "$TMP/d.json" "client_id=$CLIENT_ID" \
  "scope=openid offline_access llm:invoke" "resource=$AUDIENCE")"
[[ "$status" == 200 ]] || die "device authorization: HTTP $status"
DEVICE_CODE="$(json "$TMP/d.json" 'd["device_code"]')"
COMPLETE="$(json "$TMP/d.json" 'd["verification_uri_complete"]')"
ok "user_code $(json "$TMP/d.json" 'd["user_code"]'), interval $(json "$TMP/d.json" 'd.get("interval")'), expires_in $(json "$TMP/d.json" 'd["expires_in"]'), verification_uri_complete ${COMPLETE%%\?*}?user_code=..."

poll() {
  post_form "$TOKEN" "$TMP/dt.json" "grant_type=urn:ietf:params:oauth:grant-type:device_code" \
    "device_code=$DEVICE_CODE" "client_id=$CLIENT_ID" "resource=$AUDIENCE"
}
status="$(poll)"
[[ "$status" == 400 && "$(json "$TMP/dt.json" 'd["error"]')" == authorization_pending ]] \
  || die "expected authorization_pending, got HTTP $status"
ok "poll before approval -> authorization_pending"

step "device flow: a fresh browser opens verification_uri_complete (GET, then two auto-posted forms, then the interaction)"
: >"$TMP/jar2"
end="$(browse "$COMPLETE" "$TMP/jar2" "http://never.invalid/")" || die "device browser flow failed"
[[ "$end" == "PAGE: Device sign-in complete" ]] || die "device flow ended on: $end"
ok "$end"

step "device flow: poll again -> tokens"
status="$(poll)"
[[ "$status" == 200 ]] || die "device token: HTTP $status $(json "$TMP/dt.json" 'd.get("error")')"
expect_jwt_for_gateway "$TMP/dt.json"
[[ "$(json "$TMP/dt.json" 'bool(d.get("refresh_token"))')" == true ]] \
  || die "device flow gave no refresh token"
ok "refresh token issued (device flow keeps offline_access without prompt=consent); id_token: $(json "$TMP/dt.json" '"yes" if d.get("id_token") else "no"')"
RT_DEV="$(json "$TMP/dt.json" 'd["refresh_token"]')"
status="$(poll)"
[[ "$status" == 400 && "$(json "$TMP/dt.json" 'd["error"]')" == invalid_grant ]] \
  || die "device code reusable: HTTP $status"
ok "device code is single-use -> invalid_grant"

# ---------------------------------------------------------------- revocation

step "revocation: revoke the device flow's refresh token, then it no longer refreshes"
status="$(post_form "$REVOKE" "$TMP/r.json" "token=$RT_DEV" token_type_hint=refresh_token "client_id=$CLIENT_ID")"
[[ "$status" == 200 ]] || die "revocation: HTTP $status"
ok "revocation endpoint -> 200"
status="$(post_form "$TOKEN" "$TMP/t8.json" grant_type=refresh_token "refresh_token=$RT_DEV" \
  "client_id=$CLIENT_ID" "resource=$AUDIENCE")"
[[ "$status" == 400 && "$(json "$TMP/t8.json" 'd["error"]')" == invalid_grant ]] \
  || die "revoked refresh token still works: HTTP $status"
ok "refresh with the revoked token -> invalid_grant"

step "stop: closing the server's stdin ends it"
exec 3>&-
for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER_PID" 2>/dev/null; then die "server still running after stdin closed"; fi
wait "$SERVER_PID" || true
SERVER_PID=""
grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' "$TMP/server.log" && die "server log contains a JWT"
ok "server exited; its log holds no JWT"

printf '\nALL SMOKE STEPS PASSED\n'
