//! `llmauth doctor`: every check of the chain from a tool to the gateway, one line each
//! with the fix; the exit code is the worst failure's (SPEC §2). The facts are gathered
//! by `llmauth_blocking::doctor` and judged by `llmauth_core::doctor`; this prints.

use std::io::Write;

use llmauth_core::doctor::{Facts, Problem, Report, judge};
use llmauth_core::flow::Interaction;
use serde_json::json;

use crate::app::App;
use crate::args::{DoctorArgs, Format};
use crate::failure::{Exit, Failure};

/// Runs `doctor`.
pub(crate) fn run(app: &App, args: &DoctorArgs) -> Result<(), Failure> {
    let facts = match app.config() {
        Ok(config) => {
            let setup = app.flow_setup(&config, Interaction::NONE);
            llmauth_blocking::doctor::gather(&config, &setup, &args.probe_path).map_err(
                |error| {
                    Failure::new(
                        Exit::Usage,
                        format!("--probe-path {:?}: {error}", args.probe_path),
                        None,
                    )
                },
            )?
        }
        // The configuration's own error, with the file and line, is the config line.
        Err(failure) => Facts::without_config(
            Problem {
                message: failure.message,
                fix: failure.hint,
            },
            app.now(),
        ),
    };
    let report = judge(&facts);
    let out = match args.format {
        Format::Text => text(&report),
        Format::Json => format!("{}\n", json(&report)),
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    match report.exit_class() {
        None => Ok(()),
        Some(class) => Err(Failure::new(
            class.into(),
            format!("doctor found problems: {}", report.failed().join(", ")),
            Some("each failing line says how to fix it".to_owned()),
        )),
    }
}

/// One line per finding: status, check and message aligned, then ` — <fix>`.
fn text(report: &Report) -> String {
    let width = report
        .findings
        .iter()
        .map(|f| f.check.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for finding in &report.findings {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}",
            finding.status.word(),
            finding.check,
            finding.message
        ));
        if let Some(fix) = &finding.fix {
            out.push_str(" — ");
            out.push_str(fix);
        }
        out.push('\n');
    }
    out
}

/// `[{"check", "status", "message", "fix"}, …]`.
fn json(report: &Report) -> serde_json::Value {
    report
        .findings
        .iter()
        .map(|f| {
            json!({
                "check": f.check,
                "status": f.status.word(),
                "message": f.message,
                "fix": f.fix,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use llmauth_core::doctor::{Finding, Status};
    use llmauth_core::error::ErrorClass;

    use super::*;

    fn report() -> Report {
        let finding = |check: &str, status, message: &str, fix: Option<&str>| Finding {
            check: check.to_owned(),
            status,
            message: message.to_owned(),
            fix: fix.map(str::to_owned),
        };
        Report {
            findings: vec![
                finding("config", Status::Pass, "valid", None),
                finding(
                    "claude-code",
                    Status::Fail(ErrorClass::Config),
                    "its helper is gone",
                    Some("run setup"),
                ),
                finding("proxy", Status::Skip, "not checked: no proxy tool", None),
            ],
        }
    }

    #[test]
    fn text_lines_are_aligned_with_the_fix_after_a_dash() {
        assert_eq!(
            text(&report()),
            "pass  config       valid\n\
             fail  claude-code  its helper is gone — run setup\n\
             skip  proxy        not checked: no proxy tool\n"
        );
    }

    #[test]
    fn json_is_an_array_of_check_status_message_fix() {
        let value = json(&report());
        assert_eq!(
            value[1],
            json!({"check": "claude-code", "status": "fail", "message": "its helper is gone", "fix": "run setup"})
        );
        assert_eq!(value[0]["fix"], serde_json::Value::Null);
        assert_eq!(value.as_array().map(Vec::len), Some(3));
    }
}
