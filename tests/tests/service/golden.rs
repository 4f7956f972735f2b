//! The service definitions, per platform, are exactly the reviewed files in
//! `tests/fixtures/service/` (`LLMAUTH_BLESS=1` rewrites them; review the diff).

use std::path::{Path, PathBuf};

use llmauth_core::service::ServiceSpec;
use llmauth_core::service::units::{launchd_plist, systemd_service, systemd_socket, task_xml};
use llmauth_core::setup::helper::Helper;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/service")
}

fn compare(name: &str, actual: &str) {
    let path = fixtures().join(name);
    if std::env::var_os("LLMAUTH_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs from what install writes (LLMAUTH_BLESS=1 rewrites it)",
        path.display()
    );
}

/// A non-default config and state directory (both carried into the service), as on
/// each platform.
fn spec(program: &str, config: &str, state_dir: &str, log_file: &str) -> ServiceSpec {
    ServiceSpec {
        helper: Helper {
            program: program.into(),
            on_path: false,
            config: Some(config.into()),
            lean: None,
        },
        state_dir: Some(state_dir.into()),
        port: 14000,
        ipv6: true,
        log_file: log_file.into(),
        user: "WORKSTATION\\ada".into(),
    }
}

#[test]
fn systemd_user_units() {
    let spec = spec(
        "/home/ada/.cargo/bin/llmauth",
        "/home/ada/work configs/llmauth.yaml",
        "/home/ada/.local/state/llmauth-work",
        "/home/ada/.local/state/llmauth-work/proxy-service.log",
    );
    compare("llmauth-proxy.socket", &systemd_socket(&spec));
    compare("llmauth-proxy.service", &systemd_service(&spec));
    let without_ipv6 = ServiceSpec {
        ipv6: false,
        ..spec
    };
    compare(
        "llmauth-proxy-ipv4-only.socket",
        &systemd_socket(&without_ipv6),
    );
}

#[test]
fn launchd_agent() {
    let spec = spec(
        "/Users/ada/.cargo/bin/llmauth",
        "/Users/ada/Work & Play/llmauth.yaml",
        "/Users/ada/Library/Application Support/llmauth/state-work",
        "/Users/ada/Library/Application Support/llmauth/state-work/proxy-service.log",
    );
    compare("llmauth.proxy.plist", &launchd_plist(&spec));
}

#[test]
fn windows_logon_task() {
    let spec = spec(
        "C:\\Users\\ada\\.cargo\\bin\\llmauth.exe",
        "C:\\Users\\ada\\My Configs\\llmauth.yaml",
        "C:\\Users\\ada\\AppData\\Local\\llmauth-work",
        "C:\\Users\\ada\\AppData\\Local\\llmauth-work\\proxy-service.log",
    );
    compare("proxy-service.xml", &task_xml(&spec));
}
