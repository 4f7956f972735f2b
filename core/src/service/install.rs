//! `proxy install` / `proxy uninstall`: which files, where, with what receipt, and which
//! commands register the service with its manager and take it away again.
//!
//! The files are whole files llmauth owns, planned and recorded with setup's machinery
//! ([`FoundFile::plan`], [`Receipt`]): the receipt is stored before each
//! file is written, a file that was already there is given back on uninstall, and a file
//! changed since install is left where it is and reported. So install followed by
//! uninstall leaves the home directory as it was — including directories install created,
//! and the manager's own `sockets.target.wants/` when enabling created it.

use std::path::{Path, PathBuf};

use super::units::{launchd_plist, systemd_service, systemd_socket, task_xml};
use super::{
    LAUNCHD_LABEL, Manager, RECEIPT_MODE, RECEIPT_NAME, SERVICE_UNIT, SOCKET_UNIT, ServiceSpec,
    TASK_NAME,
};
use crate::setup::edit::Edit;
use crate::setup::error::SetupError;
use crate::setup::plan::{FileSpec, FoundFile};
use crate::setup::receipt::{Format, RECEIPT_VERSION, Receipt};
use crate::setup::tool::Environment;
use crate::setup::transaction::Step;

/// The files a manager's service consists of, in the order they are written.
pub fn files(
    manager: Manager,
    spec: &ServiceSpec,
    env: &Environment,
    state_dir: &Path,
) -> Vec<FileSpec> {
    let whole = |path: PathBuf, content: String| FileSpec {
        path,
        format: Format::Whole,
        edits: vec![Edit::Whole { content }],
        new_file_mode: 0o644,
        secret: false,
    };
    match manager {
        Manager::Systemd => {
            let dir = systemd_user_dir(env);
            vec![
                whole(dir.join(SOCKET_UNIT), systemd_socket(spec)),
                whole(dir.join(SERVICE_UNIT), systemd_service(spec)),
            ]
        }
        Manager::Launchd => vec![whole(launchd_plist_path(env), launchd_plist(spec))],
        Manager::TaskScheduler => vec![whole(task_xml_path(state_dir), task_xml(spec))],
    }
}

/// The directory a manager creates in the user's home when the service is enabled
/// (systemd's `sockets.target.wants/`); install records it when it is missing, so
/// uninstall removes it again once it is empty.
pub fn enablement_dir(manager: Manager, env: &Environment) -> Option<PathBuf> {
    match manager {
        Manager::Systemd => Some(systemd_user_dir(env).join("sockets.target.wants")),
        Manager::Launchd | Manager::TaskScheduler => None,
    }
}

/// `$XDG_CONFIG_HOME/systemd/user/` (`~/.config/systemd/user/`).
fn systemd_user_dir(env: &Environment) -> PathBuf {
    env.xdg_config_home
        .clone()
        .unwrap_or_else(|| env.home.join(".config"))
        .join("systemd")
        .join("user")
}

/// `~/Library/LaunchAgents/llmauth.proxy.plist`.
fn launchd_plist_path(env: &Environment) -> PathBuf {
    env.home
        .join("Library")
        .join("LaunchAgents")
        .join(format!("{LAUNCHD_LABEL}.plist"))
}

/// `$STATE/proxy-service.xml`: what `schtasks /Create /XML` reads.
fn task_xml_path(state_dir: &Path) -> PathBuf {
    state_dir.join(format!("{RECEIPT_NAME}.xml"))
}

/// A command for the runtime to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The program, found on PATH.
    pub program: &'static str,
    /// Its arguments.
    pub args: Vec<String>,
    /// Whether a failure matters (it is reported either way).
    pub must_succeed: bool,
}

impl Command {
    fn new(program: &'static str, args: &[&str]) -> Self {
        Self {
            program,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            must_succeed: true,
        }
    }

    fn optional(mut self) -> Self {
        self.must_succeed = false;
        self
    }

    /// The command line as a person would type it.
    pub fn display(&self) -> String {
        let mut line = self.program.to_owned();
        for arg in &self.args {
            line.push(' ');
            if arg.contains(' ') {
                line.push_str(&format!("\"{arg}\""));
            } else {
                line.push_str(arg);
            }
        }
        line
    }
}

/// Registers and starts the service once its files are written (`files`, as written),
/// for the user `uid` (launchd's GUI domain).
pub fn activate(manager: Manager, files: &[PathBuf], uid: u32) -> Vec<Command> {
    let first = files
        .first()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    match manager {
        Manager::Systemd => vec![
            Command::new("systemctl", &["--user", "daemon-reload"]),
            Command::new("systemctl", &["--user", "enable", "--now", SOCKET_UNIT]),
        ],
        Manager::Launchd => vec![
            // A loaded agent (an earlier install) must go before it can be loaded anew.
            Command::new("launchctl", &["bootout", &gui_target(uid)]).optional(),
            Command::new("launchctl", &["bootstrap", &gui_domain(uid), &first]),
        ],
        Manager::TaskScheduler => vec![
            Command::new(
                "schtasks",
                &["/Create", "/TN", TASK_NAME, "/XML", &first, "/F"],
            ),
            Command::new("schtasks", &["/Run", "/TN", TASK_NAME]),
        ],
    }
}

/// Stops and unregisters the service before its files are removed.
pub fn deactivate(manager: Manager, uid: u32) -> Vec<Command> {
    match manager {
        Manager::Systemd => vec![Command::new(
            "systemctl",
            &["--user", "disable", "--now", SOCKET_UNIT, SERVICE_UNIT],
        )],
        Manager::Launchd => vec![Command::new("launchctl", &["bootout", &gui_target(uid)])],
        Manager::TaskScheduler => vec![
            Command::new("schtasks", &["/End", "/TN", TASK_NAME]).optional(),
            Command::new("schtasks", &["/Delete", "/TN", TASK_NAME, "/F"]),
        ],
    }
}

/// What tells the manager its files are gone (after uninstall removed them).
pub fn forget(manager: Manager) -> Vec<Command> {
    match manager {
        Manager::Systemd => vec![Command::new("systemctl", &["--user", "daemon-reload"])],
        Manager::Launchd | Manager::TaskScheduler => Vec::new(),
    }
}

/// The one line install prints when no manager answers: the files are written, and this
/// is how to start them once a manager runs (or the proxy without one).
pub fn manual_start(manager: Manager, files: &[PathBuf], uid: u32) -> String {
    let commands = activate(manager, files, uid)
        .iter()
        .filter(|c| c.must_succeed)
        .map(Command::display)
        .collect::<Vec<_>>()
        .join(" && ");
    let (what, nobody) = match manager {
        Manager::Systemd => (
            "the systemd user units are written",
            "no systemd user manager answers here (containers and some SSH sessions have none)",
        ),
        Manager::Launchd => ("the launchd agent is written", "launchctl does not answer"),
        Manager::TaskScheduler => (
            "the task definition is written",
            "the Task Scheduler does not answer",
        ),
    };
    format!(
        "{nobody}: {what}; start it with `{commands}` once one runs, or run `llmauth proxy start` meanwhile"
    )
}

/// What the definition cannot carry, as a line for after install: a logon task has no
/// environment of its own, so `LLMAUTH_STATE_DIR` (and with it the local key) would not
/// reach the proxy.
pub fn not_carried(manager: Manager, spec: &ServiceSpec) -> Option<String> {
    (manager == Manager::TaskScheduler && spec.state_dir.is_some()).then(|| {
        "LLMAUTH_STATE_DIR is not passed to the logon task: set it in your user environment too, or the proxy uses the default state directory (and another local key)".to_owned()
    })
}

fn gui_domain(uid: u32) -> String {
    format!("gui/{uid}")
}

fn gui_target(uid: u32) -> String {
    format!("gui/{uid}/{LAUNCHD_LABEL}")
}

/// One install in progress: the receipt as it grows (stored before each file).
#[derive(Debug)]
pub struct ServiceInstall {
    receipt: Receipt,
}

impl ServiceInstall {
    /// Starts an install over the receipt an earlier one left (its first `previous`
    /// values are kept), for the llmauth binary `program`.
    pub fn begin(prior: Option<Receipt>, program: &str) -> Self {
        let mut receipt = prior.unwrap_or_else(empty_receipt);
        receipt.version = RECEIPT_VERSION;
        RECEIPT_MODE.clone_into(&mut receipt.mode);
        receipt.helper_program = Some(program.to_owned());
        Self { receipt }
    }

    /// Plans one file from what the runtime found there, with `also_created`: missing
    /// directories the manager will create for it (see [`enablement_dir`]). The steps
    /// come in order: the receipt first, then the file.
    ///
    /// # Errors
    /// [`SetupError::ReadOnly`] or [`SetupError::Unparsable`] (not UTF-8).
    pub fn plan_file(
        &mut self,
        spec: &FileSpec,
        found: FoundFile,
        also_created: &[PathBuf],
    ) -> Result<Vec<Step>, SetupError> {
        let plan = found.plan(spec, &self.receipt, also_created)?;
        let mut steps = Vec::new();
        if self.receipt.upsert(plan.receipt) {
            steps.push(Step::StoreReceipt(self.receipt.clone()));
        }
        if let Some(text) = plan.new_text {
            steps.push(Step::Write {
                path: found.path,
                bytes: text.into_bytes(),
                new_mode: spec.new_file_mode,
            });
        }
        Ok(steps)
    }
}

/// The receipt of a service not (or no longer) installed; stored, it deletes the file.
pub fn empty_receipt() -> Receipt {
    Receipt {
        version: RECEIPT_VERSION,
        tool: RECEIPT_NAME.to_owned(),
        mode: RECEIPT_MODE.to_owned(),
        helper_program: None,
        files: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::plan::{FileAction, teardown_file};
    use crate::setup::tool::Platform;
    use crate::testing::service::spec;
    use crate::testing::setup::{environment, found};

    #[test]
    fn files_per_manager() {
        let mut linux = environment(Platform::Linux);
        let paths = |env: &Environment, manager| -> Vec<PathBuf> {
            files(manager, &spec(), env, Path::new("/s"))
                .into_iter()
                .map(|f| f.path)
                .collect()
        };
        assert_eq!(
            paths(&linux, Manager::Systemd),
            [
                PathBuf::from("/h/.config/systemd/user/llmauth-proxy.socket"),
                PathBuf::from("/h/.config/systemd/user/llmauth-proxy.service"),
            ]
        );
        linux.xdg_config_home = Some(PathBuf::from("/x"));
        assert_eq!(
            paths(&linux, Manager::Systemd)[0],
            PathBuf::from("/x/systemd/user/llmauth-proxy.socket")
        );
        assert_eq!(
            enablement_dir(Manager::Systemd, &linux),
            Some(PathBuf::from("/x/systemd/user/sockets.target.wants"))
        );
        assert_eq!(
            paths(&environment(Platform::Mac), Manager::Launchd),
            [PathBuf::from("/h/Library/LaunchAgents/llmauth.proxy.plist")]
        );
        assert_eq!(
            paths(&environment(Platform::Windows), Manager::TaskScheduler),
            [PathBuf::from("/s/proxy-service.xml")]
        );
    }

    #[test]
    fn commands_register_and_unregister() {
        let files = [PathBuf::from("/h/Library/LaunchAgents/llmauth.proxy.plist")];
        let shown = |commands: Vec<Command>| -> Vec<String> {
            commands.iter().map(Command::display).collect()
        };
        assert_eq!(
            shown(activate(Manager::Systemd, &files, 1000)),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable --now llmauth-proxy.socket"
            ]
        );
        assert_eq!(
            shown(deactivate(Manager::Systemd, 1000)),
            ["systemctl --user disable --now llmauth-proxy.socket llmauth-proxy.service"]
        );
        assert_eq!(
            shown(forget(Manager::Systemd)),
            ["systemctl --user daemon-reload"]
        );
        assert_eq!(
            shown(activate(Manager::Launchd, &files, 501)),
            [
                "launchctl bootout gui/501/llmauth.proxy",
                "launchctl bootstrap gui/501 /h/Library/LaunchAgents/llmauth.proxy.plist"
            ]
        );
        assert_eq!(
            shown(activate(
                Manager::TaskScheduler,
                &[PathBuf::from("C:\\s\\p.xml")],
                0
            )),
            [
                "schtasks /Create /TN \"llmauth proxy\" /XML C:\\s\\p.xml /F",
                "schtasks /Run /TN \"llmauth proxy\""
            ]
        );
        assert_eq!(
            manual_start(Manager::Systemd, &[], 1000),
            "no systemd user manager answers here (containers and some SSH sessions have none): the systemd user units are written; start it with `systemctl --user daemon-reload && systemctl --user enable --now llmauth-proxy.socket` once one runs, or run `llmauth proxy start` meanwhile"
        );
        // The optional bootout is not part of what a person needs to type.
        assert!(!manual_start(Manager::Launchd, &files, 501).contains("bootout"));
        let mut spec = spec();
        assert_eq!(not_carried(Manager::TaskScheduler, &spec), None);
        spec.state_dir = Some("C:\\s".into());
        assert!(not_carried(Manager::TaskScheduler, &spec).is_some());
        assert_eq!(not_carried(Manager::Systemd, &spec), None);
    }

    #[test]
    fn the_receipt_comes_first_and_uninstall_gives_back_what_was_there() {
        let env = environment(Platform::Linux);
        let specs = files(Manager::Systemd, &spec(), &env, Path::new("/s"));
        let mut install = ServiceInstall::begin(None, "/usr/local/bin/llmauth");
        let mut file = found("/h/.config/systemd/user/llmauth-proxy.socket", None);
        file.missing_dirs = vec![
            PathBuf::from("/h/.config/systemd"),
            PathBuf::from("/h/.config/systemd/user"),
        ];
        let wants = [PathBuf::from(
            "/h/.config/systemd/user/sockets.target.wants",
        )];
        let steps = install.plan_file(&specs[0], file, &wants).unwrap();
        let [
            Step::StoreReceipt(receipt),
            Step::Write {
                bytes, new_mode, ..
            },
        ] = steps.as_slice()
        else {
            panic!("{steps:?}");
        };
        assert_eq!(*new_mode, 0o644);
        assert_eq!(receipt.tool, "proxy-service");
        assert_eq!(receipt.mode, "service");
        assert_eq!(
            receipt.helper_program.as_deref(),
            Some("/usr/local/bin/llmauth")
        );
        assert_eq!(
            receipt.files[0].created_dirs,
            [
                "/h/.config/systemd",
                "/h/.config/systemd/user",
                "/h/.config/systemd/user/sockets.target.wants"
            ]
        );
        let written = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            teardown_file(&receipt.files[0], Some(&written))
                .unwrap()
                .action,
            FileAction::Delete
        );

        // A unit the user had is put back on uninstall.
        let own = "[Unit]\nDescription=mine\n";
        let steps = install
            .plan_file(
                &specs[1],
                found("/h/.config/systemd/user/llmauth-proxy.service", Some(own)),
                &[],
            )
            .unwrap();
        let [Step::StoreReceipt(receipt), Step::Write { bytes, .. }] = steps.as_slice() else {
            panic!("{steps:?}");
        };
        let written = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            teardown_file(&receipt.files[1], Some(&written))
                .unwrap()
                .action,
            FileAction::Write(own.to_owned())
        );
        // Installing again over its own files changes nothing.
        let mut again = ServiceInstall::begin(Some(receipt.clone()), "/usr/local/bin/llmauth");
        let steps = again
            .plan_file(
                &specs[1],
                found(
                    "/h/.config/systemd/user/llmauth-proxy.service",
                    Some(&written),
                ),
                &[],
            )
            .unwrap();
        assert!(steps.is_empty(), "{steps:?}");
    }

    #[test]
    fn read_only_files_are_left_alone() {
        let env = environment(Platform::Linux);
        let specs = files(Manager::Systemd, &spec(), &env, Path::new("/s"));
        let mut install = ServiceInstall::begin(None, "/l");
        let mut file = found("/u.socket", Some("x"));
        file.read_only = true;
        assert_eq!(
            install.plan_file(&specs[0], file, &[]),
            Err(SetupError::ReadOnly(PathBuf::from("/u.socket")))
        );
    }
}
