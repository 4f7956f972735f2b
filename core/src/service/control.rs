//! `proxy stop` and the checks around the service: whether a manager answers, how a
//! running proxy is stopped, and whether a pid is really an llmauth proxy of this user
//! (the pid comes from whatever answers on the port, which another local user could
//! have bound).

use super::install::Command;
use super::{Manager, SERVICE_UNIT, SOCKET_UNIT, TASK_NAME};

/// The command that asks whether `manager` answers for this user.
pub fn probe(manager: Manager, uid: u32) -> Command {
    let (program, args): (&'static str, Vec<String>) = match manager {
        Manager::Systemd => (
            "systemctl",
            vec!["--user".into(), "is-system-running".into()],
        ),
        Manager::Launchd => ("launchctl", vec!["print".into(), format!("gui/{uid}")]),
        Manager::TaskScheduler => ("schtasks", vec!["/Query".into()]),
    };
    Command {
        program,
        args,
        must_succeed: false,
    }
}

/// Whether the answer to [`probe`] shows a manager at work. `systemctl --user
/// is-system-running` exits non-zero for a degraded manager, which still runs units; it
/// prints `offline` (or nothing) when there is none to ask.
pub fn manager_answers(manager: Manager, succeeded: bool, stdout: &str) -> bool {
    match manager {
        Manager::Systemd => matches!(
            stdout.trim(),
            "running" | "degraded" | "starting" | "initializing" | "maintenance"
        ),
        Manager::Launchd | Manager::TaskScheduler => succeeded,
    }
}

/// How to stop the llmauth proxy that answered on the configured port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopPlan {
    /// A manager started it: stop it through the manager, or the manager would start it
    /// again (systemd at the next connection to its socket, Task Scheduler after what
    /// looks like a failure).
    Manager(Vec<Command>),
    /// A proxy started by hand (or by a manager that leaves a clean exit alone): SIGTERM
    /// to this pid, once [`is_our_proxy`] accepted it.
    Signal(u32),
    /// An llmauth proxy too old to say its pid.
    NoPid,
}

/// The plan for the proxy whose health answer says it was started by `managed_by` (`None`:
/// by hand) and runs as process `pid` (`None`: an older proxy that does not say).
pub fn stop_plan(managed_by: Option<Manager>, pid: Option<u32>) -> StopPlan {
    match (managed_by, pid) {
        (Some(Manager::Systemd), _) => StopPlan::Manager(vec![Command {
            program: "systemctl",
            args: vec![
                "--user".into(),
                "stop".into(),
                SOCKET_UNIT.into(),
                SERVICE_UNIT.into(),
            ],
            must_succeed: true,
        }]),
        // Ending the task is no failure, so Task Scheduler does not restart it.
        (Some(Manager::TaskScheduler), _) => StopPlan::Manager(vec![Command {
            program: "schtasks",
            args: vec!["/End".into(), "/TN".into(), TASK_NAME.into()],
            must_succeed: true,
        }]),
        (_, Some(pid)) => StopPlan::Signal(pid),
        (_, None) => StopPlan::NoPid,
    }
}

/// What the runtime found out about a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessFacts {
    /// Its owner's user id (`None`: unknown, e.g. the process is gone).
    pub uid: Option<u32>,
    /// This process's user id.
    pub our_uid: u32,
    /// The file name of its executable.
    pub program: Option<String>,
    /// Its arguments after the program.
    pub args: Vec<String>,
}

/// Why a pid is not signalled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotOurProxy {
    /// No such process (it may just have stopped).
    #[error("process {0} is gone")]
    Gone(u32),
    /// Another user's process.
    #[error("process {0} belongs to another user")]
    OtherUser(u32),
    /// Not `llmauth proxy start`.
    #[error("process {0} is not an llmauth proxy")]
    NotProxy(u32),
}

/// Accepts `pid` only when it is this user's process running `llmauth … proxy start`.
///
/// # Errors
/// [`NotOurProxy`], saying why.
pub fn is_our_proxy(pid: u32, facts: &ProcessFacts) -> Result<(), NotOurProxy> {
    let uid = facts.uid.ok_or(NotOurProxy::Gone(pid))?;
    if uid != facts.our_uid {
        return Err(NotOurProxy::OtherUser(pid));
    }
    let program = facts
        .program
        .as_deref()
        .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p));
    let llmauth = program.is_some_and(|p| p.starts_with("llmauth"));
    let proxy_start = facts
        .args
        .windows(2)
        .any(|pair| pair[0] == "proxy" && pair[1] == "start");
    if llmauth && proxy_start {
        Ok(())
    } else {
        Err(NotOurProxy::NotProxy(pid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manager_answers_even_when_degraded() {
        for state in ["running\n", "degraded\n"] {
            assert!(manager_answers(Manager::Systemd, false, state));
        }
        assert!(!manager_answers(Manager::Systemd, false, "offline\n"));
        assert!(!manager_answers(Manager::Systemd, false, ""));
        assert!(manager_answers(Manager::Launchd, true, ""));
        assert_eq!(
            probe(Manager::Launchd, 501).display(),
            "launchctl print gui/501"
        );
    }

    #[test]
    fn systemd_stops_its_socket_too_and_others_get_a_signal() {
        assert_eq!(stop_plan(None, Some(7)), StopPlan::Signal(7));
        assert_eq!(
            stop_plan(Some(Manager::Launchd), Some(7)),
            StopPlan::Signal(7)
        );
        let StopPlan::Manager(commands) = stop_plan(Some(Manager::Systemd), Some(7)) else {
            panic!()
        };
        assert_eq!(
            commands[0].display(),
            "systemctl --user stop llmauth-proxy.socket llmauth-proxy.service"
        );
        let StopPlan::Manager(commands) = stop_plan(Some(Manager::TaskScheduler), Some(7)) else {
            panic!()
        };
        assert_eq!(commands[0].display(), "schtasks /End /TN \"llmauth proxy\"");
        assert_eq!(stop_plan(None, None), StopPlan::NoPid);
    }

    #[test]
    fn only_this_users_llmauth_proxy_is_signalled() {
        let proxy = ProcessFacts {
            uid: Some(1000),
            our_uid: 1000,
            program: Some("/usr/local/bin/llmauth".into()),
            args: vec![
                "--config".into(),
                "/c.yaml".into(),
                "proxy".into(),
                "start".into(),
            ],
        };
        assert_eq!(is_our_proxy(9, &proxy), Ok(()));
        let other_user = ProcessFacts {
            uid: Some(0),
            ..proxy.clone()
        };
        assert_eq!(is_our_proxy(9, &other_user), Err(NotOurProxy::OtherUser(9)));
        let shell = ProcessFacts {
            program: Some("/bin/bash".into()),
            args: vec!["-c".into(), "llmauth proxy start".into()],
            ..proxy.clone()
        };
        assert_eq!(is_our_proxy(9, &shell), Err(NotOurProxy::NotProxy(9)));
        let token = ProcessFacts {
            args: vec!["token".into()],
            ..proxy.clone()
        };
        assert_eq!(is_our_proxy(9, &token), Err(NotOurProxy::NotProxy(9)));
        let gone = ProcessFacts { uid: None, ..proxy };
        assert_eq!(is_our_proxy(9, &gone), Err(NotOurProxy::Gone(9)));
    }
}
