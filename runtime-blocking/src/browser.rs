//! Opening the authorization URL in the user's browser (SPEC §6).
//!
//! `$BROWSER` comes first when set (the convention of xdg-utils and Python's
//! `webbrowser`: a `:`-separated list of commands, `%s` standing for the URL). Otherwise
//! the platform opener: `wslview` on WSL, `xdg-open` on Linux and BSDs, `open` on macOS,
//! and `rundll32 url.dll,FileProtocolHandler` on Windows (`cmd /c start` would cut the
//! URL at the first `&`). No shell is involved, so the URL is never interpreted.
//! Children never inherit `LLMAUTH_ACCESS_TOKEN` (SPEC §8).

use std::io;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a platform opener may take to report failure before it is assumed to work.
const OPENER_WAIT: Duration = Duration::from_secs(2);

/// Starts a browser at `url`.
///
/// # Errors
/// A short reason when nothing could be started, or the opener reported failure; core
/// then prints the URL instead.
pub(crate) fn open(url: &str) -> Result<(), String> {
    if let Some(command) = std::env::var("BROWSER")
        .ok()
        .as_deref()
        .and_then(browser_command)
    {
        let (program, args) = command;
        let append = url_arg_appended(&args, url);
        let args = substitute(&args, url);
        // Not waited for: a browser may run for as long as the person uses it.
        let child = spawn(&program, &args, append)
            .map_err(|e| format!("cannot start {program} from $BROWSER: {e}"))?;
        reap_in_background(child);
        return Ok(());
    }
    for (program, args) in platform_openers(url) {
        match spawn(program, &args, None) {
            Ok(child) => return wait_briefly(program, child),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot start {program}: {e}")),
        }
    }
    Err("no browser opener found".to_owned())
}

/// The program and arguments of the first `$BROWSER` entry, `%s` replaced by the URL
/// later; `None` when the variable is empty.
fn browser_command(browser: &str) -> Option<(String, Vec<String>)> {
    // `$BROWSER` is a list separated like `PATH` (`;` on Windows, where `C:\` has a colon).
    let separator = if cfg!(windows) { ';' } else { ':' };
    let first = browser
        .split(separator)
        .map(str::trim)
        .find(|e| !e.is_empty())?;
    // A whole entry naming an existing program may contain spaces (`C:\Program Files\…`).
    if std::path::Path::new(first).is_file() {
        return Some((first.to_owned(), Vec::new()));
    }
    let mut words = first.split_whitespace().map(str::to_owned);
    let program = words.next()?;
    Some((program, words.collect()))
}

/// `Some(url)` when the URL must be appended (no `%s` in the arguments).
fn url_arg_appended<'a>(args: &[String], url: &'a str) -> Option<&'a str> {
    (!args.iter().any(|a| a.contains("%s"))).then_some(url)
}

fn spawn(program: &str, args: &[String], append: Option<&str>) -> io::Result<Child> {
    let mut command = Command::new(program);
    command
        .args(args)
        .args(append)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("LLMAUTH_ACCESS_TOKEN");
    command.spawn()
}

/// Waits up to [`OPENER_WAIT`] for the opener's exit status: a non-zero one means it
/// found no browser; still running means it is handing over to one.
fn wait_briefly(program: &str, mut child: Child) -> Result<(), String> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{program} failed ({status})")),
            Ok(None) if start.elapsed() < OPENER_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                reap_in_background(child);
                return Ok(());
            }
        }
    }
}

/// Collects the child's exit status when it ends, so it does not linger as a zombie.
fn reap_in_background(mut child: Child) {
    let _ = std::thread::Builder::new()
        .name("llmauth-browser".to_owned())
        .spawn(move || child.wait());
}

/// The platform's openers, in order, with their arguments (the URL included).
fn platform_openers(url: &str) -> Vec<(&'static str, Vec<String>)> {
    let url = url.to_owned();
    if cfg!(windows) {
        return vec![(
            "rundll32",
            vec!["url.dll,FileProtocolHandler".to_owned(), url],
        )];
    }
    if cfg!(target_os = "macos") {
        return vec![("open", vec![url])];
    }
    let mut openers = Vec::new();
    if is_wsl() {
        openers.push(("wslview", vec![url.clone()]));
    }
    openers.push(("xdg-open", vec![url]));
    openers
}

fn is_wsl() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|release| release.to_ascii_lowercase().contains("microsoft"))
}

/// Replaces `%s` in the `$BROWSER` arguments (done after splitting, so a URL with
/// spaces or quotes stays one argument).
fn substitute(args: &[String], url: &str) -> Vec<String> {
    args.iter().map(|a| a.replace("%s", url)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_variable_parsing() {
        assert_eq!(
            browser_command("firefox:chromium"),
            Some(("firefox".to_owned(), vec![]))
        );
        assert_eq!(
            browser_command(" :/usr/bin/open-it --new-tab %s"),
            Some((
                "/usr/bin/open-it".to_owned(),
                vec!["--new-tab".to_owned(), "%s".to_owned()]
            ))
        );
        let dir = tempfile::tempdir().unwrap();
        let spaced = dir.path().join("my browser");
        std::fs::write(&spaced, b"").unwrap();
        let spaced = spaced.to_string_lossy().into_owned();
        assert_eq!(browser_command(&spaced), Some((spaced.clone(), vec![])));
        assert_eq!(browser_command(""), None);
        assert_eq!(browser_command(" : "), None);
    }

    #[test]
    fn url_is_substituted_or_appended() {
        let url = "http://idp/auth?a=1&b=2";
        let args = vec!["--x".to_owned(), "%s".to_owned()];
        assert_eq!(url_arg_appended(&args, url), None);
        assert_eq!(
            substitute(&args, url),
            vec!["--x".to_owned(), url.to_owned()]
        );
        assert_eq!(url_arg_appended(&["-n".to_owned()], url), Some(url));
    }
}
