//! The real systemd user manager, where one runs for this user: the installed socket unit
//! starts the proxy at the first connection, from the socket systemd passes, and `proxy
//! stop` and `proxy uninstall` take it all away again.
//!
//! This needs a user manager (`systemctl --user is-system-running` answering), which
//! containers and CI machines whose PID 1 is not systemd do not have; there the test says
//! so and ends. Everything it relies on besides systemd itself — the units' text, install
//! and uninstall, socket activation from an inherited socket, stop — is tested everywhere
//! in the other modules and the proxy tests. It also ends, saying so, when this user
//! already has llmauth-proxy units of their own, which it must not replace.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use llmauth_tests::sandbox::Sandbox;

use super::common::{LLMAUTH, free_port};

/// Why the real manager cannot be used here, or `None` when it can.
fn unavailable() -> Option<String> {
    let answer = Command::new("systemctl")
        .args(["--user", "is-system-running"])
        .output();
    let state = match answer {
        Err(e) => return Some(format!("systemctl cannot run ({e})")),
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    };
    if !matches!(state.as_str(), "running" | "degraded") {
        let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        return Some(format!(
            "no systemd user manager answers (it says {state:?}; PID 1 is {:?})",
            pid1.trim()
        ));
    }
    let units = real_config_home().join("systemd/user");
    if units.join("llmauth-proxy.socket").exists() || units.join("llmauth-proxy.service").exists() {
        return Some(format!(
            "{} already holds llmauth-proxy units of this user's own",
            units.display()
        ));
    }
    None
}

fn real_config_home() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".config")
        })
}

#[test]
fn the_real_user_manager_starts_the_proxy_from_its_socket() {
    if let Some(reason) = unavailable() {
        eprintln!("SKIPPED the_real_user_manager_starts_the_proxy_from_its_socket: {reason}");
        return;
    }
    let port = free_port();
    let mut sandbox = Sandbox::new(std::path::Path::new(LLMAUTH), None);
    // The manager reads units from the real home and talks on the real session bus.
    for name in [
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_RUNTIME_DIR",
        "DBUS_SESSION_BUS_ADDRESS",
        "PATH",
    ] {
        match std::env::var_os(name) {
            Some(value) => sandbox.set_env(name, value),
            None => sandbox.unset_env(name),
        };
    }
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
        &port.to_string(),
    ]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let install = sandbox.run(&["proxy", "install"]);
    assert_eq!(install.code, 0, "{}\n{}", install.stdout, install.stderr);
    assert!(install.stdout.contains("It runs now"), "{}", install.stdout);

    // The first connection starts the proxy from the socket systemd holds.
    let status = wait_for(|| {
        let status = sandbox.run(&["proxy", "status", "--format", "json"]);
        (status.code == 0).then_some(status.stdout)
    });
    let json: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(json["managed_by"], "systemd", "{json}");
    assert_eq!(json["port"], port);

    let stop = sandbox.run(&["proxy", "stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert_eq!(sandbox.run(&["proxy", "status"]).code, 4);
    let uninstall = sandbox.run(&["proxy", "uninstall"]);
    assert_eq!(uninstall.code, 0, "{}", uninstall.stderr);
    assert!(
        !real_config_home()
            .join("systemd/user/llmauth-proxy.socket")
            .exists()
    );
}

fn wait_for(mut probe: impl FnMut() -> Option<String>) -> String {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the proxy never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
