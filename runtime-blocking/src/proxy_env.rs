//! Which HTTP proxy, if any, a request goes through, from `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` (SPEC §3).
//!
//! ureq 3 reads these variables too, but picks the first of `ALL_PROXY`, `HTTPS_PROXY`,
//! `HTTP_PROXY` whatever the request's scheme, and matches `NO_PROXY` entries as exact
//! host names only (`example.com` does not cover `idp.example.com`, spaces after commas
//! break entries, no CIDR ranges). Corporate setups rely on the curl/Go conventions, so
//! the choice is made here per request and handed to ureq explicitly.
//!
//! Conventions followed:
//! * `https://` URLs use `https_proxy`/`HTTPS_PROXY`, `http://` URLs `http_proxy`/
//!   `HTTP_PROXY`; either falls back to `all_proxy`/`ALL_PROXY`. Lower case first.
//! * `NO_PROXY` is a comma-separated list: `*` (everything), host names (matching the
//!   host and its subdomains; a leading `.` or `*.` is ignored), IP addresses and CIDR
//!   ranges; a `:port` suffix is ignored.
//! * Loopback hosts (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) never use a proxy,
//!   as in Go: a proxy cannot reach this machine's loopback interface.

use std::net::IpAddr;

/// The proxy URL for a request to `scheme://host`, or `None` for a direct connection.
pub(crate) fn proxy_for(
    scheme: &str,
    host: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
    };
    let proxy = if scheme.eq_ignore_ascii_case("https") {
        var(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"])
    } else {
        var(&["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"])
    }?;
    let host = normalize_host(host);
    if is_loopback(&host) {
        return None;
    }
    if let Some(no_proxy) = var(&["no_proxy", "NO_PROXY"])
        && no_proxy.split(',').any(|entry| matches_entry(&host, entry))
    {
        return None;
    }
    Some(proxy.trim().to_owned())
}

/// Lower case, without IPv6 brackets and without a trailing dot.
fn normalize_host(host: &str) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn matches_entry(host: &str, entry: &str) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    if entry == "*" {
        return true;
    }
    if let Some((net, prefix)) = entry.split_once('/') {
        return matches_cidr(host, net, prefix);
    }
    let entry = strip_port(entry);
    let entry = entry.trim_start_matches("*.").trim_start_matches('.');
    let entry = normalize_host(entry);
    if entry.is_empty() {
        return false;
    }
    if let (Ok(a), Ok(b)) = (host.parse::<IpAddr>(), entry.parse::<IpAddr>()) {
        return a == b;
    }
    host == entry
        || host
            .strip_suffix(entry.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`; a bare IPv6 address is kept whole.
fn strip_port(entry: &str) -> &str {
    if let Some(end) = entry.find(']') {
        return &entry[..=end];
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => entry,
    }
}

fn matches_cidr(host: &str, net: &str, prefix: &str) -> bool {
    let (Ok(host), Ok(net), Ok(prefix)) = (
        host.parse::<IpAddr>(),
        normalize_host(net).parse::<IpAddr>(),
        prefix.trim().parse::<u32>(),
    ) else {
        return false;
    };
    match (host, net) {
        (IpAddr::V4(h), IpAddr::V4(n)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(h) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(h), IpAddr::V6(n)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(h) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn scheme_selects_the_variable() {
        let vars = [
            ("HTTPS_PROXY", "http://secure:3128"),
            ("HTTP_PROXY", "http://plain:3128"),
        ];
        assert_eq!(
            proxy_for("https", "idp.example.com", env(&vars)).as_deref(),
            Some("http://secure:3128")
        );
        assert_eq!(
            proxy_for("http", "idp.example.com", env(&vars)).as_deref(),
            Some("http://plain:3128")
        );
        let all = [("ALL_PROXY", "http://all:1")];
        assert_eq!(
            proxy_for("https", "idp.example.com", env(&all)).as_deref(),
            Some("http://all:1")
        );
        assert_eq!(proxy_for("https", "idp.example.com", env(&[])), None);
        let lower_first = [
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:1"),
        ];
        assert_eq!(
            proxy_for("https", "x.org", env(&lower_first)).as_deref(),
            Some("http://lower:1")
        );
    }

    #[test]
    fn no_proxy_follows_curl_and_go_conventions() {
        let with = |no_proxy: &'static str| {
            move |host: &str| {
                let vars = [("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no_proxy)];
                proxy_for("https", host, env(&vars)).is_none()
            }
        };
        let direct =
            with("example.com, .corp.test,*.wild.test ,10.0.0.0/8,192.168.1.5,fd00::/8,host:8443");
        assert!(direct("example.com"));
        assert!(direct("idp.example.com"));
        assert!(direct("IDP.Example.COM."));
        assert!(!direct("badexample.com"));
        assert!(direct("a.corp.test"));
        assert!(direct("corp.test"));
        assert!(direct("x.wild.test"));
        assert!(direct("10.1.2.3"));
        assert!(!direct("11.1.2.3"));
        assert!(direct("192.168.1.5"));
        assert!(!direct("192.168.1.6"));
        assert!(direct("[fd00::1]"));
        assert!(direct("host"));
        assert!(!direct("other.org"));
        assert!(with("*")("anything.org"));
        assert!(!with("")("anything.org"));
    }

    #[test]
    fn loopback_never_goes_through_a_proxy() {
        let vars = [("HTTPS_PROXY", "http://p:1"), ("HTTP_PROXY", "http://p:1")];
        for host in [
            "localhost",
            "auth.localhost",
            "127.0.0.1",
            "127.5.5.5",
            "[::1]",
        ] {
            assert_eq!(proxy_for("http", host, env(&vars)), None, "{host}");
        }
        assert!(proxy_for("http", "10.0.0.1", env(&vars)).is_some());
    }
}
