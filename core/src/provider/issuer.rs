//! How issuers are compared: byte for byte (requirement 3), with the two documented
//! exceptions a preset may switch on (requirements 4 and 5).

/// The issuer comparison a provider needs; derived from the preset and the issuer, never
/// configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerMatch {
    /// Exactly as configured.
    Exact,
    /// Entra ID's `common` and `organizations` endpoints: their discovery document names
    /// `…/{tenantid}/v2.0`, and each ID token's `iss` names the user's tenant, which must
    /// equal the token's `tid` claim.
    EntraTenant,
    /// Google: an ID token's `iss` may be the bare `accounts.google.com` (the configured
    /// issuer without `https://`).
    GoogleBare,
}

/// The placeholder Entra ID writes into the issuer of its multi-tenant documents.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

impl IssuerMatch {
    /// The rule for `issuer` under `preset`'s comparison: the Entra template only for the
    /// `common` and `organizations` aliases (`consumers` has a fixed tenant).
    pub(super) fn for_issuer(entra: bool, google: bool, issuer: &str) -> Self {
        if entra && entra_template(issuer).is_some() {
            Self::EntraTenant
        } else if google {
            Self::GoogleBare
        } else {
            Self::Exact
        }
    }

    /// Whether a discovery document naming `found` describes the configured `issuer`
    /// (OIDC Discovery §4.3).
    pub fn document_matches(self, issuer: &str, found: &str) -> bool {
        found == issuer
            || (self == Self::EntraTenant && entra_template(issuer).as_deref() == Some(found))
    }

    /// Whether an ID token's `iss` (with its `tid` claim, for Entra) names the configured
    /// `issuer` (OIDC Core §3.1.3.7 step 2).
    pub fn id_token_matches(self, issuer: &str, iss: &str, tid: Option<&str>) -> bool {
        if iss == issuer {
            return true;
        }
        match self {
            Self::Exact => false,
            Self::GoogleBare => issuer.strip_prefix("https://") == Some(iss),
            Self::EntraTenant => match (entra_template(issuer), tid) {
                (Some(template), Some(tid)) if is_tenant(tid) => {
                    template.replace(TENANT_PLACEHOLDER, tid) == iss
                }
                _ => false,
            },
        }
    }

    /// Whether the `iss` of an authorization response (RFC 9207) names the configured
    /// `issuer`. The response carries no `tid`, so for Entra any single tenant fits the
    /// template; the ID token's check then pins it.
    pub fn response_matches(self, issuer: &str, iss: &str) -> bool {
        if iss == issuer {
            return true;
        }
        match self {
            Self::Exact | Self::GoogleBare => false,
            Self::EntraTenant => entra_template(issuer)
                .and_then(|template| {
                    let (before, after) = template.split_once(TENANT_PLACEHOLDER)?;
                    let tenant = iss.strip_prefix(before)?.strip_suffix(after)?;
                    Some(is_tenant(tenant))
                })
                .unwrap_or(false),
        }
    }
}

/// `https://<host>/{tenantid}/v2.0` for an issuer `https://<host>/common/v2.0` or
/// `…/organizations/v2.0`.
fn entra_template(issuer: &str) -> Option<String> {
    let (base, alias) = issuer.strip_suffix("/v2.0")?.rsplit_once('/')?;
    matches!(alias, "common" | "organizations").then(|| format!("{base}/{TENANT_PLACEHOLDER}/v2.0"))
}

/// A tenant id segment: not empty, no separators or placeholders.
fn is_tenant(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}
