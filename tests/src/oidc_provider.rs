//! Launcher for a real OpenID Provider: panva's `oidc-provider` (Node.js), configured by
//! `tests/oidc-provider/server.mjs` to be driven headlessly.
//!
//! End-to-end tests run llmauth against it so that the protocol details we rely on
//! (PKCE, `prompt=consent` before `offline_access`, refresh-token rotation and reuse
//! detection, resource indicators, the device flow, revocation) are those of a widely used
//! provider, not of our own stand-in. The provider listens on `https://127.0.0.1:<port>`
//! with the certificate the test gives it; its interaction page logs in `e2e-user` and
//! grants everything on a plain GET, and its device-flow pages are self-submitting forms.
//!
//! The Node project must be installed first (`npm ci --prefix tests/oidc-provider`, which
//! `scripts/test` does). When it is not, [`OidcProvider::start`] fails with a message that
//! says so — tests turn that into a failure, never a silent skip.

use std::fmt;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::Deserialize;
use tempfile::TempDir;

/// How long the provider may take to print its ready line (Node start-up plus key
/// generation takes well under a second here; CI machines can be much slower).
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Name of the stderr log inside the provider's temporary directory.
const LOG_FILE: &str = "oidc-provider.log";

/// The certificate and key the provider serves on 127.0.0.1.
#[derive(Clone)]
pub enum TlsMaterial {
    /// PEM files that already exist (the caller keeps them alive while the provider runs).
    Files {
        /// Certificate chain, leaf first.
        cert: PathBuf,
        /// Private key of the leaf (PKCS#8, SEC1 or PKCS#1 PEM).
        key: PathBuf,
    },
    /// PEM text; written to the provider's temporary directory.
    Pem {
        /// Certificate chain, leaf first.
        cert: String,
        /// Private key of the leaf.
        key: String,
    },
}

impl fmt::Debug for TlsMaterial {
    /// Paths are shown; PEM text is not (a test key is still a key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Files { cert, key } => f
                .debug_struct("Files")
                .field("cert", cert)
                .field("key", key)
                .finish(),
            Self::Pem { .. } => f.write_str("Pem { .. }"),
        }
    }
}

/// Options for [`OidcProvider::start`]. Build with [`OidcProviderOptions::new`] and adjust
/// the public fields.
#[derive(Debug, Clone)]
pub struct OidcProviderOptions {
    /// Server certificate for 127.0.0.1 and its key.
    pub tls: TlsMaterial,
    /// Port on 127.0.0.1; 0 picks a free one (the issuer names the port actually used).
    pub port: u16,
    /// The public native client the provider knows.
    pub client_id: String,
    /// Resource indicator of the gateway; JWT access tokens for it carry it as `aud`.
    pub audience: String,
    /// Space-separated scopes the gateway resource accepts (they end up in the JWT's
    /// `scope` when requested).
    pub resource_scope: String,
    /// Lifetime of access tokens (whole seconds, at least 1).
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (and grants); `None` keeps the provider's 14 days.
    pub refresh_token_ttl: Option<Duration>,
    /// Extra explicit redirect ports. The client is registered with port-less loopback
    /// callbacks, which this provider matches on any port (RFC 8252 §7.3), so these are
    /// only needed to make a test's expectations explicit.
    pub redirect_ports: Vec<u16>,
    /// `interval` to announce in device-authorization responses; `None` omits it, so
    /// clients fall back to RFC 8628's 5 seconds.
    pub device_interval: Option<Duration>,
    /// How long the answer to each refresh is held back after the provider rotated the
    /// refresh token (a slow IdP): makes concurrent clients overlap with one refresh for
    /// certain. Whole milliseconds; zero (default) answers at once.
    pub refresh_delay: Duration,
}

impl OidcProviderOptions {
    /// Defaults that match llmauth's end-to-end configuration: client `llmauth-e2e`,
    /// audience `https://gateway.llmauth.test`, resource scope `llm:invoke`, 300 s access
    /// tokens, any free port.
    pub fn new(tls: TlsMaterial) -> Self {
        Self {
            tls,
            port: 0,
            client_id: "llmauth-e2e".to_owned(),
            audience: "https://gateway.llmauth.test".to_owned(),
            resource_scope: "llm:invoke".to_owned(),
            access_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: None,
            redirect_ports: Vec::new(),
            device_interval: None,
            refresh_delay: Duration::ZERO,
        }
    }
}

/// A running `oidc-provider`. Dropping it closes the provider's stdin, kills it and waits
/// for it; if the current thread is panicking (a failed test), the log is kept on disk and
/// its path printed on stderr.
#[derive(Debug)]
pub struct OidcProvider {
    child: Child,
    /// Held open: the server exits when its stdin reaches end of file, so it cannot outlive
    /// the test process even when `Drop` never runs (abort, SIGKILL).
    stdin: Option<ChildStdin>,
    issuer: String,
    port: u16,
    client_id: String,
    audience: String,
    log_path: PathBuf,
    dir: Option<TempDir>,
}

/// The one line `server.mjs` prints on stdout when it listens.
#[derive(Deserialize)]
struct ReadyLine {
    issuer: String,
    ready: bool,
}

impl OidcProvider {
    /// Directory of the Node project (`tests/oidc-provider`).
    pub fn project_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
    }

    /// Starts the provider and waits (at most 20 s) until it listens.
    ///
    /// Errors carry the reason and, when the process started, the tail of its log.
    pub fn start(options: OidcProviderOptions) -> Result<Self, String> {
        let project = Self::project_dir();
        if !project
            .join("node_modules/oidc-provider/package.json")
            .is_file()
        {
            return Err(format!(
                "the test OpenID Provider is not installed: run `npm ci --prefix tests/oidc-provider` \
                 (or `scripts/test`, which installs it); looked in {}",
                project.join("node_modules").display()
            ));
        }
        let ttl = whole_seconds("access_token_ttl", options.access_token_ttl)?;

        let dir = tempfile::Builder::new()
            .prefix("llmauth-oidc-provider-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let (cert, key) = match &options.tls {
            TlsMaterial::Files { cert, key } => (cert.clone(), key.clone()),
            TlsMaterial::Pem { cert, key } => {
                let cert_path = dir.path().join("cert.pem");
                let key_path = dir.path().join("key.pem");
                write_file(&cert_path, cert)?;
                write_file(&key_path, key)?;
                (cert_path, key_path)
            }
        };
        let log_path = dir.path().join(LOG_FILE);
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;

        let mut command = Command::new("node");
        command
            .current_dir(&project)
            .arg("server.mjs")
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--port", &options.port.to_string()])
            .args(["--client-id", &options.client_id])
            .args(["--audience", &options.audience])
            .args(["--resource-scope", &options.resource_scope])
            .args(["--access-token-ttl", &ttl.to_string()]);
        if let Some(rt_ttl) = options.refresh_token_ttl {
            let secs = whole_seconds("refresh_token_ttl", rt_ttl)?;
            command.args(["--refresh-token-ttl", &secs.to_string()]);
        }
        for port in &options.redirect_ports {
            command.args(["--redirect-port", &port.to_string()]);
        }
        if !options.refresh_delay.is_zero() {
            let millis = options.refresh_delay.as_millis().to_string();
            command.args(["--refresh-delay-ms", &millis]);
        }
        if let Some(interval) = options.device_interval {
            let secs = whole_seconds("device_interval", interval)?;
            command.args(["--device-interval", &secs.to_string()]);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));

        let mut child = command.spawn().map_err(|e| {
            format!("cannot run `node` (Node.js 20.19 or newer must be on PATH): {e}")
        })?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            stop(&mut child);
            return Err("node's stdout was not captured".to_owned());
        };

        let failure = |child: &mut Child, why: String| {
            stop(child);
            format!("{why}\n{}", log_tail(&log_path))
        };

        // A reader thread hands over the first line and then drains stdout, so the server
        // can never block on a full pipe; it ends when the server exits.
        let (tx, rx) = mpsc::channel();
        let reader = thread::Builder::new()
            .name("oidc-provider-stdout".to_owned())
            .spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                let first = lines.next();
                // The receiver may be gone after a timeout; nothing to do then.
                let _ = tx.send(first);
                for _ in lines {}
            });
        if let Err(e) = reader {
            return Err(failure(
                &mut child,
                format!("cannot spawn the stdout reader: {e}"),
            ));
        }
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(Some(Err(e))) => {
                return Err(failure(&mut child, format!("reading node's stdout: {e}")));
            }
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(failure(
                    &mut child,
                    "oidc-provider exited before it was ready".to_owned(),
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(failure(
                    &mut child,
                    format!(
                        "oidc-provider was not ready within {} s",
                        READY_TIMEOUT.as_secs()
                    ),
                ));
            }
        };
        let ready: ReadyLine = match serde_json::from_str(&line) {
            Ok(ready) => ready,
            Err(e) => {
                return Err(failure(
                    &mut child,
                    format!("unexpected ready line from oidc-provider: {e}"),
                ));
            }
        };
        let port = ready
            .issuer
            .strip_prefix("https://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port.filter(|_| ready.ready) else {
            return Err(failure(
                &mut child,
                format!(
                    "oidc-provider announced an unexpected issuer {:?}",
                    ready.issuer
                ),
            ));
        };

        Ok(Self {
            child,
            stdin,
            issuer: ready.issuer,
            port,
            client_id: options.client_id,
            audience: options.audience,
            log_path,
            dir: Some(dir),
        })
    }

    /// The issuer exactly as the provider spells it: `https://127.0.0.1:<port>`, no
    /// trailing slash.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The port the provider listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The registered public client.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The gateway's resource indicator, which is the `aud` of its JWT access tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The provider's stderr (request lines, interactions, errors; never tokens).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The provider's stderr so far, for assertions and failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `<issuer>/token` (the provider's default route).
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// `<issuer>/jwks`, where a resource server finds the RS256 keys of the JWT access
    /// tokens.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// The token-endpoint requests so far whose `grant_type` is `grant_type`, whatever
    /// their outcome: one `(status, error code)` each, in order. `server.mjs` logs one
    /// line per request, so tests can count refreshes that reached the provider — a
    /// replayed refresh token fails, which would otherwise go unseen.
    pub fn token_requests(&self, grant_type: &str) -> Vec<(u16, Option<String>)> {
        self.log()
            .lines()
            .filter_map(|line| line.strip_prefix("oidc-provider: token request "))
            .filter_map(|rest| {
                let mut fields = rest.split(' ');
                let logged = fields.next()?.strip_prefix("grant_type=")?;
                if logged != grant_type {
                    return None;
                }
                let status = fields.next()?.strip_prefix("status=")?.parse().ok()?;
                let error = fields
                    .next()
                    .and_then(|f| f.strip_prefix("error="))
                    .map(str::to_owned);
                Some((status, error))
            })
            .collect()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        drop(self.stdin.take());
        stop(&mut self.child);
        if thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            let kept = dir.keep();
            eprintln!(
                "oidc-provider log kept for this failure: {}",
                kept.join(LOG_FILE).display()
            );
        }
    }
}

/// Kills the child (ignoring "already exited") and reaps it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn write_file(path: &Path, contents: &str) -> Result<(), String> {
    let mut file =
        File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn whole_seconds(name: &str, duration: Duration) -> Result<u64, String> {
    if duration.subsec_nanos() != 0 || duration.as_secs() == 0 {
        return Err(format!(
            "{name} must be a whole number of seconds, at least 1"
        ));
    }
    Ok(duration.as_secs())
}

/// The last lines of the provider's log, for error messages.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    format!("--- {} (last 20 lines) ---\n{tail}", path.display())
}
