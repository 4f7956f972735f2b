//! Claude Code's model tiers for a gateway that fronts Amazon Bedrock (`llm.models`,
//! `llm.bedrock`).
//!
//! Claude Code picks a model per tier (`--model haiku|sonnet|opus`, background tasks on
//! haiku); against Bedrock each tier needs a Bedrock model id, which it reads from
//! `ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL`, and Bedrock rejects Anthropic's
//! experimental beta headers (`CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1`). This module
//! decides which configured id serves which tier, the default for a tier not given, the
//! 1M-context variants, and what to warn about.

use std::fmt;

use super::tool::Tool;
use crate::config::{Config, ConfigChanges};

/// A Claude Code model tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The small, fast tier (also Claude Code's background tasks).
    Haiku,
    /// The most capable tier.
    Opus,
    /// The everyday tier.
    Sonnet,
}

/// One tier: how a model id is recognised as serving it, the variable Claude Code reads
/// its id from, and the id used when `llm.models` names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierRow {
    /// The tier.
    pub tier: Tier,
    /// Found case-insensitively in an id, it maps the id to this tier.
    pub word: &'static str,
    /// Claude Code's environment variable for the tier's model id.
    pub variable: &'static str,
    /// The Bedrock inference-profile id used when no configured id maps to the tier.
    pub default_id: &'static str,
    /// Whether the tier has a 1M-token context variant (`[1m]`, `llm.bedrock.enable_1m`).
    pub has_1m: bool,
}

/// The tiers, in the order ids are matched against them (an id naming two tiers, such as
/// `opus-distilled-haiku`, belongs to the first).
///
/// The default ids are the `us.` cross-region inference profiles Claude Code's own
/// documentation gives for pinning these variables ("Claude Code on Amazon Bedrock", section
/// "Pin model versions", <https://code.claude.com/docs/en/amazon-bedrock>; read 2026-06).
pub const TIERS: [TierRow; 3] = [
    TierRow {
        tier: Tier::Haiku,
        word: "haiku",
        variable: "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        default_id: "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        has_1m: false,
    },
    TierRow {
        tier: Tier::Opus,
        word: "opus",
        variable: "ANTHROPIC_DEFAULT_OPUS_MODEL",
        default_id: "us.anthropic.claude-opus-4-8",
        has_1m: true,
    },
    TierRow {
        tier: Tier::Sonnet,
        word: "sonnet",
        variable: "ANTHROPIC_DEFAULT_SONNET_MODEL",
        default_id: "us.anthropic.claude-sonnet-4-6",
        has_1m: true,
    },
];

/// Claude Code's variable that turns off the beta headers Bedrock rejects.
pub const DISABLE_BETAS: &str = "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS";

/// The suffix Claude Code reads as "the 1M-token context variant".
const ONE_M: &str = "[1m]";

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(row(*self).word)
    }
}

fn row(tier: Tier) -> &'static TierRow {
    match tier {
        Tier::Haiku => &TIERS[0],
        Tier::Opus => &TIERS[1],
        Tier::Sonnet => &TIERS[2],
    }
}

/// The row of the tier `id` serves: the first of [`TIERS`] whose word it contains,
/// ignoring case.
fn slot_of(id: &str) -> Option<usize> {
    let id = id.to_ascii_lowercase();
    TIERS.iter().position(|r| id.contains(r.word))
}

/// `id` with the 1M-context suffix, which is never added twice.
fn with_1m(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    if lower.ends_with(ONE_M) {
        id.to_owned()
    } else {
        format!("{id}{ONE_M}")
    }
}

/// What `llm.models` means for Claude Code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tiers {
    /// Each tier's variable and id, in [`TIERS`] order.
    pub ids: Vec<(&'static str, String)>,
    /// Entries that did not count, in the order found.
    pub ignored: Vec<Ignored>,
}

/// A `llm.models` entry that does not reach Claude Code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// It names no tier.
    NoTier(String),
    /// A later entry names the same tier, and the last one wins.
    Overridden {
        /// The tier.
        tier: Tier,
        /// The entry that does not count.
        id: String,
        /// The later entry that does.
        by: String,
    },
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTier(id) => write!(
                f,
                "--models entry {id:?} names no Claude Code tier (no haiku, opus or sonnet in it); Claude Code does not use it"
            ),
            Self::Overridden { tier, id, by } => write!(
                f,
                "--models entries {id:?} and {by:?} are both {tier} models; Claude Code uses the last one, {by:?}"
            ),
        }
    }
}

/// The id each tier gets from `models` (the last entry naming it), else its default; with
/// `enable_1m`, the opus and sonnet ids get `[1m]`.
pub fn tiers(models: &[String], enable_1m: bool) -> Tiers {
    let mut chosen: [Option<&String>; 3] = [None; 3];
    let mut ignored = Vec::new();
    for id in models {
        let Some(slot) = slot_of(id) else {
            ignored.push(Ignored::NoTier(id.clone()));
            continue;
        };
        if let Some(previous) = chosen[slot].replace(id) {
            ignored.push(Ignored::Overridden {
                tier: TIERS[slot].tier,
                id: previous.clone(),
                by: id.clone(),
            });
        }
    }
    let ids = TIERS
        .iter()
        .zip(chosen)
        .map(|(row, id)| {
            let id = id.map_or(row.default_id, String::as_str);
            let id = if enable_1m && row.has_1m {
                with_1m(id)
            } else {
                id.to_owned()
            };
            (row.variable, id)
        })
        .collect();
    Tiers { ids, ignored }
}

/// Warnings about model and Bedrock settings that have no effect in this run (stderr):
/// `--bedrock-compat` without Claude Code among the tools wired, `--enable-1m` without
/// Bedrock compatibility, and `llm.models` entries Claude Code does not use.
pub fn warnings(changes: &ConfigChanges, config: &Config, configured: &[Tool]) -> Vec<String> {
    let claude_code = configured.contains(&Tool::ClaudeCode);
    let mut warnings = Vec::new();
    if changes.bedrock_compat == Some(true) && !claude_code {
        warnings.push(
            "--bedrock-compat was given but Claude Code was not configured in this run, so it had no effect"
                .to_owned(),
        );
    }
    if changes.bedrock_enable_1m == Some(true) && !config.bedrock_compat {
        warnings.push(
            "--enable-1m has no effect without Bedrock compatibility (--bedrock-compat); it was ignored"
                .to_owned(),
        );
    }
    if config.bedrock_compat && claude_code {
        let tiers = tiers(&config.models, config.bedrock_enable_1m);
        warnings.extend(tiers.ignored.iter().map(ToString::to_string));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(models: &[&str], enable_1m: bool) -> Vec<String> {
        let models: Vec<String> = models.iter().map(|m| (*m).to_owned()).collect();
        tiers(&models, enable_1m)
            .ids
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    #[test]
    fn the_tier_mapping_and_the_1m_rule() {
        // (models, enable_1m) → haiku, opus, sonnet ids.
        let table: &[(&[&str], bool, [&str; 3])] = &[
            (
                &[],
                false,
                [
                    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                    "us.anthropic.claude-opus-4-8",
                    "us.anthropic.claude-sonnet-4-6",
                ],
            ),
            (
                &[],
                true,
                [
                    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                    "us.anthropic.claude-opus-4-8[1m]",
                    "us.anthropic.claude-sonnet-4-6[1m]",
                ],
            ),
            (
                &["eu.anthropic.claude-Sonnet-4-5", "MY-OPUS", "small-HAIKU"],
                false,
                ["small-HAIKU", "MY-OPUS", "eu.anthropic.claude-Sonnet-4-5"],
            ),
            // haiku is matched first, then opus, then sonnet.
            (
                &["opus-distilled-haiku", "sonnet-opus"],
                false,
                [
                    "opus-distilled-haiku",
                    "sonnet-opus",
                    "us.anthropic.claude-sonnet-4-6",
                ],
            ),
            // [1m] only for opus and sonnet, and never twice (in any case).
            (
                &["h-haiku", "o-opus[1m]", "s-sonnet[1M]"],
                true,
                ["h-haiku", "o-opus[1m]", "s-sonnet[1M]"],
            ),
            (
                &["h-haiku", "o-opus"],
                true,
                [
                    "h-haiku",
                    "o-opus[1m]",
                    "us.anthropic.claude-sonnet-4-6[1m]",
                ],
            ),
            // The last entry for a tier wins.
            (
                &["a-opus", "gpt-4o", "b-opus"],
                false,
                [
                    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                    "b-opus",
                    "us.anthropic.claude-sonnet-4-6",
                ],
            ),
        ];
        for (models, enable_1m, expected) in table {
            assert_eq!(ids(models, *enable_1m), expected, "{models:?} {enable_1m}");
        }
        let variables: Vec<&str> = tiers(&[], false).ids.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            variables,
            [
                "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                "ANTHROPIC_DEFAULT_OPUS_MODEL",
                "ANTHROPIC_DEFAULT_SONNET_MODEL"
            ]
        );
    }

    fn config(compat: bool, enable_1m: bool, models: &[&str]) -> Config {
        let document = crate::config::ConfigDocument::parse(&format!(
            "llm:\n  gateway_url: https://gw.example.com\n  oidc:\n    issuer: https://idp.example.com\n    client_id: c\n  \
             models: [{}]\n  bedrock:\n    compat: {compat}\n    enable_1m: {enable_1m}\n",
            models.join(", ")
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        document.validate().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_warning_says_what_had_no_effect() {
        let given = ConfigChanges {
            bedrock_compat: Some(true),
            bedrock_enable_1m: Some(true),
            ..ConfigChanges::default()
        };
        let models = ["a-opus", "gpt-4o", "b-opus"];
        assert_eq!(
            warnings(&given, &config(true, true, &models), &[Tool::ClaudeCode]),
            [
                "--models entry \"gpt-4o\" names no Claude Code tier (no haiku, opus or sonnet in it); Claude Code does not use it",
                "--models entries \"a-opus\" and \"b-opus\" are both opus models; Claude Code uses the last one, \"b-opus\"",
            ]
        );
        assert_eq!(
            warnings(&given, &config(true, false, &models), &[Tool::Codex]),
            [
                "--bedrock-compat was given but Claude Code was not configured in this run, so it had no effect"
            ]
        );
        let only_1m = ConfigChanges {
            bedrock_enable_1m: Some(true),
            ..ConfigChanges::default()
        };
        assert_eq!(
            warnings(&only_1m, &config(false, true, &models), &[Tool::ClaudeCode]),
            [
                "--enable-1m has no effect without Bedrock compatibility (--bedrock-compat); it was ignored"
            ]
        );
        // Settings saved earlier, and compat off: nothing to say.
        let none = ConfigChanges::default();
        assert!(warnings(&none, &config(true, false, &["x-opus"]), &[Tool::Codex]).is_empty());
        assert!(warnings(&none, &config(false, false, &models), &[Tool::ClaudeCode]).is_empty());
    }
}
