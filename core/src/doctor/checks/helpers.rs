//! The tools: each token-helper tool's helper, run as the tool runs it, and the proxy for
//! the proxy-mode tools.

use super::{NO_CONFIG, fail, finding, pass, skip};
use crate::broker::health::Answer;
use crate::doctor::{
    Facts, Finding, HelperFacts, HelperOutcome, HelperRun, Status, ToolFacts, class_of_exit_code,
};
use crate::error::ErrorClass;
use crate::oauth::clean;
use crate::secret::{SecretBytes, is_printable_token};
use crate::setup::tool::Mode;

/// One finding per configured tool that runs a helper.
pub(in crate::doctor) fn helpers(facts: &Facts) -> Vec<Finding> {
    if facts.config.is_err() {
        return skip("helpers", NO_CONFIG);
    }
    let findings: Vec<Finding> = facts
        .tools
        .iter()
        .filter_map(|tool| Some(helper(tool, tool.helper.as_ref()?)))
        .collect();
    if findings.is_empty() {
        return skip(
            "helpers",
            "no tool that runs `llmauth token` is configured (`llmauth setup` wires them)",
        );
    }
    findings
}

fn helper(tool: &ToolFacts, helper: &HelperFacts) -> Finding {
    let name = tool.tool.name();
    let rewire = format!("`llmauth setup --client {name}` writes the path of this llmauth");
    let verdict =
        |status, message: String, fix: Option<String>| finding(name, status, message, fix);
    if let Some(program) = &tool.drift.stale_helper {
        return verdict(
            Status::Fail(ErrorClass::Config),
            format!(
                "its helper runs {program}, which no longer exists (did an upgrade move llmauth?)"
            ),
            Some(rewire),
        );
    }
    let run = match helper {
        HelperFacts::Unwired(why) => {
            return verdict(Status::Fail(ErrorClass::Config), why.clone(), Some(rewire));
        }
        HelperFacts::Ran(run) => run,
    };
    let HelperRun {
        name: helper_name,
        limit,
        elapsed,
        outcome,
    } = run;
    let took = format!("{} ms", elapsed.as_millis());
    match outcome {
        HelperOutcome::NotStarted(why) => verdict(
            Status::Fail(ErrorClass::Config),
            format!("{helper_name} cannot be started: {why}"),
            Some(rewire),
        ),
        HelperOutcome::TimedOut => verdict(
            Status::Fail(ErrorClass::Transient),
            format!(
                "{helper_name} gave no token within the {} s it is allowed",
                limit.as_secs()
            ),
            Some("run `llmauth -v token --non-interactive` to see where it waits".to_owned()),
        ),
        HelperOutcome::Exited {
            code: Some(0),
            stdout,
            ..
        } if prints_a_token(stdout) => {
            if *elapsed > *limit / 2 {
                verdict(
                    Status::Warn,
                    format!(
                        "{helper_name} printed a token, but took {took} of the {} s it is allowed",
                        limit.as_secs()
                    ),
                    Some("run `llmauth -v token` to see where the time goes".to_owned()),
                )
            } else {
                verdict(
                    Status::Pass,
                    format!(
                        "{helper_name} printed a token in {took} (run without a terminal, in the tool's environment)"
                    ),
                    None,
                )
            }
        }
        HelperOutcome::Exited { code: Some(0), .. } => verdict(
            Status::Fail(ErrorClass::Bug),
            format!(
                "{helper_name} exited 0 but printed no usable token (one line of printable ASCII)"
            ),
            Some("run it in a terminal to see what it prints".to_owned()),
        ),
        HelperOutcome::Exited {
            code: Some(code),
            stderr,
            ..
        } => {
            let class = class_of_exit_code(*code);
            let (said, its_fix) = last_error(stderr);
            let fix = if matches!(code, 126 | 127) {
                // The shell found no program to run: the path it names is gone.
                rewire
            } else if class == ErrorClass::AuthRequired {
                "run `llmauth login`".to_owned()
            } else {
                its_fix.unwrap_or_else(|| {
                    "run `llmauth -v token --non-interactive` to see the whole story".to_owned()
                })
            };
            let said = said.map_or_else(String::new, |s| format!(": {s}"));
            verdict(
                Status::Fail(class),
                format!("{helper_name} exited {code}{said}"),
                Some(fix),
            )
        }
        HelperOutcome::Exited { code: None, .. } => verdict(
            Status::Fail(ErrorClass::Bug),
            format!("{helper_name} was killed by a signal"),
            Some("run `llmauth -v token --non-interactive` to see the whole story".to_owned()),
        ),
    }
}

/// Whether a helper's output is one token line, as the tools take it (Codex trims
/// whitespace; Claude Code rejects any inside).
fn prints_a_token(stdout: &SecretBytes) -> bool {
    std::str::from_utf8(stdout.expose_secret()).is_ok_and(|out| {
        let line = out.strip_suffix('\n').unwrap_or(out);
        is_printable_token(line.strip_suffix('\r').unwrap_or(line))
    })
}

/// The last line a helper wrote on standard error, split as llmauth writes errors
/// (`error: <what> — <what to do>`): what it said, and its fix.
fn last_error(stderr: &str) -> (Option<String>, Option<String>) {
    let Some(line) = stderr.lines().rev().find(|l| !l.trim().is_empty()) else {
        return (None, None);
    };
    let line = clean(line, 300);
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    match line.split_once(" — ") {
        Some((what, fix)) => (Some(what.to_owned()), Some(fix.to_owned())),
        None => (Some(line.to_owned()), None),
    }
}

/// The proxy answers on its port, when a proxy-mode tool needs it.
pub(in crate::doctor) fn proxy(facts: &Facts) -> Vec<Finding> {
    if facts.config.is_err() {
        return skip("proxy", NO_CONFIG);
    }
    let users: Vec<&str> = facts
        .tools
        .iter()
        .filter(|t| t.tool.mode() == Mode::Proxy)
        .map(|t| t.tool.name())
        .collect();
    if users.is_empty() {
        return skip("proxy", "no proxy-mode tool is configured");
    }
    let Some(proxy) = &facts.proxy else {
        return skip("proxy", "the proxy was not probed");
    };
    let users = users.join(", ");
    let port = proxy.port;
    match &proxy.health {
        Answer::Proxy(health) => {
            let token = health.token_expires_at.as_ref().map_or_else(
                || "no token yet".to_owned(),
                |at| format!("its token is valid until {}", clean(at, 40)),
            );
            pass(
                "proxy",
                format!("running on http://localhost:{port} for {users} ({token})"),
            )
        }
        Answer::Nothing => fail(
            "proxy",
            ErrorClass::Transient,
            format!("not running on port {port}, and {users} need it"),
            "start it, and keep it running: `llmauth proxy start`",
        ),
        Answer::Other(what) => fail(
            "proxy",
            ErrorClass::Config,
            format!("port {port} is taken by {what}, and {users} need the proxy there"),
            "stop that program, or move the proxy: `llmauth config set --proxy-port <port>`, then `llmauth setup` again",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{only, run};
    use super::*;
    use crate::doctor::tests::{healthy, ran, tool};
    use crate::doctor::{Problem, ProxyFacts};
    use crate::setup::tool::Tool;

    fn judged(tool: ToolFacts) -> Finding {
        let mut facts = healthy();
        facts.tools = vec![tool];
        only(helpers(&facts))
    }

    fn exited(code: i32, stdout: &str, stderr: &str) -> HelperOutcome {
        HelperOutcome::Exited {
            code: Some(code),
            stdout: SecretBytes::new(stdout.as_bytes().to_vec()),
            stderr: stderr.to_owned(),
        }
    }

    #[test]
    fn a_helper_that_prints_a_token_passes_with_its_time() {
        let finding = judged(tool(
            Tool::ClaudeCode,
            Some(ran(exited(0, "CANARY.tok-en\n", ""), 12)),
        ));
        assert_eq!(finding.check, "claude-code");
        assert_eq!(finding.status, Status::Pass);
        assert_eq!(
            finding.message,
            "Claude Code's apiKeyHelper printed a token in 12 ms (run without a terminal, in the tool's environment)"
        );
        assert!(!format!("{finding:?}").contains("CANARY"));
        let slow = judged(tool(Tool::Codex, Some(ran(exited(0, "t", ""), 6000))));
        assert_eq!(slow.status, Status::Warn);
        assert!(
            slow.message
                .contains("took 6000 ms of the 10 s it is allowed"),
            "{slow:?}"
        );
    }

    #[test]
    fn a_moved_llmauth_is_named_with_the_fix() {
        let mut facts = tool(
            Tool::ClaudeCode,
            Some(ran(exited(127, "", "sh: 1: /old/llmauth: not found\n"), 3)),
        );
        facts.drift.stale_helper = Some("/old/llmauth".into());
        let finding = judged(facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert_eq!(
            finding.message,
            "its helper runs /old/llmauth, which no longer exists (did an upgrade move llmauth?)"
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some("`llmauth setup --client claude-code` writes the path of this llmauth")
        );
        // Without a receipt naming it, the shell's 127 says the same.
        let finding = judged(tool(
            Tool::ClaudeCode,
            Some(ran(exited(127, "", "sh: 1: /old/llmauth: not found\n"), 3)),
        ));
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert!(
            finding
                .message
                .ends_with("exited 127: sh: 1: /old/llmauth: not found")
        );
        assert!(
            finding
                .fix
                .unwrap()
                .starts_with("`llmauth setup --client claude-code`")
        );
    }

    #[test]
    fn a_failing_helper_fails_with_the_class_of_its_exit_code() {
        let cases = [
            (
                3,
                "error: not signed in to this gateway — run `llmauth login`",
                ErrorClass::AuthRequired,
                "run `llmauth login`",
            ),
            (
                4,
                "error: could not refresh — check your network and the IdP, then try again",
                ErrorClass::Transient,
                "check your network and the IdP, then try again",
            ),
            (
                2,
                "error: invalid configuration in /c.yaml — fix it with `llmauth config set`",
                ErrorClass::Config,
                "fix it with `llmauth config set`",
            ),
            (
                5,
                "error: another llmauth process held the session lock for too long",
                ErrorClass::LockTimeout,
                "run `llmauth -v token --non-interactive` to see the whole story",
            ),
            (
                1,
                "",
                ErrorClass::Bug,
                "run `llmauth -v token --non-interactive` to see the whole story",
            ),
            (
                126,
                "",
                ErrorClass::Config,
                "`llmauth setup --client codex` writes the path of this llmauth",
            ),
        ];
        for (code, stderr, class, fix) in cases {
            let finding = judged(tool(
                Tool::Codex,
                Some(ran(exited(code, "", &format!("note: x\n{stderr}\n\n")), 5)),
            ));
            assert_eq!(finding.status, Status::Fail(class), "{code}");
            assert_eq!(finding.fix.as_deref(), Some(fix), "{code}");
            assert!(
                finding
                    .message
                    .starts_with(&format!("Codex's auth.command exited {code}")),
                "{finding:?}"
            );
            assert!(!finding.message.contains("error: "), "{finding:?}");
        }
    }

    #[test]
    fn helpers_that_cannot_run_or_print_nonsense() {
        let cases = [
            (
                HelperOutcome::NotStarted("No such file".into()),
                ErrorClass::Config,
            ),
            (HelperOutcome::TimedOut, ErrorClass::Transient),
            (exited(0, "two words\n", ""), ErrorClass::Bug),
            (exited(0, "", ""), ErrorClass::Bug),
            (
                HelperOutcome::Exited {
                    code: None,
                    stdout: SecretBytes::default(),
                    stderr: String::new(),
                },
                ErrorClass::Bug,
            ),
        ];
        for (outcome, class) in cases {
            let finding = judged(tool(Tool::ClaudeDesktop, Some(ran(outcome, 10))));
            assert_eq!(finding.status, Status::Fail(class), "{finding:?}");
        }
        let unwired = judged(tool(
            Tool::ClaudeCode,
            Some(HelperFacts::Unwired(
                "/h/settings.json no longer sets apiKeyHelper".into(),
            )),
        ));
        assert_eq!(unwired.status, Status::Fail(ErrorClass::Config));
        assert_eq!(
            unwired.message,
            "/h/settings.json no longer sets apiKeyHelper"
        );
        let timed_out = judged(tool(
            Tool::Codex,
            Some(ran(HelperOutcome::TimedOut, 10_000)),
        ));
        assert_eq!(
            timed_out.message,
            "Codex's auth.command gave no token within the 10 s it is allowed"
        );
    }

    #[test]
    fn no_helper_tools_no_helper_lines() {
        let mut facts = healthy();
        facts.tools = vec![tool(Tool::GeminiCli, None)];
        assert_eq!(run(helpers, &facts).status, Status::Skip);
        let broken = crate::doctor::tests::no_config(Problem {
            message: "x".into(),
            fix: None,
        });
        assert_eq!(run(helpers, &broken).status, Status::Skip);
        assert_eq!(run(proxy, &broken).status, Status::Skip);
    }

    #[test]
    fn the_proxy_is_judged_only_for_proxy_tools() {
        let mut facts = healthy();
        assert_eq!(run(proxy, &facts).status, Status::Skip);
        facts.tools.push(tool(Tool::GeminiCli, None));
        facts.tools.push(tool(Tool::Vscode, None));
        let with = |facts: &mut Facts, health| {
            facts.proxy = Some(ProxyFacts {
                port: 14000,
                health,
            });
            run(proxy, facts)
        };
        // Read leniently: fields this llmauth does not know are ignored.
        let up = with(
            &mut facts,
            Answer::judge(Some((
                200,
                r#"{"status":"ok","token_expires_at":"2026-01-01T00:00:00Z","pid":7,"uptime_s":3}"#,
            ))),
        );
        assert_eq!(up.status, Status::Pass);
        assert_eq!(
            up.message,
            "running on http://localhost:14000 for gemini-cli, vscode (its token is valid until 2026-01-01T00:00:00Z)"
        );
        let down = with(&mut facts, Answer::judge(None));
        assert_eq!(down.status, Status::Fail(ErrorClass::Transient));
        assert!(down.fix.unwrap().contains("llmauth proxy start"));
        let taken = with(&mut facts, Answer::judge(Some((404, ""))));
        assert_eq!(taken.status, Status::Fail(ErrorClass::Config));
        assert!(
            taken
                .message
                .contains("taken by something answering HTTP 404"),
            "{}",
            taken.message
        );
        let html = with(&mut facts, Answer::judge(Some((200, "<html>"))));
        assert_eq!(html.status, Status::Fail(ErrorClass::Config));
        let no_token = with(
            &mut facts,
            Answer::judge(Some((200, r#"{"status":"ok","token_expires_at":null}"#))),
        );
        assert_eq!(no_token.status, Status::Pass);
        assert!(
            no_token.message.ends_with("(no token yet)"),
            "{}",
            no_token.message
        );
    }
}
