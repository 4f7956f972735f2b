//! A sandboxed llmauth with a config (no IdP needed to install a service), free ports,
//! and a stand-in `systemctl` that answers as a running user manager and logs each call.

use std::path::{Path, PathBuf};

use llmauth_tests::sandbox::Sandbox;

/// The real command line, built in the tests package.
pub(crate) const LLMAUTH: &str = env!("CARGO_BIN_EXE_llmauth-under-test");

/// A sandbox configured for a (never contacted) gateway and IdP, the proxy on `port`.
pub(crate) fn configured(port: u16) -> Sandbox {
    let sandbox = Sandbox::new(Path::new(LLMAUTH), None);
    let port = port.to_string();
    let set = sandbox.run(&[
        "config",
        "set",
        "--gateway-url",
        "https://gateway.invalid",
        "--issuer",
        "https://idp.invalid",
        "--client-id",
        "llmauth",
        "--proxy-port",
        &port,
    ]);
    assert_eq!(set.code, 0, "config set: {}", set.stderr);
    sandbox
}

/// A loopback port nothing listens on (as far as anyone can tell).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Puts a `systemctl` on the sandbox's PATH that says a user manager runs, logs its
/// arguments (one call per line) and does nothing else; returns the log's path.
pub(crate) fn fake_systemctl(sandbox: &mut Sandbox) -> PathBuf {
    let bin = sandbox.root().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = sandbox.root().join("systemctl.log");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *is-system-running*) echo running ;; esac\nexit 0\n",
        log.display()
    );
    let path = bin.join("systemctl");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    sandbox.set_env("PATH", &bin);
    log
}

/// The calls the stand-in `systemctl` logged.
pub(crate) fn systemctl_calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}
