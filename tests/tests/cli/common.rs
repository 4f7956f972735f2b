//! The world every CLI test runs in: a test IdP, a gateway that verifies its tokens, and a
//! sandboxed `llmauth` configured for both — plus small readers for what llmauth stores.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use llmauth_tests::ca::TestCa;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::idp::{IdpOptions, TestIdp};
use llmauth_tests::sandbox::{Finished, Sandbox, wait};
use serde_json::Value;

/// The real command line, built in the tests package.
pub(crate) const LLMAUTH: &str = env!("CARGO_BIN_EXE_llmauth-under-test");
/// The scripted browser, used as `$BROWSER`.
pub(crate) const BROWSER: &str = env!("CARGO_BIN_EXE_fake-browser");

/// Lifetime of access tokens unless a test shortens it.
pub(crate) const NORMAL_LIFETIME: Duration = Duration::from_secs(300);

/// One IdP, one gateway trusting it, one sandbox configured for both.
pub(crate) struct World {
    pub(crate) idp: TestIdp,
    pub(crate) gateway: TestGateway,
    pub(crate) sandbox: Sandbox,
    pub(crate) ca_file: PathBuf,
}

impl World {
    /// Default IdP, file backend, configured.
    pub(crate) fn new() -> World {
        World::with(IdpOptions::default(), "file")
    }

    /// An IdP with `options`, configured with `--secrets-backend <backend>`.
    pub(crate) fn with(options: IdpOptions, backend: &str) -> World {
        let world = World::unconfigured(options);
        world.configure(&["--secrets-backend", backend]);
        world
    }

    /// An IdP and a gateway, and a sandbox with no config file yet.
    pub(crate) fn unconfigured(options: IdpOptions) -> World {
        let ca = Arc::new(TestCa::new());
        let idp = TestIdp::start_with_ca(options, Arc::clone(&ca));
        let gateway = TestGateway::start(GatewayOptions::for_idp(&idp), ca);
        let mut sandbox = Sandbox::new(Path::new(LLMAUTH), Some(Path::new(BROWSER)));
        let ca_file = idp
            .ca()
            .write_ca_pem(sandbox.root())
            .expect("write the CA file");
        sandbox.set_env("LLMAUTH_TEST_CA", &ca_file);
        World {
            idp,
            gateway,
            sandbox,
            ca_file,
        }
    }

    /// `config set` for this IdP and gateway, plus `extra` flags.
    pub(crate) fn configure(&self, extra: &[&str]) {
        self.sandbox.configure(
            self.idp.issuer(),
            &self.gateway.url(),
            self.idp.client_id(),
            &self.ca_file,
            extra,
        );
    }

    /// `llmauth <args>`.
    pub(crate) fn run(&self, args: &[&str]) -> Finished {
        self.sandbox.run(args)
    }

    /// `llmauth login` through the scripted browser; must succeed.
    pub(crate) fn login(&self) -> Finished {
        self.login_with(&["login"])
    }

    /// A login command (`args`) that must succeed; returns once the scripted browser has
    /// also logged its visit, so later counts of browser visits are exact.
    pub(crate) fn login_with(&self, args: &[&str]) -> Finished {
        let visits = self.sandbox.browser_visits().len();
        let finished = self.run(args);
        expect_exit(&finished, 0, &args.join(" "));
        self.await_browser_visits(visits + 1);
        finished
    }

    /// Asserts the scripted browser was opened exactly `count` times so far, after a
    /// moment's grace: a browser started just before llmauth exited may still be writing
    /// its log line, and a negative check must not miss it.
    pub(crate) fn assert_browser_visits(&self, count: usize, what: &str) {
        std::thread::sleep(Duration::from_millis(300));
        let visits = self.sandbox.browser_visits();
        assert_eq!(visits.len(), count, "{what}: {visits:?}");
    }

    /// Waits until the scripted browser has logged `count` visits. It logs after its
    /// visit ends, which can be just after llmauth has received the redirect and exited.
    pub(crate) fn await_browser_visits(&self, count: usize) {
        let start = Instant::now();
        while self.sandbox.browser_visits().len() < count {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the browser logged {} visits, expected {count}",
                self.sandbox.browser_visits().len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Logs in with a one-second access token and waits until it has expired; later
    /// tokens get the normal lifetime again. The session then holds a usable refresh
    /// token and an expired access token.
    pub(crate) fn login_expired(&self) {
        self.idp.set_access_token_lifetime(Duration::from_secs(1));
        self.login();
        self.idp.set_access_token_lifetime(NORMAL_LIFETIME);
        let expires_at = self.stored_access_expiry_ms();
        let now = unix_ms();
        if expires_at + 50 > now {
            std::thread::sleep(Duration::from_millis(expires_at + 50 - now));
        }
    }

    /// The session key, as `config show` reports it.
    pub(crate) fn session_key(&self) -> String {
        let shown = self.run(&["config", "show", "--format", "json"]);
        expect_exit(&shown, 0, "config show");
        let json: Value = serde_json::from_str(&shown.stdout).expect("config show JSON");
        json["session_key"]
            .as_str()
            .expect("session_key in config show")
            .to_owned()
    }

    /// `$STATE/sessions/<key>.json` (file backend).
    pub(crate) fn session_file(&self) -> PathBuf {
        self.sandbox
            .state_dir()
            .join("sessions")
            .join(format!("{}.json", self.session_key()))
    }

    /// `$XDG_RUNTIME_DIR/llmauth/<key>.at` (keyring backend).
    pub(crate) fn access_cache_file(&self) -> PathBuf {
        self.sandbox
            .runtime_dir()
            .join("llmauth")
            .join(format!("{}.at", self.session_key()))
    }

    /// `$STATE/locks/<key>.lock`.
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.sandbox
            .state_dir()
            .join("locks")
            .join(format!("{}.lock", self.session_key()))
    }

    /// `$STATE/last-error/<key>.json`.
    pub(crate) fn last_error_file(&self) -> PathBuf {
        self.sandbox
            .state_dir()
            .join("last-error")
            .join(format!("{}.json", self.session_key()))
    }

    /// The file-backend session record.
    pub(crate) fn stored_session(&self) -> Value {
        let text = std::fs::read_to_string(self.session_file()).expect("session file");
        serde_json::from_str(&text).expect("session file JSON")
    }

    /// The refresh token in the file-backend session record.
    pub(crate) fn stored_refresh_token(&self) -> String {
        self.stored_session()["refresh"]["refresh_token"]
            .as_str()
            .expect("stored refresh token")
            .to_owned()
    }

    /// `expires_at` (Unix ms) of the cached access token, from whichever backend holds it.
    pub(crate) fn stored_access_expiry_ms(&self) -> u64 {
        let file = if self.session_file().exists() {
            self.session_file()
        } else {
            self.access_cache_file()
        };
        let text = std::fs::read_to_string(&file).expect("access-token record");
        let json: Value = serde_json::from_str(&text).expect("access-token record JSON");
        json["access"]["expires_at"]
            .as_u64()
            .expect("access.expires_at")
    }

    /// A real request to the gateway with this bearer token; the HTTP status.
    pub(crate) fn gateway_status(&self, token: &str) -> u16 {
        let response = self
            .idp
            .ca()
            .agent()
            .get(format!("{}/v1/models", self.gateway.url()))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .expect("gateway request");
        response.status().as_u16()
    }

    /// Starts `count` `llmauth token` processes at once and waits for all of them.
    pub(crate) fn concurrent_tokens(&self, count: usize, args: &[&str]) -> Vec<Finished> {
        let mut full = vec!["token"];
        full.extend_from_slice(args);
        let children: Vec<Running> = (0..count)
            .map(|_| Running::new(self.sandbox.spawn(&full)))
            .collect();
        children
            .into_iter()
            .map(|running| wait(running.into_child(), Duration::from_secs(90)))
            .collect()
    }
}

/// A started `llmauth` that is killed (by its pid) if the test fails before it ends.
pub(crate) struct Running(Option<Child>);

impl Running {
    pub(crate) fn new(child: Child) -> Running {
        Running(Some(child))
    }

    /// The process.
    pub(crate) fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the process was handed over")
    }

    /// Hands the process over (to wait for it).
    pub(crate) fn into_child(mut self) -> Child {
        self.0.take().expect("the process was handed over")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `llmauth <args>` with `input` (and a newline) on standard input.
pub(crate) fn run_with_stdin(sandbox: &Sandbox, args: &[&str], input: Option<&str>) -> Finished {
    let mut command = sandbox.command(args);
    if input.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("start llmauth");
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        writeln!(stdin, "{input}").expect("write standard input");
    }
    wait(child, Duration::from_secs(60))
}

/// Panics with the process's output unless it exited with `code`.
pub(crate) fn expect_exit(finished: &Finished, code: i32, what: &str) {
    assert_eq!(
        finished.code, code,
        "{what}: expected exit {code}, got {}\nstdout: {}\nstderr: {}",
        finished.code, finished.stdout, finished.stderr
    );
}

/// The one line `token` printed, without its newline; panics unless stdout is exactly
/// one line.
pub(crate) fn printed_token(finished: &Finished) -> String {
    expect_exit(finished, 0, "token");
    let token = finished
        .stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("token output must end in a newline: {:?}", finished.stdout));
    assert!(
        !token.is_empty() && !token.contains('\n'),
        "token must print one non-empty line: {:?}",
        finished.stdout
    );
    token.to_owned()
}

/// The claims of a JWT (panics unless it is one).
pub(crate) fn jwt_claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(
        parts.len(),
        3,
        "not a JWT: three dot-separated parts expected"
    );
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .expect("JWT payload is base64url");
    serde_json::from_slice(&payload).expect("JWT payload is JSON")
}

/// Now, in Unix milliseconds.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.f]Z`;
/// `None` for anything else.
pub(crate) fn rfc3339_utc_to_unix(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let time = time.split_once('.').map_or(time, |(whole, fraction)| {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            ""
        } else {
            whole
        }
    });
    let number = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (year, month, day) = (
        number(d.next()?, 4)?,
        number(d.next()?, 2)?,
        number(d.next()?, 2)?,
    );
    let mut t = time.split(':');
    let (hour, minute, second) = (
        number(t.next()?, 2)?,
        number(t.next()?, 2)?,
        number(t.next()?, 2)?,
    );
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from civil (proleptic Gregorian), H. Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Takes `$STATE/locks/<key>.lock` in this process, as a stuck llmauth would.
pub(crate) fn hold_lock(world: &World) -> File {
    let path = world.lock_file();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("locks directory");
    }
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .expect("open the lock file");
    file.lock().expect("take the session lock");
    file
}

#[test]
fn rfc3339_reader_matches_known_instants() {
    assert_eq!(rfc3339_utc_to_unix("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        rfc3339_utc_to_unix("2024-02-29T12:34:56Z"),
        Some(1_709_210_096)
    );
    assert_eq!(
        rfc3339_utc_to_unix("2024-02-29T12:34:56.789Z"),
        Some(1_709_210_096)
    );
    assert_eq!(rfc3339_utc_to_unix("2024-02-29 12:34:56Z"), None);
    assert_eq!(rfc3339_utc_to_unix("2024-02-29T12:34:56+00:00"), None);
    assert_eq!(rfc3339_utc_to_unix("2024-13-01T00:00:00Z"), None);
}
