//! The values of the provider settings, each with the one spelling `config.yaml` and the
//! command line use.

use core::fmt;
use core::str::FromStr;

/// An enum whose variants each have one spelling: `as_str`, `ALL`, `Display` and a
/// `FromStr` whose error lists the spellings.
macro_rules! spelled {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in the order they are documented.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The spelling in `config.yaml` and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            /// Parses the spelling exactly (case-sensitive, as everywhere in the file).
            fn from_str(text: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        format!("{text:?} is not one of {}", names.join(", "))
                    })
            }
        }
    };
}

spelled!(
    /// A provider preset (`llm.oidc.provider`, except `auto`).
    Preset {
        /// Anything that follows the standards (RFC 8707 `resource`, `offline_access`).
        Generic => "generic",
        /// Microsoft Entra ID (v2 endpoint).
        Entra => "entra",
        /// Okta (a custom authorization server).
        Okta => "okta",
        /// Google.
        Google => "google",
        /// Auth0.
        Auth0 => "auth0",
        /// Keycloak.
        Keycloak => "keycloak",
        /// PingOne and PingFederate.
        Ping => "ping",
        /// Dex.
        Dex => "dex",
        /// authentik.
        Authentik => "authentik",
        /// ZITADEL.
        Zitadel => "zitadel",
        /// Amazon Cognito user pools.
        Cognito => "cognito",
        /// GitLab (gitlab.com or self-managed).
        Gitlab => "gitlab",
    }
);

spelled!(
    /// How the gateway's audience is requested (`llm.oidc.audience_via`).
    AudienceVia {
        /// RFC 8707 `resource`, in the authorization, token, device and refresh requests.
        Resource => "resource",
        /// Auth0's `audience` parameter (authorization and device requests).
        Audience => "audience",
        /// PingFederate's `aud` query parameter (authorization and device requests).
        Aud => "aud",
        /// A scope built from the audience (Entra `<audience>/.default`, ZITADEL's project
        /// scope, Dex's cross-client scope; the audience itself for other presets).
        Scope => "scope",
        /// Not at all: the IdP decides the audience (a mapper, a fixed server audience).
        None => "none",
    }
);

spelled!(
    /// How a refresh token is asked for (`llm.oidc.offline_via`).
    OfflineVia {
        /// The `offline_access` scope.
        Scope => "scope",
        /// Google's `access_type=offline` and `prompt=consent`; never `offline_access`.
        AccessType => "access_type",
        /// Neither: the IdP issues refresh tokens anyway and rejects `offline_access`.
        None => "none",
    }
);

spelled!(
    /// Which token `llmauth token` and the proxy hand out (`llm.oidc.token_kind`).
    TokenKind {
        /// The access token.
        Access => "access",
        /// The ID token, for providers whose access tokens are not meant for third parties.
        Id => "id",
    }
);

spelled!(
    /// The host in the loopback redirect URI (`llm.oidc.callback_host`).
    CallbackHost {
        /// `localhost`.
        Localhost => "localhost",
        /// `127.0.0.1`, which RFC 8252 §8.3 prefers.
        Loopback => "127.0.0.1",
    }
);

/// `llm.oidc.provider`: a preset, or `auto` to choose one from the issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProviderSetting {
    /// Detect the preset from the issuer ([`super::detect`]).
    #[default]
    Auto,
    /// This preset.
    Preset(Preset),
}

impl ProviderSetting {
    /// The spelling in `config.yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Preset(preset) => preset.as_str(),
        }
    }
}

impl FromStr for ProviderSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "auto" {
            return Ok(Self::Auto);
        }
        text.parse::<Preset>()
            .map(Self::Preset)
            .map_err(|_| format!("{text:?} is not auto or a preset ({})", preset_names()))
    }
}

impl fmt::Display for ProviderSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The presets' names, comma-separated.
fn preset_names() -> String {
    let names: Vec<&str> = Preset::ALL.iter().map(|p| p.as_str()).collect();
    names.join(", ")
}
