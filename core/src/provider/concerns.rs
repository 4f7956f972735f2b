//! Configurations a preset knows cannot give the gateway a token it accepts, each with
//! the provider's documented behaviour behind it and the fix.
//!
//! * **Okta's org authorization server** (issuer `https://<org>.okta.com`, no
//!   `/oauth2/<id>`): its access tokens are for Okta's own APIs; their `aud` is the org
//!   URL and Okta says no other party should validate them (developer.okta.com "Validate
//!   access tokens"; support.okta.com "Validation Failed on Access Token Issued by the Org
//!   Authorization Server"). Its ID tokens are verifiable (`aud` = the client id).
//! * **authentik** puts the client id in every token's `aud`, whatever is asked
//!   (goauthentik/authentik#14545; `IDToken.new` sets `aud` to the provider's client id
//!   and access tokens are built from it), so no other audience can be configured for it.
//!
//! A concern the preset itself causes — it filled the setting that fails — is refused by
//! validation, so `config set` and `setup` stop before a sign-in whose token the gateway
//! would reject. When the configuration names that setting explicitly it overrides what
//! the preset knows (a gateway that introspects at Okta, an authentik that learnt
//! RFC 8707), and `status` and `doctor` warn instead.

use url::Url;

use super::kinds::{Preset, TokenKind};
use super::resolve::{Provider, Source};

/// The setting a [`Concern`] is about, for the error that names its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concerning {
    /// `llm.oidc.issuer`.
    Issuer,
    /// `llm.oidc.audience`.
    Audience,
}

/// A configuration the preset knows the gateway will reject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concern {
    /// The setting to change.
    pub about: Concerning,
    /// What cannot work, and why.
    pub problem: String,
    /// What to do.
    pub fix: String,
    /// Refused (the preset chose the failing setting), or only warned about (the
    /// configuration chose it explicitly).
    pub refused: bool,
}

impl Provider {
    /// What this preset knows about `issuer`, `audience` and `client_id` (as configured;
    /// `""` when unset): every configuration whose tokens the gateway will reject.
    pub fn concerns(&self, issuer: &str, audience: &str, client_id: &str) -> Vec<Concern> {
        [
            self.okta_org_server(issuer),
            self.authentik_audience(audience, client_id),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Okta's org authorization server while the access token is handed out.
    fn okta_org_server(&self, issuer: &str) -> Option<Concern> {
        let applies = self.preset == Preset::Okta
            && self.token_kind.value == TokenKind::Access
            && is_okta_org_server(issuer);
        if !applies {
            return None;
        }
        let refused = self.token_kind.source == Source::Preset;
        // Okta checks them itself, at its introspection endpoint (the @okta/jwt-verifier
        // README; support.okta.com, quoted in okta/okta-jwt-verifier-python#16).
        let unless = if refused {
            ""
        } else {
            "; keep `--token-kind access` only if the gateway checks these tokens at Okta's \
             introspection endpoint"
        };
        Some(Concern {
            about: Concerning::Issuer,
            problem: format!(
                "{issuer} is Okta's org authorization server, whose access tokens are for Okta's \
                 own APIs only (their aud is the org URL; Okta says no gateway should validate \
                 them)"
            ),
            fix: format!(
                "use a custom authorization server (`llmauth config set --issuer {}/oauth2/default`, \
                 or your server's issuer URI) or hand out the ID token, which a gateway can verify \
                 (`--token-kind id`){unless}",
                issuer.trim_end_matches('/')
            ),
            refused,
        })
    }

    /// An audience authentik cannot issue: any but the client id.
    fn authentik_audience(&self, audience: &str, client_id: &str) -> Option<Concern> {
        if self.preset != Preset::Authentik || audience.is_empty() || audience == client_id {
            return None;
        }
        let refused = self.audience_via.source == Source::Preset;
        let unless = if refused {
            ""
        } else {
            "; or keep it if your authentik now honours the audience_via you set (`llmauth \
             doctor` shows the aud it issues)"
        };
        Some(Concern {
            about: Concerning::Audience,
            problem: format!(
                "authentik issues every token with aud = the client id, whatever is asked \
                 (goauthentik/authentik#14545), so no token will carry the audience {audience:?}"
            ),
            fix: format!(
                "remove it (`llmauth config set --audience \"\"`) and have the gateway accept \
                 aud = llmauth's client id{unless}"
            ),
            refused,
        })
    }

    /// What to do when the gateway rejects the token handed out, when this preset knows
    /// better than asking the gateway's owner for an audience.
    pub fn rejected_token_fix(
        &self,
        issuer: &str,
        audience: &str,
        client_id: &str,
    ) -> Option<String> {
        let concern = self
            .concerns(issuer, audience, client_id)
            .into_iter()
            .next();
        match concern {
            Some(concern) => Some(concern.fix),
            None if self.preset == Preset::Authentik => Some(format!(
                "authentik puts llmauth's client id in aud whatever is asked \
                 (goauthentik/authentik#14545): have the gateway accept aud {client_id:?}"
            )),
            None => None,
        }
    }
}

/// Okta's org authorization server: the issuer is the org's origin, without the
/// `/oauth2/<id>` path of a custom authorization server.
fn is_okta_org_server(issuer: &str) -> bool {
    Url::parse(issuer).is_ok_and(|url| matches!(url.path(), "" | "/"))
}
