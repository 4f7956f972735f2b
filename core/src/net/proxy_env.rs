//! Which HTTP proxy, if any, a request goes through: `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` (SPEC §3), decided once for both runtimes.
//!
//! ureq and hyper-util each read these variables differently (ureq takes the first of
//! `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` whatever the scheme and matches `NO_PROXY`
//! names exactly; hyper-util knows no ports and no implicit loopback exclusion), so the
//! runtimes read the variables, hand them to [`ProxyEnv::from_vars`], and connect as
//! [`ProxyEnv::route`] says. Conventions (curl's and Go's):
//!
//! * `https://` URLs use `https_proxy`/`HTTPS_PROXY`, `http://` URLs `http_proxy`/
//!   `HTTP_PROXY`; either falls back to `all_proxy`/`ALL_PROXY`. Lower case first; an
//!   empty value counts as unset.
//! * Under CGI (`REQUEST_METHOD` set) `HTTP_PROXY` is ignored: it can be set by a
//!   request's `Proxy:` header ("httpoxy", CVE-2016-5385).
//! * `NO_PROXY` is a comma-separated list: `*` (everything); host names, matching the
//!   host and its subdomains (a leading `.` or `*.` changes nothing); IP addresses; CIDR
//!   ranges; each name or address optionally with a `:port` that it is then limited to.
//!   Entries are read like URL hosts (lower case, IDNA, `127.1` is `127.0.0.1`).
//! * Loopback hosts ([`is_loopback`]) and the names under `.localhost` that RFC 6761
//!   reserves for it are never proxied: a proxy cannot reach this machine's loopback,
//!   and the plain-http issuers validation allows there must never cross a network.
//! * The proxy itself must be `http://` (or have no scheme, which means http): neither
//!   transport speaks TLS or SOCKS to a proxy.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use url::{Host, Url};

use super::loopback::is_loopback;
use crate::secret::{ProxyAuthorization, ProxyPassword};

/// The proxy settings of the environment, parsed once.
#[derive(Debug)]
pub struct ProxyEnv {
    /// For `https://` URLs: the proxy, or why its variable is unusable.
    https: Option<Result<ProxyServer, InvalidProxy>>,
    /// For `http://` URLs.
    http: Option<Result<ProxyServer, InvalidProxy>>,
    no_proxy: Vec<Exclusion>,
}

/// How to reach a URL.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// Connect to the host itself.
    Direct,
    /// Connect through this proxy (a CONNECT tunnel for https, an absolute-form request
    /// for http).
    Proxy(&'a ProxyServer),
}

/// An HTTP proxy named by the environment.
#[derive(Debug, PartialEq, Eq)]
pub struct ProxyServer {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<ProxyPassword>,
}

/// The proxy variable that applies cannot be used. The value is never quoted: it may
/// carry a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the proxy in {variable} is not usable: {problem}")]
pub struct InvalidProxy {
    /// The variable, as spelled in the environment.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl ProxyEnv {
    /// Reads the proxy variables through `var` (the runtime's view of the environment;
    /// core never reads it).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|name| {
                var(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| {
                        ProxyServer::parse(value.trim()).map_err(|problem| InvalidProxy {
                            variable: name,
                            problem,
                        })
                    })
            })
        };
        let cgi = var("REQUEST_METHOD").is_some();
        let http_names: &[&'static str] = if cgi {
            &["http_proxy", "all_proxy", "ALL_PROXY"]
        } else {
            &["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        };
        let no_proxy = ["no_proxy", "NO_PROXY"]
            .iter()
            .find_map(|name| var(name).filter(|value| !value.trim().is_empty()))
            .map(|list| list.split(',').filter_map(Exclusion::parse).collect())
            .unwrap_or_default();
        Self {
            https: first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
            http: first(http_names),
            no_proxy,
        }
    }

    /// How to reach `url`. A URL that does not parse is reached directly (the request
    /// then fails on its own, and nothing crosses a proxy).
    ///
    /// # Errors
    /// [`InvalidProxy`] when the URL would go through a proxy whose variable is not an
    /// `http://` URL with a host.
    pub fn route(&self, url: &str) -> Result<Route<'_>, InvalidProxy> {
        let Ok(url) = Url::parse(url) else {
            return Ok(Route::Direct);
        };
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Ok(Route::Direct);
        };
        let proxy = match url.scheme() {
            "https" => &self.https,
            "http" => &self.http,
            _ => return Ok(Route::Direct),
        };
        let Some(proxy) = proxy else {
            return Ok(Route::Direct);
        };
        if is_loopback(&host)
            || is_localhost_name(&host)
            || self.no_proxy.iter().any(|entry| entry.covers(&host, port))
        {
            return Ok(Route::Direct);
        }
        proxy.as_ref().map(Route::Proxy).map_err(Clone::clone)
    }
}

impl ProxyServer {
    /// The host as written in a URL (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (80 when the variable names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name from the URL, percent-decoded.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password from the URL, percent-decoded.
    pub fn password(&self) -> Option<&ProxyPassword> {
        self.password.as_ref()
    }

    /// `Basic base64(user:password)` for `Proxy-Authorization` (RFC 9110 §11.7.1,
    /// RFC 7617), when the URL carries credentials.
    pub fn basic_authorization(&self) -> Option<ProxyAuthorization> {
        let user = self.user.as_deref()?;
        let password = self
            .password
            .as_ref()
            .map_or("", ProxyPassword::expose_secret);
        let credentials = zeroize::Zeroizing::new(format!("{user}:{password}"));
        Some(ProxyAuthorization::new(format!(
            "Basic {}",
            STANDARD.encode(credentials.as_bytes())
        )))
    }

    fn parse(value: &str) -> Result<Self, &'static str> {
        let with_scheme;
        let value = if value.contains("://") {
            value
        } else {
            with_scheme = format!("http://{value}");
            &with_scheme
        };
        let url = Url::parse(value).map_err(|_| "it is not a URL")?;
        if url.scheme() != "http" {
            return Err("only http:// proxies are supported");
        }
        let host = match url.host() {
            Some(Host::Domain("")) | None => return Err("it names no host"),
            Some(host) => host.to_string(),
        };
        let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let has_credentials = !url.username().is_empty() || url.password().is_some();
        Ok(Self {
            host,
            port: url.port_or_known_default().unwrap_or(80),
            user: has_credentials.then(|| decode(url.username())),
            password: url.password().map(|p| ProxyPassword::new(decode(p))),
        })
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, PartialEq, Eq)]
enum Exclusion {
    /// `*`
    Everything,
    /// A host name and its subdomains.
    Domain { name: String, port: Option<u16> },
    /// One address.
    Address { address: IpAddr, port: Option<u16> },
    /// A CIDR range.
    Network { network: IpAddr, prefix: u8 },
}

impl Exclusion {
    /// Parses an entry; `None` for an empty or unreadable one (ignored, as curl does).
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim();
        if entry == "*" {
            return Some(Self::Everything);
        }
        if let Some((network, prefix)) = entry.split_once('/') {
            let network = network.trim_start_matches('[').trim_end_matches(']');
            let network: IpAddr = network.parse().ok()?;
            let prefix: u8 = prefix.parse().ok()?;
            let bits = if network.is_ipv4() { 32 } else { 128 };
            return (prefix <= bits).then_some(Self::Network { network, prefix });
        }
        // A bare IPv6 address has colons but no port.
        if let Ok(address) = entry.parse::<IpAddr>() {
            return Some(Self::Address {
                address,
                port: None,
            });
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                (host, Some(port.parse().ok()?))
            }
            _ => (entry, None),
        };
        let host = host.trim_start_matches("*.").trim_start_matches('.');
        match Host::parse(host).ok()? {
            Host::Domain(name) => {
                let name = name.trim_end_matches('.');
                (!name.is_empty()).then(|| Self::Domain {
                    name: name.to_owned(),
                    port,
                })
            }
            Host::Ipv4(address) => Some(Self::Address {
                address: address.into(),
                port,
            }),
            Host::Ipv6(address) => Some(Self::Address {
                address: address.into(),
                port,
            }),
        }
    }

    fn covers(&self, host: &Host<&str>, port: u16) -> bool {
        let port_matches = |wanted: &Option<u16>| wanted.is_none_or(|wanted| wanted == port);
        match (self, host) {
            (Self::Everything, _) => true,
            (Self::Domain { name, port: wanted }, Host::Domain(host)) => {
                let host = host.trim_end_matches('.');
                let within = host == name
                    || host
                        .strip_suffix(name.as_str())
                        .is_some_and(|rest| rest.ends_with('.'));
                within && port_matches(wanted)
            }
            (
                Self::Address {
                    address,
                    port: wanted,
                },
                Host::Ipv4(_) | Host::Ipv6(_),
            ) => ip_of(host) == Some(*address) && port_matches(wanted),
            (Self::Network { network, prefix }, Host::Ipv4(_) | Host::Ipv6(_)) => {
                ip_of(host).is_some_and(|ip| in_network(ip, *network, *prefix))
            }
            (Self::Domain { .. }, Host::Ipv4(_) | Host::Ipv6(_))
            | (Self::Address { .. } | Self::Network { .. }, Host::Domain(_)) => false,
        }
    }
}

fn ip_of(host: &Host<&str>) -> Option<IpAddr> {
    match host {
        Host::Ipv4(address) => Some((*address).into()),
        Host::Ipv6(address) => Some((*address).into()),
        Host::Domain(_) => None,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

/// A name under `.localhost` (RFC 6761 §6.3: it resolves to loopback).
fn is_localhost_name(host: &Host<&str>) -> bool {
    matches!(host, Host::Domain(name) if name.trim_end_matches('.').ends_with(".localhost"))
}

#[cfg(test)]
mod tests;
