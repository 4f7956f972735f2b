//! The one loopback decision.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Whether `host` is this machine's loopback: the name `localhost`, an address in
/// 127.0.0.0/8, or `::1` (also written as the IPv4-mapped `::ffff:127.x.y.z`).
///
/// The host must come from [`Url::host`], never from the raw text: the parser turns
/// `127.1`, `0x7f.1` and `2130706433` into `127.0.0.1`, exactly as the system resolver
/// does when the request is made, so what is checked here is what is connected to.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => is_loopback_v6(*address),
    }
}

/// Whether `url` names a loopback host ([`is_loopback`]).
pub fn is_loopback_url(url: &Url) -> bool {
    url.host().is_some_and(|host| is_loopback(&host))
}

fn is_loopback_v6(address: Ipv6Addr) -> bool {
    address.is_loopback()
        || address
            .to_ipv4_mapped()
            .is_some_and(|v4: Ipv4Addr| v4.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_is_loopback(text: &str) -> bool {
        is_loopback_url(&Url::parse(text).unwrap())
    }

    #[test]
    fn loopback_is_decided_on_the_parsed_address() {
        for url in [
            "http://localhost:8080/x",
            "http://LOCALHOST",
            "http://127.0.0.1",
            "http://127.255.0.3:1",
            "http://127.1:9000",
            "http://0x7f.1",
            "http://2130706433",
            "http://[::1]:4444",
            "http://[::ffff:127.0.0.2]",
        ] {
            assert!(url_is_loopback(url), "{url}");
        }
        for url in [
            "http://auth.example.com",
            "http://128.0.0.1",
            "http://10.0.0.1",
            "http://0.0.0.0",
            "http://[::2]",
            "http://[::ffff:10.0.0.1]",
            "http://localhost.example.com",
            "http://localhost.",
            "http://auth.localhost",
            "http://128.1",
            "file:///etc/passwd",
        ] {
            assert!(!url_is_loopback(url), "{url}");
        }
    }
}
