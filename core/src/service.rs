//! The proxy as a per-user service (SPEC §2 `proxy install|uninstall|status|stop`): every
//! decision, as pure functions the runtime performs.
//!
//! * [`units`]: the text of the systemd user units, the launchd agent and the Windows
//!   logon task.
//! * [`install`]: what `proxy install` writes (with a receipt, as setup does), which
//!   commands register it with the service manager, and what `uninstall` runs before the
//!   files go.
//! * [`activation`]: whether the listening sockets this process inherited are its own
//!   (`LISTEN_PID`/`LISTEN_FDS`), and whether they may be served.
//! * [`control`]: whether a user manager answers, how `proxy stop` stops a proxy, and
//!   whether a process is an llmauth proxy of this user.
//!
//! ```text
//! proxy install     units::* → install::plan → per file: receipt, then the file
//!                   manager answers? install::activate (daemon-reload, enable --now)
//!                                  : install::manual_start (one line)
//! proxy uninstall   manager answers? install::deactivate; then setup's teardown of the
//!                   receipt's files (each removed only while it holds what was written)
//! proxy start       activation::decide → inherited sockets, or bind by itself
//! proxy stop        health answer → control::stop_plan → systemctl stop | SIGTERM to a
//!                   pid control::is_our_proxy accepted → wait until the port is silent
//! ```

pub mod activation;
pub mod control;
pub mod install;
pub mod units;

use crate::setup::helper::Helper;
use crate::setup::tool::Platform;

/// The systemd socket unit.
pub const SOCKET_UNIT: &str = "llmauth-proxy.socket";
/// The systemd service unit the socket activates.
pub const SERVICE_UNIT: &str = "llmauth-proxy.service";
/// The launchd agent's label (and its plist's name).
pub const LAUNCHD_LABEL: &str = "llmauth.proxy";
/// The Windows scheduled task's name.
pub const TASK_NAME: &str = "llmauth proxy";
/// The receipt's name in `$STATE/receipts/` (`proxy-service.json`); never a tool's.
pub const RECEIPT_NAME: &str = "proxy-service";
/// The receipt's `mode`.
pub const RECEIPT_MODE: &str = "service";

/// The per-user service manager of a platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manager {
    /// A systemd user manager (`systemctl --user`), with socket activation.
    Systemd,
    /// launchd (a LaunchAgent in the user's GUI domain).
    Launchd,
    /// The Windows Task Scheduler (a task that starts at logon).
    TaskScheduler,
}

impl Manager {
    /// The manager of `platform`.
    pub fn of(platform: Platform) -> Self {
        match platform {
            Platform::Linux => Self::Systemd,
            Platform::Mac => Self::Launchd,
            Platform::Windows => Self::TaskScheduler,
        }
    }

    /// Its name in `--managed-by`, the health answer and `proxy status`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Systemd => "systemd",
            Self::Launchd => "launchd",
            Self::TaskScheduler => "task-scheduler",
        }
    }

    /// The manager named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Systemd, Self::Launchd, Self::TaskScheduler]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// Everything the service definitions say, as the runtime found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The running llmauth (its absolute path) and `--config` when non-default.
    pub helper: Helper,
    /// `LLMAUTH_STATE_DIR` when this run has it: the service must use the same state (the
    /// local key lives there), and a manager does not pass on a shell's environment.
    pub state_dir: Option<String>,
    /// `proxy.listen_port`: the port the socket unit listens on.
    pub port: u16,
    /// Whether `[::1]` can be bound here (a socket unit fails whole when one of its
    /// addresses cannot be bound).
    pub ipv6: bool,
    /// Where launchd writes the proxy's output (launchd discards it otherwise).
    pub log_file: String,
    /// The Windows account the logon task belongs to (`DOMAIN\user`).
    pub user: String,
}

impl ServiceSpec {
    /// The proxy's command line after the program, for `manager`.
    pub fn proxy_args(&self, manager: Manager) -> Vec<String> {
        let mut args = vec![
            "proxy".to_owned(),
            "start".to_owned(),
            "--managed-by".to_owned(),
            manager.name().to_owned(),
        ];
        if let Some(config) = &self.helper.config {
            args.push("--config".to_owned());
            args.push(config.clone());
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_by_platform_and_name() {
        for platform in [Platform::Linux, Platform::Mac, Platform::Windows] {
            let manager = Manager::of(platform);
            assert_eq!(Manager::parse(manager.name()), Some(manager));
        }
        assert_eq!(Manager::parse("upstart"), None);
    }
}
