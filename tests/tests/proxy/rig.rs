//! The world a proxy test runs in: a test IdP, a gateway that verifies its tokens, a
//! sandboxed `llmauth` signed in to both, and `llmauth proxy start` as a child process.

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use llmauth_tests::ca::TestCa;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::idp::{IdpOptions, TestIdp};
use llmauth_tests::sandbox::{Finished, Sandbox};

/// The real command line, built in the tests package.
pub(crate) const LLMAUTH: &str = env!("CARGO_BIN_EXE_llmauth-under-test");
/// The scripted browser, used as `$BROWSER`.
pub(crate) const BROWSER: &str = env!("CARGO_BIN_EXE_fake-browser");

/// How the world is set up.
#[derive(Default)]
pub(crate) struct Setup {
    pub(crate) idp: IdpOptions,
    /// Appended to the gateway's URL in the config (`/v1`, `/anthropic`).
    pub(crate) gateway_path: &'static str,
    /// No clock-skew allowance at the gateway: an expired token is rejected at once.
    pub(crate) strict_expiry: bool,
    /// The gateway's certificate comes from a CA of its own, not in `tls.ca_file`.
    pub(crate) untrusted_gateway: bool,
    pub(crate) extra_config: Vec<&'static str>,
}

/// One IdP, one gateway trusting it, one sandbox configured and signed in.
pub(crate) struct Rig {
    pub(crate) idp: TestIdp,
    pub(crate) gateway: TestGateway,
    pub(crate) sandbox: Sandbox,
    pub(crate) ca_file: PathBuf,
}

impl Rig {
    /// Default IdP, file backend, signed in.
    pub(crate) fn new() -> Self {
        Self::with(Setup::default())
    }

    pub(crate) fn with(setup: Setup) -> Self {
        let ca = Arc::new(TestCa::new());
        let idp = TestIdp::start_with_ca(setup.idp, Arc::clone(&ca));
        let mut options = GatewayOptions::for_idp(&idp);
        if setup.strict_expiry {
            options.leeway = Duration::ZERO;
        }
        let gateway = if setup.untrusted_gateway {
            options.jwks_extra_roots_pem = Some(ca.ca_pem().to_owned());
            TestGateway::start(options, Arc::new(TestCa::new()))
        } else {
            TestGateway::start(options, ca)
        };
        let mut sandbox = Sandbox::new(Path::new(LLMAUTH), Some(Path::new(BROWSER)));
        let ca_file = idp
            .ca()
            .write_ca_pem(sandbox.root())
            .expect("write the CA file");
        sandbox.set_env("LLMAUTH_TEST_CA", &ca_file);
        let mut extra = vec!["--secrets-backend", "file"];
        extra.extend(setup.extra_config);
        sandbox.configure(
            idp.issuer(),
            &format!("{}{}", gateway.url(), setup.gateway_path),
            idp.client_id(),
            &ca_file,
            &extra,
        );
        let rig = Self {
            idp,
            gateway,
            sandbox,
            ca_file,
        };
        let login = rig.run(&["login"]);
        assert_eq!(login.code, 0, "login failed: {}", login.stderr);
        rig
    }

    /// `llmauth <args>`.
    pub(crate) fn run(&self, args: &[&str]) -> Finished {
        self.sandbox.run(args)
    }

    /// `llmauth proxy key`.
    pub(crate) fn key(&self) -> String {
        let finished = self.run(&["proxy", "key"]);
        assert_eq!(finished.code, 0, "proxy key: {}", finished.stderr);
        finished.stdout.trim().to_owned()
    }

    /// `llmauth proxy start --port 0 --skip-browser`, once it says it is listening.
    pub(crate) fn start_proxy(&self) -> RunningProxy {
        self.start_proxy_on("0")
    }

    /// `llmauth proxy start --port <port> --skip-browser`, once it says it is listening.
    pub(crate) fn start_proxy_on(&self, port: &str) -> RunningProxy {
        self.start_proxy_with(&["--port", port])
    }

    /// `llmauth proxy start --skip-browser <args>`, once it says it is listening.
    pub(crate) fn start_proxy_with(&self, args: &[&str]) -> RunningProxy {
        let mut command = vec!["proxy", "start", "--skip-browser"];
        command.extend_from_slice(args);
        RunningProxy::start(self.sandbox.command(&command))
    }

    /// The access token the IdP issued last.
    pub(crate) fn last_token(&self) -> String {
        self.idp.last_access_token().expect("a token was issued")
    }
}

/// `llmauth proxy start` running as a child process; killed when dropped.
pub(crate) struct RunningProxy {
    child: Child,
    pub(crate) port: u16,
    stderr: Arc<Mutex<String>>,
    extra_stdout: Arc<Mutex<String>>,
}

impl RunningProxy {
    /// Starts `command` (an `llmauth proxy start`) and waits for its ready line.
    pub(crate) fn start(mut command: Command) -> Self {
        // Three workers whatever the machine's cores, so connections of one test land on
        // different workers (each with its own reactor and gateway pool).
        if !command
            .get_envs()
            .any(|(name, _)| name == "LLMAUTH_PROXY_THREADS")
        {
            command.env("LLMAUTH_PROXY_THREADS", "3");
        }
        let mut child = command.spawn().expect("start llmauth proxy");
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.lock().expect("stderr buffer").push_str(&line);
                line.clear();
            }
        });
        let (ready, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let _ = ready.send(line.clone());
                line.clear();
            }
        });
        let mut proxy = Self {
            child,
            port: 0,
            stderr,
            extra_stdout: Arc::new(Mutex::new(String::new())),
        };
        let line = match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => panic!(
                "the proxy never said it listens; stderr: {}",
                proxy.stderr()
            ),
        };
        let port = line
            .trim()
            .strip_prefix("llmauth proxy listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
        proxy.port = port;
        let extra = Arc::clone(&proxy.extra_stdout);
        std::thread::spawn(move || {
            for line in lines {
                extra.lock().expect("stdout buffer").push_str(&line);
            }
        });
        proxy
    }

    /// Whatever the proxy wrote to stdout after its ready line (must stay empty).
    pub(crate) fn extra_stdout(&self) -> String {
        self.extra_stdout.lock().expect("stdout buffer").clone()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the proxy wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `limit`; its exit code (`None` if it did not
    /// exit in time).
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `(VmRSS, VmHWM)` in KiB from `/proc/<pid>/status`.
    pub(crate) fn memory_kib(&self) -> (u64, u64) {
        let mut status = String::new();
        std::fs::File::open(format!("/proc/{}/status", self.pid()))
            .and_then(|mut f| f.read_to_string(&mut status))
            .expect("read /proc/<pid>/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} missing in /proc status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (as far as anyone can tell).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `condition` every 10 ms for up to `limit`.
pub(crate) fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
