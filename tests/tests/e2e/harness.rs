//! One end-to-end world: a real `oidc-provider` on loopback HTTPS, a gateway that verifies
//! its RS256 JWTs against the provider's JWKS, and a sandboxed `llmauth` configured for
//! both — plus the reads of llmauth's stored session that the tests assert on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llmauth_tests::ca::TestCa;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::oidc_provider::{OidcProvider, OidcProviderOptions, TlsMaterial};
use llmauth_tests::sandbox::{Finished, Sandbox};
use serde_json::{Value, json};

/// llmauth's refresh window default (SPEC §5); the margin is min(window, lifetime / 2),
/// and never less than the 5 s llmauth allows for clock skew.
const REFRESH_WINDOW: Duration = Duration::from_secs(600);
const VALIDITY_SKEW: Duration = Duration::from_secs(5);

/// How far past the refresh point a test waits, so that the next `token` call is a
/// genuine miss even with a little clock jitter between processes.
const PAST_DUE: Duration = Duration::from_millis(400);

pub(crate) struct E2e {
    pub(crate) provider: OidcProvider,
    pub(crate) gateway: TestGateway,
    pub(crate) sandbox: Sandbox,
    pub(crate) ca: Arc<TestCa>,
}

impl E2e {
    /// Starts the provider (access tokens living `access_token_ttl`, device polling every
    /// second), the gateway, and a sandbox configured with `--prompt consent` (the
    /// provider keeps `offline_access` only then) and `--audience` (its JWTs for the
    /// gateway need `resource`). A provider that cannot start — `node_modules` missing
    /// included — fails the test with the launcher's message.
    pub(crate) fn start(access_token_ttl: Duration) -> E2e {
        E2e::start_with(access_token_ttl, |_| {})
    }

    /// [`E2e::start`], with the provider's options adjusted by `adjust` first.
    pub(crate) fn start_with(
        access_token_ttl: Duration,
        adjust: impl FnOnce(&mut OidcProviderOptions),
    ) -> E2e {
        let ca = Arc::new(TestCa::new());
        let mut options = OidcProviderOptions::new(TlsMaterial::Pem {
            cert: ca.leaf_chain_pem(),
            key: ca.leaf_key_pem().to_owned(),
        });
        options.access_token_ttl = access_token_ttl;
        options.device_interval = Some(Duration::from_secs(1));
        adjust(&mut options);
        let provider = OidcProvider::start(options)
            .unwrap_or_else(|e| panic!("oidc-provider did not start: {e}"));
        let gateway = TestGateway::start(
            GatewayOptions {
                jwks_url: Some(provider.jwks_uri()),
                expected_issuer: Some(provider.issuer().to_owned()),
                expected_audience: Some(provider.audience().to_owned()),
                ..GatewayOptions::default()
            },
            Arc::clone(&ca),
        );
        let mut sandbox = Sandbox::new(
            Path::new(env!("CARGO_BIN_EXE_llmauth-under-test")),
            Some(Path::new(env!("CARGO_BIN_EXE_fake-browser"))),
        );
        let ca_file = ca.write_ca_pem(sandbox.root()).expect("write the CA file");
        sandbox.set_env("LLMAUTH_TEST_CA", &ca_file);
        sandbox.configure(
            provider.issuer(),
            &gateway.url(),
            provider.client_id(),
            &ca_file,
            &[
                "--audience",
                provider.audience(),
                "--prompt",
                "consent",
                "--secrets-backend",
                "file",
            ],
        );
        E2e {
            provider,
            gateway,
            sandbox,
            ca,
        }
    }

    /// Runs `llmauth <args>`.
    pub(crate) fn run(&self, args: &[&str]) -> Finished {
        self.sandbox.run(args)
    }

    /// Asserts that `finished` exited with `code`, showing both sides' logs otherwise.
    pub(crate) fn expect_exit(&self, what: &str, finished: &Finished, code: i32) {
        assert_eq!(
            finished.code,
            code,
            "{what}: expected exit {code}\n--- llmauth stderr ---\n{}\n--- browser visits ---\n{:?}\n--- oidc-provider log ---\n{}",
            finished.stderr,
            self.sandbox
                .browser_visits()
                .iter()
                .map(|v| (
                    v.get("final_url").cloned(),
                    v.get("status").cloned(),
                    v.get("error").cloned()
                ))
                .collect::<Vec<_>>(),
            self.provider.log()
        );
    }

    /// `llmauth login` through the scripted browser; asserts success.
    pub(crate) fn login(&self) -> Finished {
        let finished = self.run(&["login"]);
        self.expect_exit("login", &finished, 0);
        finished
    }

    /// `llmauth token <args>`; asserts exit 0 and returns the printed token (stdout
    /// holds exactly the token and a newline).
    pub(crate) fn token(&self, args: &[&str]) -> String {
        let mut full = vec!["token"];
        full.extend_from_slice(args);
        let finished = self.run(&full);
        self.expect_exit(&format!("llmauth {}", full.join(" ")), &finished, 0);
        let token = finished
            .stdout
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("token output is not one line: {:?}", finished.stdout));
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "token output is not a bare token: {:?}",
            finished.stdout
        );
        token.to_owned()
    }

    /// Sends `token` to the gateway's Messages API over HTTPS and asserts a 200: the
    /// gateway verified the signature against the provider's JWKS, `iss`, `aud` and
    /// `exp`. Returns the verified claims.
    pub(crate) fn assert_gateway_accepts(&self, token: &str) -> Value {
        let body = json!({
            "model": "test-model-1",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hello"}],
        });
        let mut response = self
            .ca
            .agent()
            .post(format!("{}/v1/messages", self.gateway.url()))
            .header("authorization", &format!("Bearer {token}"))
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .send(body.to_string())
            .expect("request to the gateway");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let last = self
            .gateway
            .last_request()
            .expect("the gateway saw the request");
        assert_eq!(
            status, 200,
            "the gateway rejected the token ({:?}): {text}",
            last.rejection
        );
        let answer: Value = serde_json::from_str(&text).expect("a JSON answer");
        assert_eq!(answer["content"][0]["text"], "Hello from the test gateway");
        let claims = last.claims.expect("the gateway verified a JWT");
        assert_eq!(claims["aud"], self.provider.audience());
        assert_eq!(claims["iss"], self.provider.issuer());
        claims
    }

    /// The stored session file (`secrets.backend: file`): exactly one per sandbox here.
    pub(crate) fn session_path(&self) -> PathBuf {
        let dir = self.sandbox.state_dir().join("sessions");
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert_eq!(files.len(), 1, "expected one session file: {files:?}");
        files.into_iter().next().unwrap()
    }

    /// The stored session record, parsed.
    pub(crate) fn session(&self) -> Value {
        let path = self.session_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("the session file is JSON")
    }

    /// The stored refresh token.
    pub(crate) fn stored_refresh_token(&self) -> String {
        self.session()["refresh"]["refresh_token"]
            .as_str()
            .expect("a stored refresh token")
            .to_owned()
    }

    /// Sleeps until the stored access token is inside llmauth's refresh margin (plus a
    /// little), so the next `token` call must refresh.
    pub(crate) fn wait_until_refresh_due(&self) {
        let access = &self.session()["access"];
        let expires_at = access["expires_at"].as_u64().expect("access expiry (ms)");
        let lifetime = Duration::from_secs(access["lifetime"].as_u64().expect("lifetime (s)"));
        let margin = REFRESH_WINDOW.min(lifetime / 2).max(VALIDITY_SKEW);
        let due = UNIX_EPOCH + Duration::from_millis(expires_at) - margin + PAST_DUE;
        if let Ok(wait) = due.duration_since(SystemTime::now()) {
            std::thread::sleep(wait);
        }
    }

    /// Refresh requests that reached the provider: `(status, OAuth error)` each.
    pub(crate) fn refresh_requests(&self) -> Vec<(u16, Option<String>)> {
        self.provider.token_requests("refresh_token")
    }

    /// POSTs a refresh request straight to the provider (as a thief replaying a token
    /// would) and returns the status and the JSON answer.
    pub(crate) fn refresh_directly(&self, refresh_token: &str) -> (u16, Value) {
        let mut response = self
            .ca
            .agent()
            .post(self.provider.token_endpoint())
            .send_form([
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", self.provider.client_id()),
                ("resource", self.provider.audience()),
            ])
            .expect("request to the token endpoint");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The claims of a JWT, decoded without verification (the gateway verifies).
pub(crate) fn jwt_claims(token: &str) -> Value {
    let (_header, claims) =
        llmauth_tests::jwt::decode_unverified(token).expect("the token is a JWT");
    claims
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp (`2026-11-28T13:50:00Z`, an
/// optional fraction ignored). Written here, independently of llmauth's formatter, so a
/// wrong date in llmauth's output cannot be matched by the same mistake.
pub(crate) fn parse_rfc3339_utc(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let time = time.split_once('.').map_or(time, |(whole, _)| whole);
    let numbers =
        |s: &str, sep: char| -> Option<Vec<u64>> { s.split(sep).map(|n| n.parse().ok()).collect() };
    let (date, time) = (numbers(date, '-')?, numbers(time, ':')?);
    let ([year, month, day], [hour, minute, second]) = (date.as_slice(), time.as_slice()) else {
        return None;
    };
    if !(1..=12).contains(month)
        || !(1..=31).contains(day)
        || *hour > 23
        || *minute > 59
        || *second > 60
    {
        return None;
    }
    // Days from 1970-01-01 to the date: count whole years, then months, then days.
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut days: u64 = (1970..*year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    const MONTH_DAYS: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    days += MONTH_DAYS[..(*month as usize - 1)].iter().sum::<u64>();
    if *month > 2 && leap(*year) {
        days += 1;
    }
    days += day - 1;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[test]
fn rfc3339_parser_agrees_with_known_dates() {
    assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339_utc("2000-03-01T00:00:00Z"), Some(951_868_800));
    assert_eq!(
        parse_rfc3339_utc("2024-02-29T12:34:56Z"),
        Some(1_709_210_096)
    );
    assert_eq!(
        parse_rfc3339_utc("2026-11-28T13:50:00.250Z"),
        Some(1_795_873_800)
    );
    assert_eq!(parse_rfc3339_utc("2026-11-28T13:50:00+01:00"), None);
    assert_eq!(parse_rfc3339_utc("2026-13-28T13:50:00Z"), None);
}
