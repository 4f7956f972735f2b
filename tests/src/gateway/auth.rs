//! Bearer-token verification as a resource server does it: a JWT's signature against the
//! IdP's JWKS (fetched lazily, refetched once when a token names an unknown key) — or any
//! token at the IdP's RFC 7662 introspection endpoint — then `exp`, `nbf`, `iss` and `aud`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use serde_json::Value;

use super::{Denial, GatewayOptions};
use crate::http_server::lock;
use crate::jwt::{Jwks, JwtError};

pub(crate) struct Verifier {
    jwks_url: Option<String>,
    introspection_url: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: Duration,
    agent: ureq::Agent,
    keys: Mutex<Option<Jwks>>,
    fetches: AtomicUsize,
    /// Tokens whose signature already verified → their claims. Signature checks cost
    /// ~100 µs; benchmarks send the same token many thousand times. Claims are still
    /// checked on every request (a cached token still expires).
    verified: Mutex<HashMap<String, Value>>,
}

/// Cache entries kept before the cache is emptied.
const MAX_CACHED_TOKENS: usize = 1024;

impl Verifier {
    pub(crate) fn new(options: &GatewayOptions, roots: &[CertificateDer<'static>]) -> Verifier {
        Verifier {
            jwks_url: options.jwks_url.clone(),
            introspection_url: options.introspection_url.clone(),
            issuer: options.expected_issuer.clone(),
            audience: options.expected_audience.clone(),
            leeway: options.leeway,
            agent: crate::client::agent_trusting(roots),
            keys: Mutex::new(None),
            fetches: AtomicUsize::new(0),
            verified: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// `Ok(None)` when neither a JWKS nor introspection is configured (tokens are not
    /// verified).
    pub(crate) fn verify(&self, token: &str) -> Result<Option<Value>, Denial> {
        if let Some(url) = &self.introspection_url {
            let claims = self.introspect(url, token)?;
            self.check_claims(&claims)?;
            return Ok(Some(claims));
        }
        let Some(url) = &self.jwks_url else {
            return Ok(None);
        };
        let cached = lock(&self.verified).get(token).cloned();
        if let Some(claims) = cached {
            self.check_claims(&claims)?;
            return Ok(Some(claims));
        }
        let mut keys = lock(&self.keys);
        if keys.is_none() {
            *keys = Some(self.fetch(url)?);
        }
        let mut result = keys.as_ref().map(|k| k.verify(token));
        if matches!(result, Some(Err(JwtError::UnknownKey))) {
            // Key rotation at the IdP: refresh the set once.
            let fresh = self.fetch(url)?;
            result = Some(fresh.verify(token));
            *keys = Some(fresh);
        }
        drop(keys);
        let claims = match result {
            Some(Ok(claims)) => claims,
            Some(Err(e)) => return Err(Denial::Unauthorized(e.to_string())),
            None => return Err(Denial::Broken("no JWKS".into())),
        };
        {
            let mut verified = lock(&self.verified);
            if verified.len() >= MAX_CACHED_TOKENS {
                verified.clear();
            }
            verified.insert(token.to_string(), claims.clone());
        }
        self.check_claims(&claims)?;
        Ok(Some(claims))
    }

    /// Asks the IdP whether `token` is active (never cached: a token can be revoked).
    fn introspect(&self, url: &str, token: &str) -> Result<Value, Denial> {
        let broken = |why: String| Denial::Broken(format!("introspection at {url} failed: {why}"));
        let mut response = self
            .agent
            .post(url)
            .send_form([("token", token)])
            .map_err(|e| broken(e.to_string()))?;
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| broken(e.to_string()))?;
        let answer: Value = serde_json::from_str(&text).map_err(|e| broken(e.to_string()))?;
        if answer.get("active") == Some(&Value::Bool(true)) {
            Ok(answer)
        } else {
            Err(Denial::Unauthorized("the token is not active".to_string()))
        }
    }

    fn fetch(&self, url: &str) -> Result<Jwks, Denial> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let broken = |why: String| Denial::Broken(format!("JWKS fetch from {url} failed: {why}"));
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| broken(e.to_string()))?;
        if response.status() != 200 {
            return Err(broken(format!("status {}", response.status())));
        }
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| broken(e.to_string()))?;
        let document: Value = serde_json::from_str(&text).map_err(|e| broken(e.to_string()))?;
        let jwks = Jwks::from_document(&document);
        if jwks.is_empty() {
            return Err(broken("no usable keys".into()));
        }
        Ok(jwks)
    }

    fn check_claims(&self, claims: &Value) -> Result<(), Denial> {
        let deny = |why: &str| Err(Denial::Unauthorized(why.to_string()));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let leeway = self.leeway.as_secs();
        let Some(exp) = claims.get("exp").and_then(Value::as_u64) else {
            return deny("token has no exp");
        };
        if now > exp.saturating_add(leeway) {
            return deny("token expired");
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64)
            && now.saturating_add(leeway) < nbf
        {
            return deny("token not yet valid");
        }
        if let Some(issuer) = &self.issuer
            && claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str())
        {
            return deny("wrong issuer");
        }
        if let Some(audience) = &self.audience {
            let matches = match claims.get("aud") {
                Some(Value::String(aud)) => aud == audience,
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
                Some(_) | None => false,
            };
            if !matches {
                return deny("wrong audience");
            }
        }
        Ok(())
    }
}
