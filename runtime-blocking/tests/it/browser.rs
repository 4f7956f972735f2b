//! Opening the browser: `$BROWSER` handling and the child's environment, checked with a
//! scripted "browser" that records how it was called. Runs in child processes so the
//! environment variables stay out of other tests.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use llmauth_core::intent::{Intent, IntentResult};

use crate::support::{quiet_io, run_child, temp_paths};

const CHILD: &str = "LLMAUTH_TEST_BROWSER_CHILD";
const URL: &str = "http://127.0.0.1:9/authorize?client_id=c&state=a b&redirect_uri=x";

fn open_browser() -> Result<(), String> {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    match io.perform(&Intent::OpenBrowser {
        url: URL.to_owned(),
    }) {
        IntentResult::Browser(result) => result,
        other => panic!("unexpected {other:?}"),
    }
}

/// A script that writes its arguments (one per line) and whether it saw
/// `LLMAUTH_ACCESS_TOKEN` into `out`.
fn browser_script(dir: &Path, out: &Path) -> String {
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; echo \"token=${{LLMAUTH_ACCESS_TOKEN-unset}}\"; }} > {}.tmp\nmv {0}.tmp {0}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.display().to_string()
}

fn wait_for(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the scripted browser never ran");
}

#[test]
fn browser_variable_is_used_with_the_url_appended_or_substituted() {
    if let Ok(mode) = std::env::var(CHILD) {
        // The parent set BROWSER and LLMAUTH_ACCESS_TOKEN for this process.
        assert_eq!(open_browser(), Ok(()));
        let out = std::env::var("TEST_BROWSER_OUT").unwrap();
        let recorded = wait_for(Path::new(&out));
        let expected = match mode.as_str() {
            "append" => format!("{URL}\ntoken=unset\n"),
            "substitute" => format!("--new-tab\n{URL}\n--x\ntoken=unset\n"),
            other => panic!("mode {other}"),
        };
        assert_eq!(recorded, expected);
        println!("child done");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (mode, args) in [("append", ""), ("substitute", " --new-tab %s --x")] {
        let out = dir.path().join(format!("{mode}.out"));
        let script = browser_script(dir.path(), &out);
        let browser = format!("{script}{args}:/nonexistent/second-choice");
        run_child(
            "browser::browser_variable_is_used_with_the_url_appended_or_substituted",
            &[
                (CHILD, mode),
                ("BROWSER", browser.as_str()),
                ("TEST_BROWSER_OUT", out.to_str().unwrap()),
                ("LLMAUTH_ACCESS_TOKEN", "CANARY-env-token"),
            ],
        );
    }
}

#[test]
fn no_opener_is_an_error_with_a_reason() {
    if std::env::var_os(CHILD).is_some() {
        assert_eq!(open_browser(), Err("no browser opener found".to_owned()));
        println!("child done");
        return;
    }
    let empty = tempfile::tempdir().unwrap();
    run_child(
        "browser::no_opener_is_an_error_with_a_reason",
        &[(CHILD, "none"), ("PATH", empty.path().to_str().unwrap())],
    );
}

#[test]
fn a_failing_platform_opener_is_reported() {
    if std::env::var_os(CHILD).is_some() {
        let err = open_browser().unwrap_err();
        assert!(err.starts_with("xdg-open failed"), "{err}");
        println!("child done");
        return;
    }
    // An `xdg-open` that finds no browser exits non-zero, as the real one does headless.
    let bin = tempfile::tempdir().unwrap();
    let opener = bin.path().join("xdg-open");
    std::fs::write(&opener, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    run_child(
        "browser::a_failing_platform_opener_is_reported",
        &[(CHILD, "failing"), ("PATH", path.as_str())],
    );
}
