//! Why a `config.yaml` could not be used: unparsable text, an unknown key, a newer format,
//! or field values that break the rules of SPEC §3.

use std::fmt;

/// Everything that can be wrong with `config.yaml`.
///
/// Messages are meant for people (the CLI prints them after the file path). They name the
/// dotted field (`llm.oidc.issuer`) or the line, and never contain anything but config
/// values, which are not secret. Exhaustive, so the CLI's presentation of each case is
/// checked by the compiler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not YAML, or a value under `llm:` has the wrong shape (e.g. a list where a
    /// string belongs).
    #[error("line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong, naming the field when it is known.
        message: String,
    },
    /// A key under `llm:` that llmauth does not know: a typo must not be silently ignored.
    #[error("line {line}: {}", unknown_key(key))]
    UnknownKey {
        /// Dotted path of the key, e.g. `llm.oidc.isuer`.
        key: String,
        /// 1-based line where the key is written.
        line: usize,
    },
    /// `llm.version` is greater than the version this llmauth understands.
    #[error("written by a newer llmauth (version {found}) — upgrade llmauth")]
    UnsupportedVersion {
        /// The version found in the file.
        found: i64,
    },
    /// The required fields are not all set (and the ones that are set are valid).
    #[error("{}", unconfigured_message(missing))]
    Unconfigured {
        /// Dotted paths of the missing required fields.
        missing: Vec<&'static str>,
    },
    /// One or more fields break the rules; every broken field is listed.
    #[error("{}", FieldList(.0))]
    Invalid(Vec<FieldError>),
    /// The file is larger than any llmauth config (it was not read whole).
    #[error("the file is larger than {} MiB", limit / (1024 * 1024))]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The updated file could not be produced faithfully (for example, the top level of the
    /// file is a flow mapping, or an anchor defined under `llm:` is used elsewhere), so
    /// nothing should be written.
    #[error("cannot update config.yaml: {reason}")]
    Unrenderable {
        /// Why the file cannot be updated in place.
        reason: String,
    },
}

/// One field that breaks a rule, named by its dotted path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `llm.gateway_url` or `llm.oidc.auth_params.state`.
    pub field: String,
    /// What is wrong with it, lowercase, without trailing period.
    pub problem: String,
}

impl FieldError {
    /// A field error, for callers (the runtime) that check what core cannot, such as the
    /// contents of `llm.tls.ca_file`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] from a list of field errors.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::Invalid(errors)
    }

    /// Adds field errors found outside core (e.g. an unreadable `tls.ca_file`) to this error,
    /// so that one message lists every problem.
    ///
    /// Missing required fields become "is required" entries. Errors that are not about field
    /// values (parse errors, unknown keys, newer versions) are returned unchanged: they come
    /// first and the extra errors would only distract.
    #[must_use]
    pub fn merge(self, extra: Vec<FieldError>) -> Self {
        if extra.is_empty() {
            return self;
        }
        match self {
            Self::Invalid(mut errors) => {
                errors.extend(extra);
                Self::Invalid(errors)
            }
            Self::Unconfigured { missing } => {
                let mut errors: Vec<FieldError> =
                    missing.into_iter().map(required_field_error).collect();
                errors.extend(extra);
                Self::Invalid(errors)
            }
            other @ (Self::Parse { .. }
            | Self::UnknownKey { .. }
            | Self::UnsupportedVersion { .. }
            | Self::TooLarge { .. }
            | Self::Unrenderable { .. }) => other,
        }
    }

    /// The field errors of an [`ConfigError::Invalid`] (empty for every other variant).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Invalid(errors) => errors,
            Self::Parse { .. }
            | Self::UnknownKey { .. }
            | Self::UnsupportedVersion { .. }
            | Self::Unconfigured { .. }
            | Self::TooLarge { .. }
            | Self::Unrenderable { .. } => &[],
        }
    }
}

impl ConfigError {
    /// The message for the config file at `path`, saying each thing once: the file and
    /// line as `path:line:column:` where there is one, the path where there is not.
    /// What to do is [`hint`](Self::hint)'s.
    pub fn in_file(&self, path: &str) -> String {
        match self {
            Self::Parse {
                line,
                column,
                message,
            } => format!(
                "{path}:{line}:{column}: {}",
                crate::text::excerpt(message, 200)
            ),
            Self::UnknownKey { key, line } => format!("{path}:{line}: {}", unknown_key(key)),
            Self::UnsupportedVersion { found } => {
                format!("{path} was written by a newer llmauth (version {found})")
            }
            Self::Unconfigured { missing } => format!(
                "llmauth is not configured: {} {} not set in {path}",
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
            ),
            Self::Invalid(errors) => match errors.as_slice() {
                [only] => format!("invalid configuration in {path}: {only}"),
                many => {
                    let lines: String = many.iter().map(|e| format!("\n  {e}")).collect();
                    format!("invalid configuration in {path}:{lines}")
                }
            },
            Self::Unrenderable { reason } => format!("cannot update {path}: {reason}"),
            Self::TooLarge { limit } => format!(
                "{path} is larger than {} MiB, which no llmauth config is",
                limit / (1024 * 1024)
            ),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Parse { .. } | Self::UnknownKey { .. } => {
                "fix the file, or run `llmauth config set`".to_owned()
            }
            Self::UnsupportedVersion { .. } => "upgrade llmauth".to_owned(),
            Self::Unconfigured { missing } => {
                let flags: Vec<&str> = missing.iter().map(|field| set_flag(field)).collect();
                format!("run `llmauth config set {}`", flags.join(" "))
            }
            Self::Invalid(_) => "fix it with `llmauth config set`".to_owned(),
            Self::Unrenderable { .. } => {
                "edit the file by hand; llmauth cannot rewrite it faithfully".to_owned()
            }
            Self::TooLarge { .. } => {
                "check that --config or LLMAUTH_CONFIG names llmauth's config file".to_owned()
            }
        }
    }
}

/// "unknown key `llm.oidc.isuer` (did you mean `llm.oidc.issuer`?)"; a key of any
/// length is quoted as an excerpt.
fn unknown_key(key: &str) -> String {
    let quoted = crate::text::excerpt(key, 80);
    match super::field::did_you_mean(key) {
        Some(field) => format!("unknown key `{quoted}` (did you mean `{field}`?)"),
        None => format!("unknown key `{quoted}`"),
    }
}

/// The entry used for a missing required field when it is listed with other problems.
pub(crate) fn required_field_error(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        format!(
            "is required (set it with `llmauth config set {}`)",
            set_flag(field)
        ),
    )
}

/// The `config set` flag that sets a required field, for the hints in messages.
fn set_flag(field: &str) -> &'static str {
    match field {
        super::field::GATEWAY_URL => "--gateway-url URL",
        super::field::ISSUER => "--issuer URL",
        _ => "--client-id ID",
    }
}

fn unconfigured_message(missing: &[&'static str]) -> String {
    let flags: Vec<&str> = missing.iter().map(|field| set_flag(field)).collect();
    format!(
        "llmauth is not configured: {} {} not set — run `llmauth config set {}`",
        missing.join(", "),
        if missing.len() == 1 { "is" } else { "are" },
        flags.join(" "),
    )
}

/// Displays every field error, one per line, so no problem hides behind another.
struct FieldList<'a>(&'a [FieldError]);

impl fmt::Display for FieldList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("invalid configuration"),
            [only] => write!(f, "invalid configuration: {only}"),
            many => {
                f.write_str("invalid configuration:")?;
                for error in many {
                    write!(f, "\n  {error}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::field;

    #[test]
    fn invalid_lists_every_field() {
        let err = ConfigError::invalid(vec![
            FieldError::new(field::GATEWAY_URL, "must be an https URL with a host"),
            FieldError::new(field::PROXY_LISTEN_PORT, "must be between 1024 and 65535"),
        ]);
        assert_eq!(
            err.to_string(),
            "invalid configuration:\n  llm.gateway_url: must be an https URL with a host\n  \
             llm.proxy.listen_port: must be between 1024 and 65535"
        );
        let one = ConfigError::invalid(vec![FieldError::new(field::ISSUER, "bad")]);
        assert_eq!(
            one.to_string(),
            "invalid configuration: llm.oidc.issuer: bad"
        );
    }

    #[test]
    fn unconfigured_names_missing_fields_and_flags() {
        let err = ConfigError::Unconfigured {
            missing: vec![field::GATEWAY_URL, field::ISSUER, field::CLIENT_ID],
        };
        assert_eq!(
            err.to_string(),
            "llmauth is not configured: llm.gateway_url, llm.oidc.issuer, llm.oidc.client_id \
             are not set — run `llmauth config set --gateway-url URL --issuer URL --client-id ID`"
        );
        let one = ConfigError::Unconfigured {
            missing: vec![field::CLIENT_ID],
        };
        assert!(one.to_string().contains("llm.oidc.client_id is not set"));
        assert!(
            one.to_string()
                .ends_with("`llmauth config set --client-id ID`")
        );
    }

    #[test]
    fn merge_appends_to_invalid_and_converts_unconfigured() {
        let ca = FieldError::new(field::TLS_CA_FILE, "no such file");
        let merged = ConfigError::invalid(vec![FieldError::new(field::ISSUER, "bad")])
            .merge(vec![ca.clone()]);
        assert_eq!(
            merged.field_errors(),
            &[FieldError::new(field::ISSUER, "bad"), ca.clone()]
        );

        let merged = ConfigError::Unconfigured {
            missing: vec![field::CLIENT_ID],
        }
        .merge(vec![ca.clone()]);
        let fields: Vec<&str> = merged
            .field_errors()
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(fields, [field::CLIENT_ID, field::TLS_CA_FILE]);

        let parse = ConfigError::Parse {
            line: 3,
            column: 1,
            message: "bad".into(),
        };
        assert_eq!(parse.clone().merge(vec![ca]), parse);
    }

    #[test]
    fn in_a_file_each_thing_is_said_once() {
        let cases = [
            (
                ConfigError::Parse {
                    line: 2,
                    column: 5,
                    message: "llm.oidc: bad".into(),
                },
                "/c.yaml:2:5: llm.oidc: bad",
            ),
            (
                ConfigError::UnknownKey {
                    key: "llm.oidc.isuer".into(),
                    line: 4,
                },
                "/c.yaml:4: unknown key `llm.oidc.isuer` (did you mean `llm.oidc.issuer`?)",
            ),
            (
                ConfigError::Unconfigured {
                    missing: vec![field::CLIENT_ID],
                },
                "llmauth is not configured: llm.oidc.client_id is not set in /c.yaml",
            ),
            (
                ConfigError::invalid(vec![FieldError::new(field::ISSUER, "bad")]),
                "invalid configuration in /c.yaml: llm.oidc.issuer: bad",
            ),
            (
                ConfigError::UnsupportedVersion { found: 2 },
                "/c.yaml was written by a newer llmauth (version 2)",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.in_file("/c.yaml"), message);
        }
        assert_eq!(
            ConfigError::Unconfigured {
                missing: vec![field::ISSUER, field::CLIENT_ID],
            }
            .hint(),
            "run `llmauth config set --issuer URL --client-id ID`"
        );
    }

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let errors = [
            ConfigError::Parse {
                line: 1,
                column: 2,
                message: "x".into(),
            },
            ConfigError::UnknownKey {
                key: "llm.oidc.isuer".into(),
                line: 4,
            },
            ConfigError::UnsupportedVersion { found: 2 },
            ConfigError::Unrenderable { reason: "r".into() },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.ends_with('.'), "{text}");
            assert!(text.starts_with(|c: char| !c.is_uppercase()), "{text}");
        }
        assert_eq!(
            ConfigError::UnsupportedVersion { found: 2 }.to_string(),
            "written by a newer llmauth (version 2) — upgrade llmauth"
        );
    }
}
