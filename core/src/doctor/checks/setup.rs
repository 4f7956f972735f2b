//! `config` and `provider`: the configuration, and the provider preset it selects.

use super::{NO_CONFIG, fail, pass, skip, warn};
use crate::doctor::{Facts, Finding};
use crate::error::ErrorClass;

/// The configuration file is valid.
pub(in crate::doctor) fn config(facts: &Facts) -> Vec<Finding> {
    match &facts.config {
        Ok(config) => pass(
            "config",
            format!(
                "valid: gateway {}, issuer {}, client {}",
                config.gateway_url, config.issuer, config.client_id
            ),
        ),
        Err(problem) => {
            // A message may carry its own next step, as errors are written: `<what> — <fix>`.
            let (message, fix) = match (&problem.fix, problem.message.split_once(" — ")) {
                (Some(fix), _) => (problem.message.clone(), fix.clone()),
                (None, Some((what, fix))) => (what.to_owned(), fix.to_owned()),
                (None, None) => (problem.message.clone(), CONFIGURE.to_owned()),
            };
            fail("config", ErrorClass::Config, message, fix)
        }
    }
}

/// How to configure llmauth from nothing.
const CONFIGURE: &str =
    "run `llmauth config set --gateway-url URL --issuer URL --client-id ID` (or `llmauth setup`)";

/// The provider preset in force, and why it was chosen; a warning for each setting the
/// configuration chose against what the preset knows of its provider.
pub(in crate::doctor) fn provider(facts: &Facts) -> Vec<Finding> {
    let Ok(config) = &facts.config else {
        return skip("provider", NO_CONFIG);
    };
    let provider = &config.provider;
    let summary = provider.summary();
    let concerns = provider.concerns(&config.issuer, &config.audience, &config.client_id);
    if concerns.is_empty() {
        return pass("provider", summary);
    }
    concerns
        .into_iter()
        .flat_map(|concern| {
            warn(
                "provider",
                format!("{summary}; {}", concern.problem),
                concern.fix,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use super::*;
    use crate::doctor::tests::{healthy, healthy_with, no_config};
    use crate::doctor::{Problem, Status};

    #[test]
    fn a_valid_configuration_passes_and_names_its_trio() {
        let finding = run(config, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert!(
            finding.message.contains("https://idp.example"),
            "{finding:?}"
        );
    }

    #[test]
    fn a_broken_configuration_fails_with_its_own_words() {
        let facts = no_config(Problem {
            message: "/c.yaml:3: unknown key `llm.gatway_url`".into(),
            fix: Some("fix the file, or run `llmauth config set`".into()),
        });
        let finding = run(config, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert_eq!(finding.message, "/c.yaml:3: unknown key `llm.gatway_url`");
        assert_eq!(
            finding.fix.as_deref(),
            Some("fix the file, or run `llmauth config set`")
        );
        let unconfigured = no_config(Problem {
            message: "llmauth is not configured".into(),
            fix: None,
        });
        assert_eq!(run(config, &unconfigured).fix.as_deref(), Some(CONFIGURE));
        let with_its_fix = no_config(Problem {
            message: "llm.oidc.issuer is not set — run `llmauth config set --issuer URL`".into(),
            fix: None,
        });
        let finding = run(config, &with_its_fix);
        assert_eq!(finding.message, "llm.oidc.issuer is not set");
        assert_eq!(
            finding.fix.as_deref(),
            Some("run `llmauth config set --issuer URL`")
        );
        assert_eq!(run(provider, &facts).status, Status::Skip);
    }

    /// A setting named against what the preset knows (Okta's org authorization server
    /// handing out access tokens) is a warning with the preset's fix.
    #[test]
    fn a_setting_chosen_against_the_preset_is_warned_about() {
        let facts = healthy_with("    provider: okta\n    token_kind: access\n");
        let finding = run(provider, &facts);
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding
                .message
                .starts_with("okta (set in llm.oidc.provider)")
                && finding.message.contains("Okta's org authorization server"),
            "{finding:?}"
        );
        assert!(finding.fix.unwrap().contains("--token-kind id"));
        let fine = healthy_with("    provider: okta\n    token_kind: id\n");
        assert_eq!(run(provider, &fine).status, Status::Pass);
    }

    #[test]
    fn the_preset_is_generic_until_presets_exist() {
        let finding = run(provider, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert!(finding.message.starts_with("generic ("), "{finding:?}");
    }
}
