//! The I/O of `proxy install|uninstall|stop`, as `llmauth_core::service` plans it: the
//! service's files written with setup's receipt and file machinery, the manager's
//! commands run, a running proxy's process looked at and signalled.

use std::net::{Ipv6Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use llmauth_core::service::control::{self, ProcessFacts};
use llmauth_core::service::install::{self, ServiceInstall};
use llmauth_core::service::{Manager, RECEIPT_NAME, ServiceSpec};
use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::receipt::Receipt;
use llmauth_core::setup::teardown::TeardownReport;
use llmauth_core::setup::tool::{Environment, Mode};

use crate::paths::Paths;
use crate::tools::files::{lock_tool_file, read_tool_file, resolve_link};
use crate::tools::receipts;
use crate::tools::settings::helper;
use crate::tools::steps::perform_all;
use crate::tools::teardown::revert_tool;

/// How long one manager command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// The service's definition for this machine: this llmauth (and `--config` when not the
/// default), this run's `LLMAUTH_STATE_DIR`, the proxy's port, whether `[::1]` exists.
///
/// # Errors
/// [`SetupError::RunningBinary`] when the running binary cannot be located.
pub fn spec(paths: &Paths, port: u16) -> Result<ServiceSpec, SetupError> {
    let state_dir =
        std::path::absolute(&paths.state_dir).unwrap_or_else(|_| paths.state_dir.clone());
    let overridden = std::env::var_os("LLMAUTH_STATE_DIR").is_some_and(|v| !v.is_empty());
    let user = match (std::env::var("USERDOMAIN"), std::env::var("USERNAME")) {
        (Ok(domain), Ok(name)) => format!("{domain}\\{name}"),
        (Err(_), Ok(name)) => name,
        (_, Err(_)) => String::new(),
    };
    Ok(ServiceSpec {
        helper: helper(paths)?,
        state_dir: overridden.then(|| state_dir.to_string_lossy().into_owned()),
        port,
        ipv6: TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok(),
        log_file: state_dir
            .join(format!("{RECEIPT_NAME}.log"))
            .to_string_lossy()
            .into_owned(),
        user,
    })
}

/// Whether a tool wired through the proxy stays configured (it has a receipt) once
/// `removing` is torn down (`None`: every tool is).
pub fn proxy_tools_left(paths: &Paths, removing: Option<&str>) -> bool {
    let Some(removing) = removing else {
        return false;
    };
    receipts::list(paths).iter().filter(|tool| *tool != removing).any(|tool| {
        matches!(receipts::load(paths, tool), Ok(Some(receipt)) if receipt.mode == Mode::Proxy.as_str())
    })
}

/// What `proxy install` did.
#[derive(Debug)]
pub struct Installed {
    /// The manager.
    pub manager: Manager,
    /// The files written (or already right).
    pub files: Vec<PathBuf>,
    /// Whether the manager answered; its commands ran then.
    pub manager_answered: bool,
    /// The commands run and how each ended (`Err`: its output, or why it did not run).
    pub commands: Vec<(String, Result<(), String>)>,
    /// What the definition could not carry (a line to print).
    pub not_carried: Option<String>,
    /// What writing the files had to say (lines to print).
    pub warnings: Vec<String>,
}

/// Writes the service's files (receipt first, as setup does), then registers and starts
/// it when the manager answers.
///
/// # Errors
/// A file or the receipt cannot be written; files already written stay recorded, so
/// `uninstall` removes them.
pub fn install(
    paths: &Paths,
    spec: &ServiceSpec,
    env: &Environment,
) -> Result<Installed, SetupError> {
    let manager = Manager::of(env.platform);
    let specs = install::files(manager, spec, env, &paths.state_dir);
    let prior = receipts::load(paths, RECEIPT_NAME)?;
    let mut setup = ServiceInstall::begin(prior, &spec.helper.program);
    let enablement: Vec<PathBuf> = install::enablement_dir(manager, env)
        .filter(|dir| std::fs::symlink_metadata(dir).is_err())
        .into_iter()
        .collect();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for (index, file) in specs.iter().enumerate() {
        let also = if index + 1 == specs.len() {
            enablement.as_slice()
        } else {
            &[]
        };
        let target = resolve_link(&file.path).unwrap_or_else(|_| file.path.clone());
        lock_tool_file(paths, &target, || {
            let steps = setup.plan_file(file, read_tool_file(&file.path)?, also)?;
            perform_all(paths, &steps, &mut |text| warnings.push(text.to_owned()))
        })??;
        files.push(file.path.clone());
    }
    let manager_answered = answers(manager);
    let commands = if manager_answered {
        run_all(&install::activate(manager, &files, uid()))
    } else {
        Vec::new()
    };
    Ok(Installed {
        manager,
        files,
        manager_answered,
        commands,
        not_carried: install::not_carried(manager, spec),
        warnings,
    })
}

/// What `proxy uninstall` did.
#[derive(Debug)]
pub struct Uninstalled {
    /// The commands run before and after the files went.
    pub commands: Vec<(String, Result<(), String>)>,
    /// What happened to the files (setup's teardown report).
    pub report: TeardownReport,
}

/// Stops and unregisters the service when the manager answers, then removes exactly the
/// files install wrote (a file changed since is left and reported); `None` when nothing
/// is installed.
///
/// # Errors
/// The receipt cannot be read.
pub fn uninstall(paths: &Paths, env: &Environment) -> Result<Option<Uninstalled>, SetupError> {
    let Some(receipt) = installed(paths)? else {
        return Ok(None);
    };
    let manager = Manager::of(env.platform);
    let answered = answers(manager);
    let mut commands = if answered {
        run_all(&install::deactivate(manager, uid()))
    } else {
        Vec::new()
    };
    let mut report = TeardownReport::new(vec![RECEIPT_NAME.to_owned()]);
    revert_tool(paths, receipt, &mut report);
    if answered {
        commands.extend(run_all(&install::forget(manager)));
    }
    Ok(Some(Uninstalled { commands, report }))
}

/// The receipt of the installed service, if any.
///
/// # Errors
/// It exists but cannot be read.
pub fn installed(paths: &Paths) -> Result<Option<Receipt>, SetupError> {
    receipts::load(paths, RECEIPT_NAME)
}

/// Whether `manager` answers for this user.
pub fn answers(manager: Manager) -> bool {
    let probe = control::probe(manager, uid());
    match output(probe.program, &probe.args) {
        Ok((succeeded, stdout, _)) => control::manager_answers(manager, succeeded, &stdout),
        Err(_) => false,
    }
}

/// Runs `commands` in order, each to its end (a failed one that must succeed stops the
/// rest; an optional one's failure is no failure).
pub fn run_all(commands: &[install::Command]) -> Vec<(String, Result<(), String>)> {
    let mut results = Vec::new();
    for command in commands {
        let result = match output(command.program, &command.args) {
            Ok((true, _, _)) => Ok(()),
            // An optional command (unloading what may not be loaded) may fail.
            Ok((false, _, _)) | Err(_) if !command.must_succeed => Ok(()),
            Ok((false, _, stderr)) => Err(first_line(&stderr)),
            Err(error) => Err(error),
        };
        let failed = result.is_err();
        results.push((command.display(), result));
        if failed && command.must_succeed {
            break;
        }
    }
    results
}

/// Runs a program with no input and returns (success, stdout, stderr), giving up after
/// [`COMMAND_LIMIT`].
fn output(program: &str, args: &[String]) -> Result<(bool, String, String), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || read_all(stdout.as_mut()));
    let err = std::thread::spawn(move || read_all(stderr.as_mut()));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < COMMAND_LIMIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish within {COMMAND_LIMIT:?}"));
            }
        }
    };
    Ok((
        status.success(),
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

fn read_all(stream: Option<&mut impl std::io::Read>) -> String {
    let mut text = String::new();
    if let Some(stream) = stream {
        let _ = stream.read_to_string(&mut text);
    }
    text
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed without a message")
        .trim()
        .to_owned()
}

/// This process's user id (0 where there is none: Windows).
pub fn uid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::getuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// What can be found out about process `pid`: its owner, program and arguments.
pub fn process(pid: u32) -> ProcessFacts {
    let (owner, program, args) = inspect(pid);
    ProcessFacts {
        uid: owner,
        our_uid: uid(),
        program,
        args,
    }
}

/// Linux: `/proc/<pid>/` (status for the real uid, cmdline for the arguments).
#[cfg(target_os = "linux")]
fn inspect(pid: u32) -> (Option<u32>, Option<String>, Vec<String>) {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let uid = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next())
                .and_then(|real| real.parse().ok())
        });
    let mut argv: Vec<String> = std::fs::read(dir.join("cmdline"))
        .map(|bytes| {
            bytes
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    // The executable itself, not what argv[0] claims.
    let program = std::fs::read_link(dir.join("exe"))
        .ok()
        .map(|exe| exe.to_string_lossy().into_owned())
        .or_else(|| argv.first().cloned());
    if !argv.is_empty() {
        argv.remove(0);
    }
    (uid, program, argv)
}

/// Other Unix systems: `ps`.
#[cfg(all(unix, not(target_os = "linux")))]
fn inspect(pid: u32) -> (Option<u32>, Option<String>, Vec<String>) {
    let pid = pid.to_string();
    let field = |name: &str| {
        output(
            "ps",
            &["-o".into(), format!("{name}="), "-p".into(), pid.clone()],
        )
        .ok()
        .filter(|(ok, _, _)| *ok)
        .map(|(_, out, _)| out.trim().to_owned())
    };
    let uid = field("uid").and_then(|u| u.parse().ok());
    let program = field("comm");
    let args = field("args")
        .map(|line| line.split_whitespace().skip(1).map(str::to_owned).collect())
        .unwrap_or_default();
    (uid, program, args)
}

/// Windows: the process's command line (another user's process cannot be ended by a
/// standard user anyway).
#[cfg(windows)]
fn inspect(pid: u32) -> (Option<u32>, Option<String>, Vec<String>) {
    let query = format!("(Get-CimInstance Win32_Process -Filter \"ProcessId={pid}\").CommandLine");
    let line = output(
        "powershell",
        &["-NoProfile".into(), "-Command".into(), query],
    )
    .ok()
    .filter(|(ok, out, _)| *ok && !out.trim().is_empty())
    .map(|(_, out, _)| out.trim().to_owned());
    let Some(line) = line else {
        return (None, None, Vec::new());
    };
    let mut words = line
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_owned());
    let program = words.next();
    (Some(0), program, words.collect())
}

/// Asks process `pid` to stop as on SIGTERM (Windows: `taskkill`, which ends it at once).
///
/// # Errors
/// The OS refused.
pub fn terminate(pid: u32) -> Result<(), String> {
    #[cfg(unix)]
    {
        let pid = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| format!("{pid} is not a process id"))?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).map_err(|e| e.to_string())
    }
    #[cfg(not(unix))]
    {
        let result = run_all(&[install::Command {
            program: "taskkill",
            args: vec!["/PID".into(), pid.to_string(), "/F".into()],
            must_succeed: true,
        }]);
        result
            .into_iter()
            .next()
            .map_or(Ok(()), |(_, outcome)| outcome)
    }
}
