//! Entra ID's tenant allow-list (requirement 4 of the quirks reference).
//!
//! Entra's `common` and `organizations` issuers sign in accounts of *any* tenant: a
//! consultant's other work account, or a personal Microsoft account under `common`,
//! signs in fine and then gets a token the company gateway refuses, again and again.
//! `llm.oidc.tenants` names the tenants whose accounts may sign in, so such a sign-in is
//! refused at once, before anything is stored, with the tenant it came from.
//!
//! The list only restricts which sessions are kept; it does not change what a valid token
//! looks like, so it is not part of the session key.

use core::fmt;

/// The tenants whose accounts may sign in; empty means any tenant (no allow-list).
/// Each is a lower-case GUID, in the configured order, without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tenants(Vec<String>);

impl Tenants {
    /// The allow-list of `ids`, each already checked with [`tenant_id`].
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        let mut tenants: Vec<String> = Vec::new();
        for id in ids {
            if !tenants.contains(&id) {
                tenants.push(id);
            }
        }
        Self(tenants)
    }

    /// Whether there is no allow-list (any tenant may sign in).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tenant ids, in the configured order.
    pub fn ids(&self) -> &[String] {
        &self.0
    }

    /// Whether an ID token whose `tid` claim is `tid` may be kept: always without an
    /// allow-list; with one, only a listed tenant's (a token naming no tenant cannot
    /// prove it is one of them).
    ///
    /// # Errors
    /// The refusal, naming the tenant that signed in and the allowed ones.
    pub fn admit(&self, tid: Option<&str>) -> Result<(), TenantRefused> {
        if self.is_empty()
            || tid.is_some_and(|tid| self.0.iter().any(|id| id.eq_ignore_ascii_case(tid)))
        {
            return Ok(());
        }
        Err(TenantRefused {
            signed_in: tid.map(|tid| crate::text::excerpt(tid, 64)),
            allowed: self.clone(),
        })
    }
}

impl fmt::Display for Tenants {
    /// The ids separated by `, `, or `any` without an allow-list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("any")
        } else {
            f.write_str(&self.0.join(", "))
        }
    }
}

/// An Entra tenant id as `llm.oidc.tenants` holds it: a GUID
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), lower-cased; `None` for anything else
/// (a domain such as `contoso.onmicrosoft.com` is not what tokens carry in `tid`).
pub fn tenant_id(text: &str) -> Option<String> {
    let groups: Vec<&str> = text.split('-').collect();
    let shaped = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()));
    shaped.then(|| text.to_ascii_lowercase())
}

/// A sign-in (or a refresh) by an account of a tenant the allow-list does not name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRefused {
    /// The ID token's `tid`, made printable; `None` when it had none.
    pub signed_in: Option<String>,
    /// `llm.oidc.tenants`.
    pub allowed: Tenants,
}

impl fmt::Display for TenantRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed = crate::text::listing(self.allowed.ids(), "or");
        match &self.signed_in {
            Some(tenant) => write!(
                f,
                "the account signed in belongs to tenant {tenant}, but llm.oidc.tenants allows only {allowed}"
            ),
            None => write!(
                f,
                "the sign-in names no tenant (its ID token has no tid claim), but llm.oidc.tenants allows only {allowed}"
            ),
        }
    }
}

impl std::error::Error for TenantRefused {}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
    const B: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn tenant_ids_are_guids_lower_cased() {
        assert_eq!(tenant_id(A).as_deref(), Some(A));
        assert_eq!(
            tenant_id("72F988BF-86F1-41AF-91AB-2D7CD011DB47").as_deref(),
            Some(B)
        );
        for bad in [
            "",
            "common",
            "contoso.onmicrosoft.com",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "72f988bf-86f1-41af-91ab-2d7cd011db4g",
            "72f988bf-86f1-41af-91ab-2d7cd011db47-",
        ] {
            assert_eq!(tenant_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_listed_tenants_are_admitted() {
        assert_eq!(Tenants::default().admit(None), Ok(()));
        assert_eq!(Tenants::default().admit(Some("anything")), Ok(()));
        let one = Tenants::new([A.to_owned(), A.to_owned()]);
        assert_eq!(one.ids(), [A]);
        assert_eq!(one.admit(Some(A)), Ok(()));
        assert_eq!(one.admit(Some(&A.to_ascii_uppercase())), Ok(()));
        let refused = one.admit(Some(B)).unwrap_err();
        assert_eq!(refused.signed_in.as_deref(), Some(B));
        assert_eq!(
            refused.to_string(),
            format!(
                "the account signed in belongs to tenant {B}, but llm.oidc.tenants allows only {A}"
            )
        );
        let missing = one.admit(None).unwrap_err();
        assert!(missing.to_string().contains("no tid claim"), "{missing}");
        let two = Tenants::new([A.to_owned(), B.to_owned()]);
        assert!(
            two.admit(Some("9188040d-6c67-4c5b-b112-36a304b66dad"))
                .unwrap_err()
                .to_string()
                .ends_with(&format!("allows only {A} or {B}"))
        );
        assert_eq!(two.to_string(), format!("{A}, {B}"));
        assert_eq!(Tenants::default().to_string(), "any");
    }

    /// A `tid` is the IdP's text: printed without control sequences, and short.
    #[test]
    fn a_strange_tid_is_printed_harmlessly() {
        let one = Tenants::new([A.to_owned()]);
        let long = format!("\u{1b}[31m{}", "x".repeat(500));
        let refused = one.admit(Some(&long)).unwrap_err();
        let shown = refused.signed_in.unwrap_or_default();
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert_eq!(shown.chars().count(), 64, "{shown}");
        assert!(shown.ends_with('…'), "cut visibly: {shown}");
    }
}
