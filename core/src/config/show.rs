//! `llmauth config show`: every field with its value (as written, or the default), what is
//! missing and what is wrong. Works on an incomplete or invalid configuration, because that
//! is exactly when people look.
//!
//! Only config values are printed; the config holds no secrets.

use serde_json::{Value, json};

use super::defaults;
use super::document::ConfigDocument;
use super::duration::format_duration;
use super::error::{ConfigError, FieldError};
use super::field;
use super::model::SecretsBackend;
use super::render::scalar;
use super::validate::shown_provider;
use crate::provider::{Choice, Provider, Source};

/// What validation says, for both output formats.
struct Status {
    missing: Vec<&'static str>,
    problems: Vec<FieldError>,
    session_key: Option<String>,
}

impl Status {
    fn of(document: &ConfigDocument) -> Self {
        let missing = document.raw().missing_required();
        match document.validate() {
            Ok(config) => Self {
                missing,
                problems: Vec::new(),
                session_key: Some(config.session_key().to_string()),
            },
            Err(error) => {
                // Missing fields are reported separately.
                let problems = error
                    .field_errors()
                    .iter()
                    .filter(|e| !missing.contains(&e.field.as_str()))
                    .cloned()
                    .collect();
                Self {
                    missing,
                    problems,
                    session_key: None,
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        if !self.problems.is_empty() {
            "invalid"
        } else if !self.missing.is_empty() {
            "incomplete"
        } else {
            "ok"
        }
    }
}

/// One line of the text table: field, value, and where a value not set came from.
struct Row {
    field: String,
    value: String,
    note: String,
}

fn row(field: &str, value: Option<String>, default: &str) -> Row {
    match value {
        Some(value) => Row {
            field: field.to_owned(),
            value,
            note: String::new(),
        },
        None => Row {
            field: field.to_owned(),
            value: default.to_owned(),
            // Placeholders such as "(not set)" speak for themselves.
            note: if default.starts_with('(') {
                String::new()
            } else {
                "(default)".to_owned()
            },
        },
    }
}

/// A setting the provider preset fills when the file does not.
fn preset_row<T: ToString>(field: &str, choice: &Choice<T>, provider: &Provider) -> Row {
    Row {
        field: field.to_owned(),
        value: choice.value.to_string(),
        note: match choice.source {
            Source::Config => String::new(),
            Source::Preset => format!("({} preset)", provider.preset),
        },
    }
}

/// A value derived from the rows above it.
fn derived(label: &str, value: String) -> Row {
    Row {
        field: format!("  {label}"),
        value,
        note: String::new(),
    }
}

fn required(field: &str, value: Option<&str>) -> Row {
    Row {
        field: field.to_owned(),
        value: value.map_or_else(|| "(not set — required)".to_owned(), scalar),
        note: String::new(),
    }
}

/// The rows of the provider settings: the preset and why, each setting and where it
/// came from, the redirect URI to register and the client secret.
fn provider_rows(oidc: &super::raw::RawOidc, provider: &Provider) -> Vec<Row> {
    let secret = match (
        oidc.client_secret.as_deref(),
        provider.client_secret_expected,
    ) {
        (Some(marker), _) => scalar(marker),
        (None, false) => "(none)".to_owned(),
        (None, true) => format!(
            "(none — the {} preset needs one: llmauth config set --client-secret-stdin)",
            provider.preset
        ),
    };
    vec![
        row(
            field::PROVIDER,
            oidc.provider.as_deref().map(scalar),
            "auto",
        ),
        derived(
            "preset",
            format!("{} — {}", provider.preset, provider.reason),
        ),
        preset_row(field::AUDIENCE_VIA, &provider.audience_via, provider),
        preset_row(field::OFFLINE_VIA, &provider.offline_via, provider),
        preset_row(field::CALLBACK_HOST, &provider.callback_host, provider),
        preset_row(field::CALLBACK_PORT, &provider.callback_port, provider),
        row(
            field::REDIRECT_URL,
            oidc.redirect_url.as_deref().map(scalar),
            "(not set)",
        ),
        derived("redirect URI", provider.redirect().to_string()),
        preset_row(field::RESEND_SCOPE, &provider.resend_scope, provider),
        preset_row(field::TOKEN_KIND, &provider.token_kind, provider),
        row(
            field::TENANTS,
            oidc.tenants.as_ref().map(|tenants| list(tenants)),
            "(not set)",
        ),
        Row {
            field: field::CLIENT_SECRET.to_owned(),
            value: secret,
            note: String::new(),
        },
    ]
}

impl ConfigDocument {
    /// `config show --format text`: a status line, one line per field, then the problems.
    pub fn show_text(&self) -> String {
        let status = Status::of(self);
        let raw = self.raw();
        let oidc = &raw.oidc;
        let default_scopes: Vec<String> =
            defaults::SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let scopes = oidc.scopes.as_deref().unwrap_or(&default_scopes);
        let provider = shown_provider(oidc);
        let audience = oidc.audience.as_deref().unwrap_or_default();
        let mut rows = vec![
            required(field::GATEWAY_URL, raw.gateway_url.as_deref()),
            required(field::ISSUER, oidc.issuer.as_deref()),
            required(field::CLIENT_ID, oidc.client_id.as_deref()),
            row(
                field::SCOPES,
                oidc.scopes.as_ref().map(|s| list(s)),
                &list(&default_scopes),
            ),
            Row {
                field: "  requested scopes".to_owned(),
                value: provider.scopes(scopes, audience).join(" "),
                note: String::new(),
            },
            row(
                field::AUDIENCE,
                oidc.audience.as_deref().map(scalar),
                "(not set)",
            ),
            row(
                field::PROMPT,
                oidc.prompt.as_deref().map(scalar),
                "(not sent)",
            ),
            row(
                field::AUTH_PARAMS,
                oidc.auth_params.as_ref().map(|params| {
                    if params.is_empty() {
                        "(none)".to_owned()
                    } else {
                        params
                            .iter()
                            .map(|(k, v)| format!("{}={}", scalar(k), scalar(v)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                }),
                "(none)",
            ),
            row(
                field::REFRESH_WINDOW,
                oidc.refresh_window.as_deref().map(scalar),
                &format_duration(defaults::REFRESH_WINDOW),
            ),
        ];
        rows.extend(provider_rows(oidc, &provider));
        rows.extend([
            row(
                field::PROXY_LISTEN_PORT,
                raw.proxy.listen_port.map(|p| p.to_string()),
                &defaults::PROXY_PORT.to_string(),
            ),
            row(
                field::PROXY_REQUIRE_LOCAL_KEY,
                raw.proxy.require_local_key.map(|b| b.to_string()),
                &defaults::REQUIRE_LOCAL_KEY.to_string(),
            ),
            row(
                field::TLS_CA_FILE,
                raw.tls.ca_file.as_deref().map(scalar),
                "(not set)",
            ),
            row(
                field::TLS_SKIP_VERIFY,
                raw.tls.skip_verify.map(|b| b.to_string()),
                &defaults::SKIP_VERIFY.to_string(),
            ),
            row(
                field::SECRETS_BACKEND,
                raw.secrets.backend.as_deref().map(scalar),
                SecretsBackend::default().as_str(),
            ),
            row(
                field::ANTHROPIC_PATH_PREFIX,
                raw.setup.anthropic_path_prefix.as_deref().map(scalar),
                "\"\"",
            ),
            row(
                field::MODELS,
                raw.models.as_ref().map(|m| list(m)),
                "(none)",
            ),
            row(
                field::BEDROCK_COMPAT,
                raw.bedrock.compat.map(|b| b.to_string()),
                &defaults::BEDROCK_COMPAT.to_string(),
            ),
            row(
                field::BEDROCK_ENABLE_1M,
                raw.bedrock.enable_1m.map(|b| b.to_string()),
                &defaults::BEDROCK_ENABLE_1M.to_string(),
            ),
        ]);
        let tools = raw.configured_tools.as_deref().unwrap_or_default();
        if tools.is_empty() {
            rows.push(row(field::CONFIGURED_TOOLS, None, "(none)"));
        }
        for tool in tools {
            rows.push(Row {
                field: field::CONFIGURED_TOOLS.to_owned(),
                value: format!(
                    "{} ({}) in {}",
                    scalar(&tool.tool),
                    scalar(&tool.mode),
                    scalar(&tool.file)
                ),
                note: String::new(),
            });
        }
        if let Some(key) = &status.session_key {
            rows.push(Row {
                field: "session key".to_owned(),
                value: key.clone(),
                note: String::new(),
            });
        }

        let mut out = match status.name() {
            "ok" => "status: ok\n".to_owned(),
            "incomplete" => format!(
                "status: incomplete — {}\n",
                ConfigError::Unconfigured {
                    missing: status.missing.clone(),
                }
            ),
            _ => "status: invalid\n".to_owned(),
        };
        let width = rows
            .iter()
            .map(|r| r.field.chars().count())
            .max()
            .unwrap_or(0);
        for r in &rows {
            let line = format!("{:width$}  {} {}", r.field, r.value, r.note);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if !status.problems.is_empty() || (status.name() == "invalid" && !status.missing.is_empty())
        {
            out.push_str("problems:\n");
            for missing in &status.missing {
                out.push_str(&format!("  {missing}: is required\n"));
            }
            for problem in &status.problems {
                out.push_str(&format!("  {problem}\n"));
            }
        }
        out
    }

    /// `config show --format json`: the same information as [`ConfigDocument::show_text`].
    ///
    /// `llm` holds every field, as written or (when unset) its default, with `null` for
    /// unset fields that have no default; `defaults` lists the fields that were not set.
    pub fn show_json(&self) -> Value {
        let status = Status::of(self);
        let raw = self.raw();
        let oidc = &raw.oidc;
        let default_scopes: Vec<String> =
            defaults::SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let scopes = oidc
            .scopes
            .clone()
            .unwrap_or_else(|| default_scopes.clone());
        let provider = shown_provider(oidc);
        let audience = oidc.audience.as_deref().unwrap_or_default();
        let mut defaulted: Vec<&str> = Vec::new();
        let mut note = |set: bool, name: &'static str| {
            if !set {
                defaulted.push(name);
            }
        };
        note(oidc.scopes.is_some(), field::SCOPES);
        note(oidc.audience.is_some(), field::AUDIENCE);
        note(oidc.callback_port.is_some(), field::CALLBACK_PORT);
        note(oidc.prompt.is_some(), field::PROMPT);
        note(oidc.auth_params.is_some(), field::AUTH_PARAMS);
        note(oidc.refresh_window.is_some(), field::REFRESH_WINDOW);
        note(oidc.provider.is_some(), field::PROVIDER);
        note(oidc.audience_via.is_some(), field::AUDIENCE_VIA);
        note(oidc.offline_via.is_some(), field::OFFLINE_VIA);
        note(oidc.callback_host.is_some(), field::CALLBACK_HOST);
        note(oidc.redirect_url.is_some(), field::REDIRECT_URL);
        note(oidc.resend_scope.is_some(), field::RESEND_SCOPE);
        note(oidc.token_kind.is_some(), field::TOKEN_KIND);
        note(oidc.tenants.is_some(), field::TENANTS);
        note(oidc.client_secret.is_some(), field::CLIENT_SECRET);
        note(raw.proxy.listen_port.is_some(), field::PROXY_LISTEN_PORT);
        note(
            raw.proxy.require_local_key.is_some(),
            field::PROXY_REQUIRE_LOCAL_KEY,
        );
        note(raw.tls.ca_file.is_some(), field::TLS_CA_FILE);
        note(raw.tls.skip_verify.is_some(), field::TLS_SKIP_VERIFY);
        note(raw.secrets.backend.is_some(), field::SECRETS_BACKEND);
        note(
            raw.setup.anthropic_path_prefix.is_some(),
            field::ANTHROPIC_PATH_PREFIX,
        );
        note(raw.models.is_some(), field::MODELS);
        note(raw.bedrock.compat.is_some(), field::BEDROCK_COMPAT);
        note(raw.bedrock.enable_1m.is_some(), field::BEDROCK_ENABLE_1M);
        note(raw.configured_tools.is_some(), field::CONFIGURED_TOOLS);

        let tools: Vec<Value> = raw
            .configured_tools
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|t| json!({"tool": t.tool, "mode": t.mode, "file": t.file}))
            .collect();
        json!({
            "status": status.name(),
            "missing": status.missing,
            "problems": status
                .problems
                .iter()
                .map(|p| json!({"field": p.field, "problem": p.problem}))
                .collect::<Vec<_>>(),
            "session_key": status.session_key,
            "requested_scopes": provider.scopes(&scopes, audience),
            "provider": provider.to_json(),
            "defaults": defaulted,
            "llm": {
                "version": raw.version.unwrap_or(super::CURRENT_VERSION),
                "gateway_url": raw.gateway_url,
                "oidc": {
                    "issuer": oidc.issuer,
                    "client_id": oidc.client_id,
                    "scopes": scopes,
                    "audience": oidc.audience.clone().unwrap_or_default(),
                    "callback_port": oidc.callback_port.unwrap_or(i64::from(provider.callback_port.value)),
                    "prompt": oidc.prompt.clone().unwrap_or_default(),
                    "auth_params": oidc.auth_params.clone().unwrap_or_default(),
                    "refresh_window": oidc
                        .refresh_window
                        .clone()
                        .unwrap_or_else(|| format_duration(defaults::REFRESH_WINDOW)),
                    "provider": oidc.provider.clone().unwrap_or_else(|| "auto".to_owned()),
                    "audience_via": provider.audience_via.value.as_str(),
                    "offline_via": provider.offline_via.value.as_str(),
                    "callback_host": provider.callback_host.value.as_str(),
                    "redirect_url": oidc.redirect_url,
                    "resend_scope": provider.resend_scope.value,
                    "token_kind": provider.token_kind.value.as_str(),
                    "tenants": oidc.tenants.clone().unwrap_or_default(),
                    "client_secret": oidc.client_secret,
                },
                "proxy": {
                    "listen_port": raw.proxy.listen_port.unwrap_or(i64::from(defaults::PROXY_PORT)),
                    "require_local_key": raw.proxy.require_local_key.unwrap_or(defaults::REQUIRE_LOCAL_KEY),
                },
                "tls": {
                    "ca_file": raw.tls.ca_file,
                    "skip_verify": raw.tls.skip_verify.unwrap_or(defaults::SKIP_VERIFY),
                },
                "secrets": {
                    "backend": raw
                        .secrets
                        .backend
                        .clone()
                        .unwrap_or_else(|| SecretsBackend::default().as_str().to_owned()),
                },
                "setup": {
                    "anthropic_path_prefix": raw.setup.anthropic_path_prefix.clone().unwrap_or_default(),
                },
                "models": raw.models.clone().unwrap_or_default(),
                "bedrock": {
                    "compat": raw.bedrock.compat.unwrap_or(defaults::BEDROCK_COMPAT),
                    "enable_1m": raw.bedrock.enable_1m.unwrap_or(defaults::BEDROCK_ENABLE_1M),
                },
                "configured_tools": tools,
            },
        })
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "[]".to_owned()
    } else {
        items
            .iter()
            .map(|s| scalar(s))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> ConfigDocument {
        ConfigDocument::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    const COMPLETE: &str = "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    \
        issuer: https://auth.example.com\n    client_id: my-client-id\n    scopes: [profile]\n";

    #[test]
    fn text_for_a_complete_config() {
        let text = doc(COMPLETE).show_text();
        assert!(text.starts_with("status: ok\n"), "{text}");
        assert!(text.contains("llm.gateway_url"), "{text}");
        assert!(text.contains("https://llm.example.com\n"), "{text}");
        assert!(
            text.contains("  requested scopes               openid profile offline_access\n"),
            "{text}"
        );
        assert!(
            text.contains("llm.oidc.audience                (not set)\n"),
            "{text}"
        );
        assert!(
            text.contains("llm.oidc.callback_port           8666 (generic preset)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  preset                         generic — the issuer names no known provider"
            ),
            "{text}"
        );
        assert!(
            text.contains("  redirect URI                   http://localhost:8666/callback\n"),
            "{text}"
        );
        assert!(
            text.contains("session key                      4c1f4a6519eade80"),
            "{text}"
        );
        assert!(!text.contains("problems"), "{text}");
        assert!(
            text.contains("llm.models                       (none)\n"),
            "{text}"
        );
        assert!(
            text.contains("llm.bedrock.compat               false (default)\n"),
            "{text}"
        );
    }

    #[test]
    fn models_and_bedrock_are_shown() {
        let document = doc(&format!(
            "{COMPLETE}  models: [us.anthropic.claude-opus-4-8, \"x-haiku[1m]\"]\n  bedrock:\n    compat: true\n"
        ));
        let text = document.show_text();
        assert!(
            text.contains(
                "llm.models                       us.anthropic.claude-opus-4-8 \"x-haiku[1m]\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("llm.bedrock.compat               true\n"),
            "{text}"
        );
        assert!(
            text.contains("llm.bedrock.enable_1m            false (default)\n"),
            "{text}"
        );
        let json = document.show_json();
        assert_eq!(
            json["llm"]["models"],
            json!(["us.anthropic.claude-opus-4-8", "x-haiku[1m]"])
        );
        assert_eq!(
            json["llm"]["bedrock"],
            json!({"compat": true, "enable_1m": false})
        );
        let defaults = json["defaults"].as_array().cloned().unwrap_or_default();
        assert!(defaults.contains(&json!("llm.bedrock.enable_1m")));
        assert!(!defaults.contains(&json!("llm.models")));
    }

    /// The preset and why, each provider setting with where it came from, and what a
    /// preset needs that is not there (Google's client secret).
    #[test]
    fn the_provider_and_its_sources_are_shown() {
        let document = doc(
            "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    \
             issuer: https://accounts.google.com\n    client_id: c.apps.googleusercontent.com\n    \
             callback_host: localhost\n",
        );
        let text = document.show_text();
        assert!(
            text.contains("preset                         google — the issuer's host accounts.google.com matches accounts.google.com"),
            "{text}"
        );
        assert!(
            text.contains("llm.oidc.offline_via             access_type (google preset)\n"),
            "{text}"
        );
        assert!(
            text.contains("llm.oidc.callback_host           localhost\n"),
            "{text}"
        );
        assert!(
            text.contains("redirect URI                   http://localhost:<any port>/callback"),
            "{text}"
        );
        assert!(
            text.contains(
                "(none — the google preset needs one: llmauth config set --client-secret-stdin)"
            ),
            "{text}"
        );
        assert!(
            text.contains("  requested scopes               openid\n"),
            "{text}"
        );
        let json = document.show_json();
        assert_eq!(json["provider"]["preset"], "google");
        assert_eq!(json["provider"]["settings"]["token_kind"]["value"], "id");
        assert_eq!(
            json["provider"]["settings"]["token_kind"]["source"],
            "preset"
        );
        assert_eq!(
            json["provider"]["settings"]["redirect_uri"]["source"],
            "config"
        );
        assert_eq!(json["llm"]["oidc"]["callback_host"], "localhost");
        assert_eq!(json["llm"]["oidc"]["client_secret"], Value::Null);
        assert_eq!(json["requested_scopes"], json!(["openid"]));
        let defaults = json["defaults"].as_array().cloned().unwrap_or_default();
        assert!(defaults.contains(&json!("llm.oidc.token_kind")));
        assert!(!defaults.contains(&json!("llm.oidc.callback_host")));
    }

    #[test]
    fn text_for_an_empty_config_says_what_is_missing() {
        let text = ConfigDocument::new().show_text();
        assert!(
            text.starts_with("status: incomplete — llmauth is not configured: "),
            "{text}"
        );
        assert!(
            text.contains("llm.oidc.client_id               (not set — required)"),
            "{text}"
        );
        assert!(!text.contains("session key"), "{text}");
    }

    #[test]
    fn text_for_an_invalid_config_lists_problems() {
        let text =
            doc("llm:\n  gateway_url: http://x\n  proxy:\n    listen_port: 80\n").show_text();
        assert!(text.starts_with("status: invalid\n"), "{text}");
        assert!(
            text.contains("problems:\n  llm.oidc.issuer: is required\n"),
            "{text}"
        );
        assert!(
            text.contains("  llm.gateway_url: must be an https URL with a host\n"),
            "{text}"
        );
        assert!(
            text.contains("  llm.proxy.listen_port: must be between 1024 and 65535, not 80\n"),
            "{text}"
        );
    }

    #[test]
    fn json_shape() {
        let value = doc(COMPLETE).show_json();
        assert_eq!(value["status"], "ok");
        assert_eq!(value["session_key"], "4c1f4a6519eade80");
        assert_eq!(value["llm"]["oidc"]["scopes"], json!(["profile"]));
        assert_eq!(
            value["requested_scopes"],
            json!(["openid", "profile", "offline_access"])
        );
        assert_eq!(value["llm"]["oidc"]["audience"], "");
        assert_eq!(value["llm"]["proxy"]["listen_port"], 14000);
        assert_eq!(value["llm"]["tls"]["ca_file"], Value::Null);
        assert!(
            value["defaults"]
                .as_array()
                .is_some_and(|d| d.contains(&json!("llm.oidc.audience")))
        );
        assert!(
            !value["defaults"]
                .as_array()
                .is_some_and(|d| d.contains(&json!("llm.oidc.scopes")))
        );

        let empty = ConfigDocument::new().show_json();
        assert_eq!(empty["status"], "incomplete");
        assert_eq!(
            empty["missing"],
            json!(["llm.gateway_url", "llm.oidc.issuer", "llm.oidc.client_id"])
        );
        assert_eq!(empty["session_key"], Value::Null);
        assert_eq!(empty["llm"]["gateway_url"], Value::Null);

        let invalid = doc("llm:\n  oidc:\n    callback_port: 5\n").show_json();
        assert_eq!(invalid["status"], "invalid");
        assert_eq!(invalid["problems"][0]["field"], "llm.oidc.callback_port");
        assert_eq!(invalid["llm"]["oidc"]["callback_port"], 5);
    }
}
