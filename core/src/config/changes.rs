//! `llmauth config set`: the fields to change, each optional, so that only the flags given
//! change anything.

use super::model::SecretsBackend;
use super::raw::RawConfig;

/// Changes requested by `llmauth config set` (SPEC §2). `None` leaves a field as it is.
///
/// For the optional string fields (`audience`, `prompt`, `ca_file`,
/// `anthropic_path_prefix`, `refresh_window` and the provider settings) an empty string
/// removes the key, so the default (or the preset's value) applies again. Apply with [`ConfigDocument::apply`](super::ConfigDocument::apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// `--gateway-url`
    pub gateway_url: Option<String>,
    /// `--issuer`
    pub issuer: Option<String>,
    /// `--client-id`
    pub client_id: Option<String>,
    /// `--audience` (`""` removes it)
    pub audience: Option<String>,
    /// `--scopes` (an empty list removes the key: the default scopes apply)
    pub scopes: Option<Vec<String>>,
    /// `--prompt` (`""` removes it: no prompt is sent)
    pub prompt: Option<String>,
    /// `--auth-param K=V`, in order: sets `K` to `V`, or removes `K` when `V` is empty.
    pub auth_params: Vec<(String, String)>,
    /// `--refresh-window` (`""` removes it)
    pub refresh_window: Option<String>,
    /// `--proxy-port` (wide, so out-of-range values are reported with the field name)
    pub proxy_port: Option<i64>,
    /// `--callback-port` (wide, so out-of-range values are reported with the field name)
    pub callback_port: Option<i64>,
    /// `--require-local-key`
    pub require_local_key: Option<bool>,
    /// `--ca-file` (`""` removes it)
    pub ca_file: Option<String>,
    /// `--tls-skip-verify[=false]`
    pub tls_skip_verify: Option<bool>,
    /// `--secrets-backend` (parse the flag with `SecretsBackend::from_str`)
    pub secrets_backend: Option<SecretsBackend>,
    /// `--anthropic-path-prefix` (`""` removes it)
    pub anthropic_path_prefix: Option<String>,
    /// `--models` (an empty list removes the key)
    pub models: Option<Vec<String>>,
    /// `--bedrock-compat[=false]`
    pub bedrock_compat: Option<bool>,
    /// `--enable-1m[=false]`
    pub bedrock_enable_1m: Option<bool>,
    /// `--provider` (`""` removes it: `auto`)
    pub provider: Option<String>,
    /// `--audience-via` (`""` removes it: the preset decides)
    pub audience_via: Option<String>,
    /// `--offline-via` (`""` removes it)
    pub offline_via: Option<String>,
    /// `--redirect-url` (`""` removes it)
    pub redirect_url: Option<String>,
    /// `--callback-host` (`""` removes it)
    pub callback_host: Option<String>,
    /// `--resend-scope[=false]`
    pub resend_scope: Option<bool>,
    /// `--token-kind` (`""` removes it)
    pub token_kind: Option<String>,
    /// `--tenants` (an empty list removes the key: any tenant may sign in)
    pub tenants: Option<Vec<String>>,
    /// `--client-secret-stdin`: `Some(true)` marks the client secret as stored (the CLI
    /// stores the secret itself first), `Some(false)` removes the marker.
    pub client_secret_stored: Option<bool>,
}

impl ConfigChanges {
    /// Whether no change at all was requested.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Writes the requested changes into `raw` (no validation; the document does that).
    pub(crate) fn apply_to(&self, raw: &mut RawConfig) {
        set(&mut raw.gateway_url, self.gateway_url.as_ref());
        set(&mut raw.oidc.issuer, self.issuer.as_ref());
        set(&mut raw.oidc.client_id, self.client_id.as_ref());
        set_or_clear(&mut raw.oidc.audience, self.audience.as_ref());
        set_list(&mut raw.oidc.scopes, self.scopes.as_ref());
        set_or_clear(&mut raw.oidc.prompt, self.prompt.as_ref());
        if !self.auth_params.is_empty() {
            let params = raw.oidc.auth_params.get_or_insert_with(Default::default);
            for (key, value) in &self.auth_params {
                if value.is_empty() {
                    params.remove(key);
                } else {
                    params.insert(key.clone(), value.clone());
                }
            }
            if params.is_empty() {
                raw.oidc.auth_params = None;
            }
        }
        set_or_clear(&mut raw.oidc.refresh_window, self.refresh_window.as_ref());
        set(&mut raw.proxy.listen_port, self.proxy_port.as_ref());
        set(&mut raw.oidc.callback_port, self.callback_port.as_ref());
        set(
            &mut raw.proxy.require_local_key,
            self.require_local_key.as_ref(),
        );
        set_or_clear(&mut raw.tls.ca_file, self.ca_file.as_ref());
        set(&mut raw.tls.skip_verify, self.tls_skip_verify.as_ref());
        if let Some(backend) = self.secrets_backend {
            raw.secrets.backend = Some(backend.as_str().to_owned());
        }
        set_or_clear(
            &mut raw.setup.anthropic_path_prefix,
            self.anthropic_path_prefix.as_ref(),
        );
        set_list(&mut raw.models, self.models.as_ref());
        set(&mut raw.bedrock.compat, self.bedrock_compat.as_ref());
        set(&mut raw.bedrock.enable_1m, self.bedrock_enable_1m.as_ref());
        let oidc = &mut raw.oidc;
        set_or_clear(&mut oidc.provider, self.provider.as_ref());
        set_or_clear(&mut oidc.audience_via, self.audience_via.as_ref());
        set_or_clear(&mut oidc.offline_via, self.offline_via.as_ref());
        set_or_clear(&mut oidc.redirect_url, self.redirect_url.as_ref());
        set_or_clear(&mut oidc.callback_host, self.callback_host.as_ref());
        set(&mut oidc.resend_scope, self.resend_scope.as_ref());
        set_or_clear(&mut oidc.token_kind, self.token_kind.as_ref());
        set_list(&mut oidc.tenants, self.tenants.as_ref());
        if let Some(stored) = self.client_secret_stored {
            oidc.client_secret = stored.then(|| super::validate::CLIENT_SECRET_STORED.to_owned());
        }
    }
}

fn set<T: Clone>(field: &mut Option<T>, change: Option<&T>) {
    if let Some(value) = change {
        *field = Some(value.clone());
    }
}

/// Sets an optional list; an empty list removes the key.
fn set_list(field: &mut Option<Vec<String>>, change: Option<&Vec<String>>) {
    if let Some(items) = change {
        *field = (!items.is_empty()).then(|| items.clone());
    }
}

/// Sets an optional string field; an empty string removes the key.
fn set_or_clear(field: &mut Option<String>, change: Option<&String>) {
    if let Some(value) = change {
        *field = if value.is_empty() {
            None
        } else {
            Some(value.clone())
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn only_given_fields_change() {
        let mut raw = RawConfig::default();
        raw.oidc.issuer = Some("https://auth.example.com".into());
        raw.proxy.listen_port = Some(15000);
        let changes = ConfigChanges {
            client_id: Some("abc".into()),
            ..ConfigChanges::default()
        };
        changes.apply_to(&mut raw);
        assert_eq!(raw.oidc.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(raw.oidc.client_id.as_deref(), Some("abc"));
        assert_eq!(raw.proxy.listen_port, Some(15000));
        assert!(ConfigChanges::default().is_empty());
        assert!(!changes.is_empty());
    }

    #[test]
    fn empty_strings_remove_optional_keys() {
        let mut raw = RawConfig::default();
        raw.oidc.audience = Some("https://a".into());
        raw.oidc.prompt = Some("consent".into());
        raw.tls.ca_file = Some("/ca.pem".into());
        raw.setup.anthropic_path_prefix = Some("/anthropic".into());
        raw.oidc.scopes = Some(vec!["openid".into()]);
        raw.models = Some(vec!["claude-opus-4-8".into()]);
        let changes = ConfigChanges {
            audience: Some(String::new()),
            prompt: Some(String::new()),
            ca_file: Some(String::new()),
            anthropic_path_prefix: Some(String::new()),
            scopes: Some(Vec::new()),
            models: Some(Vec::new()),
            ..ConfigChanges::default()
        };
        changes.apply_to(&mut raw);
        assert_eq!(raw, RawConfig::default());
    }

    #[test]
    fn auth_params_set_and_remove_in_order() {
        let mut raw = RawConfig::default();
        raw.oidc.auth_params = Some(BTreeMap::from([("a".to_owned(), "1".to_owned())]));
        let changes = ConfigChanges {
            auth_params: vec![
                ("b".into(), "2".into()),
                ("a".into(), String::new()),
                ("c".into(), "3".into()),
                ("c".into(), "4".into()),
            ],
            ..ConfigChanges::default()
        };
        changes.apply_to(&mut raw);
        let expected = BTreeMap::from([
            ("b".to_owned(), "2".to_owned()),
            ("c".to_owned(), "4".to_owned()),
        ]);
        assert_eq!(raw.oidc.auth_params, Some(expected));

        let remove_all = ConfigChanges {
            auth_params: vec![("b".into(), String::new()), ("c".into(), String::new())],
            ..ConfigChanges::default()
        };
        remove_all.apply_to(&mut raw);
        assert_eq!(raw.oidc.auth_params, None);
    }

    #[test]
    fn secrets_backend_is_written_in_its_file_spelling() {
        let mut raw = RawConfig::default();
        ConfigChanges {
            secrets_backend: Some(SecretsBackend::Keyring),
            tls_skip_verify: Some(false),
            ..ConfigChanges::default()
        }
        .apply_to(&mut raw);
        assert_eq!(raw.secrets.backend.as_deref(), Some("keyring"));
        assert_eq!(raw.tls.skip_verify, Some(false));
    }

    #[test]
    fn provider_settings_are_set_and_cleared() {
        let mut raw = RawConfig::default();
        ConfigChanges {
            provider: Some("google".into()),
            audience_via: Some("none".into()),
            resend_scope: Some(true),
            client_secret_stored: Some(true),
            ..ConfigChanges::default()
        }
        .apply_to(&mut raw);
        assert_eq!(raw.oidc.provider.as_deref(), Some("google"));
        assert_eq!(raw.oidc.client_secret.as_deref(), Some("stored"));
        assert_eq!(raw.oidc.resend_scope, Some(true));
        ConfigChanges {
            provider: Some(String::new()),
            audience_via: Some(String::new()),
            client_secret_stored: Some(false),
            ..ConfigChanges::default()
        }
        .apply_to(&mut raw);
        assert_eq!(raw.oidc.provider, None);
        assert_eq!(raw.oidc.audience_via, None);
        assert_eq!(raw.oidc.client_secret, None);
        assert_eq!(raw.oidc.resend_scope, Some(true));
    }

    #[test]
    fn models_and_bedrock_flags_are_set_and_cleared() {
        let mut raw = RawConfig::default();
        ConfigChanges {
            models: Some(vec!["a-haiku".into(), "b-opus".into()]),
            bedrock_compat: Some(true),
            bedrock_enable_1m: Some(false),
            ..ConfigChanges::default()
        }
        .apply_to(&mut raw);
        assert_eq!(raw.models, Some(vec!["a-haiku".into(), "b-opus".into()]));
        assert_eq!(raw.bedrock.compat, Some(true));
        assert_eq!(raw.bedrock.enable_1m, Some(false));
        // Not given: unchanged.
        ConfigChanges {
            bedrock_compat: Some(false),
            ..ConfigChanges::default()
        }
        .apply_to(&mut raw);
        assert_eq!(raw.bedrock.compat, Some(false));
        assert_eq!(raw.models.as_ref().map(Vec::len), Some(2));
    }
}
