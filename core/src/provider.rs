//! Provider presets: how each identity provider bends the standards, as data and rules
//! (`../shared/reference/idp-quirks.md`).
//!
//! A [`Preset`] is chosen in `llm.oidc.provider`, or — with `auto`, the default — from the
//! issuer's host or path shape ([`detect`]), falling back to [`Preset::Generic`]. It
//! fills every provider setting the configuration leaves unset; each can be overridden
//! one by one, and [`Provider`] remembers where each value came from ([`Source`]), which
//! `status`, `config show` and `doctor` print.
//!
//! ```text
//!  llm.oidc.provider ──auto──▶ detect(issuer) ──▶ Preset ──defaults──┐
//!                    └─named──────────────────▶ Preset               ▼
//!  llm.oidc.{audience_via, offline_via, callback_host, …} ──overrides──▶ Provider
//!  llm.oidc.tenants (Entra `common`/`organizations` only) ──allow-list──▶ Provider
//! ```
//!
//! A preset also knows configurations its provider cannot serve ([`Concern`]: Okta's org
//! authorization server handing out access tokens, an audience authentik cannot issue):
//! validation refuses them when the preset chose the failing setting, and `status` and
//! `doctor` warn when the configuration named it.
//!
//! Nothing provider-specific lives anywhere else: flows ask the [`Provider`]'s settings
//! (carried in [`FlowSettings`](crate::flow::FlowSettings)) how to shape each request and
//! how to compare issuers.

mod advice;
mod concerns;
mod detect;
mod issuer;
mod kinds;
mod resolve;
mod tenants;

pub use advice::{issuer_mismatch_fix, known_cause, session_end_cause, v1_issuer_fix};
pub use concerns::{Concern, Concerning};
pub use detect::{Reason, detect};
pub use issuer::IssuerMatch;
pub use kinds::{AudienceVia, CallbackHost, OfflineVia, Preset, ProviderSetting, TokenKind};
pub use resolve::{CALLBACK_PATH, Choice, Provider, ProviderInputs, Redirect, RedirectUrl, Source};
pub use tenants::{TenantRefused, Tenants, tenant_id};

#[cfg(test)]
mod tests;
