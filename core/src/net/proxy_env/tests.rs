use super::*;

fn env(pairs: &[(&str, &str)]) -> ProxyEnv {
    ProxyEnv::from_vars(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

/// The `host:port` of the proxy `url` goes through, or `None` for a direct connection.
fn via(env: &ProxyEnv, url: &str) -> Option<String> {
    match env.route(url).unwrap() {
        Route::Direct => None,
        Route::Proxy(server) => Some(format!("{}:{}", server.host(), server.port())),
    }
}

#[test]
fn scheme_selects_the_variable() {
    let both = env(&[
        ("HTTPS_PROXY", "http://secure:3128"),
        ("HTTP_PROXY", "http://plain:3128"),
    ]);
    assert_eq!(
        via(&both, "https://idp.example.com/token").as_deref(),
        Some("secure:3128")
    );
    assert_eq!(
        via(&both, "http://idp.example.com/token").as_deref(),
        Some("plain:3128")
    );
    let all = env(&[("ALL_PROXY", "http://all:1")]);
    assert_eq!(
        via(&all, "https://idp.example.com").as_deref(),
        Some("all:1")
    );
    assert_eq!(
        via(&all, "http://idp.example.com").as_deref(),
        Some("all:1")
    );
    assert_eq!(via(&env(&[]), "https://idp.example.com"), None);
    let lower_first = env(&[
        ("https_proxy", "http://lower:1"),
        ("HTTPS_PROXY", "http://upper:1"),
    ]);
    assert_eq!(
        via(&lower_first, "https://x.org").as_deref(),
        Some("lower:1")
    );
    let empty_is_unset = env(&[("https_proxy", " "), ("HTTPS_PROXY", "http://upper:1")]);
    assert_eq!(
        via(&empty_is_unset, "https://x.org").as_deref(),
        Some("upper:1")
    );
    let https_only = env(&[("HTTPS_PROXY", "http://secure:3128")]);
    assert_eq!(via(&https_only, "http://x.org"), None);
}

#[test]
fn proxy_urls_are_read_like_curl() {
    let cases = [
        ("http://proxy.corp:3128", "proxy.corp:3128"),
        ("proxy.corp:3128", "proxy.corp:3128"),
        ("http://proxy.corp", "proxy.corp:80"),
        ("proxy.corp", "proxy.corp:80"),
        ("http://10.0.0.5:8080/", "10.0.0.5:8080"),
        ("http://[fd00::5]:8080", "[fd00::5]:8080"),
        ("  http://PROXY.Corp:3128  ", "proxy.corp:3128"),
    ];
    for (value, expected) in cases {
        let proxies = env(&[("HTTPS_PROXY", value)]);
        assert_eq!(
            via(&proxies, "https://llm.example.com").as_deref(),
            Some(expected),
            "{value}"
        );
    }
}

#[test]
fn proxy_credentials_are_decoded_and_never_shown() {
    let proxies = env(&[("HTTPS_PROXY", "http://us%65r:p%40ss:w@proxy:3128")]);
    let Route::Proxy(server) = proxies.route("https://llm.example.com").unwrap() else {
        panic!("not proxied");
    };
    assert_eq!(server.user(), Some("user"));
    assert_eq!(
        server.password().map(ProxyPassword::expose_secret),
        Some("p@ss:w")
    );
    // base64("user:p@ss:w")
    assert_eq!(
        server
            .basic_authorization()
            .as_ref()
            .map(ProxyAuthorization::expose_secret),
        Some("Basic dXNlcjpwQHNzOnc=")
    );
    assert!(!format!("{server:?}").contains("p@ss"), "{server:?}");
    let anonymous = env(&[("HTTPS_PROXY", "http://proxy:3128")]);
    let Route::Proxy(server) = anonymous.route("https://llm.example.com").unwrap() else {
        panic!("not proxied");
    };
    assert_eq!(server.user(), None);
    assert!(server.basic_authorization().is_none());
    let password_only = env(&[("HTTPS_PROXY", "http://:secret@proxy:3128")]);
    let Route::Proxy(server) = password_only.route("https://x.org").unwrap() else {
        panic!("not proxied");
    };
    // base64(":secret")
    assert_eq!(
        server
            .basic_authorization()
            .as_ref()
            .map(ProxyAuthorization::expose_secret),
        Some("Basic OnNlY3JldA==")
    );
}

#[test]
fn an_unusable_proxy_is_an_error_naming_the_variable_not_the_value() {
    let cases = [
        (
            "https_proxy",
            "https://secure-proxy:443",
            "only http:// proxies",
        ),
        (
            "HTTPS_PROXY",
            "socks5://user:secret@socks:1080",
            "only http:// proxies",
        ),
        ("ALL_PROXY", "http://", "not a URL"),
        ("HTTPS_PROXY", "http://user:secret@:3128", "not a URL"),
    ];
    for (variable, value, problem) in cases {
        let proxies = env(&[(variable, value)]);
        let error = proxies.route("https://llm.example.com").unwrap_err();
        assert_eq!(error.variable, variable, "{value}");
        let message = error.to_string();
        assert!(message.contains(problem), "{value}: {message}");
        assert!(message.contains(variable), "{message}");
        assert!(!message.contains("secret"), "{message}");
        // Only a request that would use the proxy fails.
        assert_eq!(proxies.route("https://localhost:8443"), Ok(Route::Direct));
        if variable.eq_ignore_ascii_case("https_proxy") {
            assert_eq!(proxies.route("http://llm.example.com"), Ok(Route::Direct));
        }
    }
}

#[test]
fn no_proxy_follows_curl_and_go_conventions() {
    let proxies = env(&[
        ("HTTPS_PROXY", "http://p:1"),
        (
            "NO_PROXY",
            "example.com, .corp.test,*.wild.test ,10.0.0.0/8,192.168.1.5,fd00::/8,host:8443,[2001:db8::1]:443,  ,Bücher.example,[fd02::]/16",
        ),
    ]);
    let direct = |url: &str| via(&proxies, url).is_none();
    let table = [
        ("https://example.com", true),
        ("https://idp.example.com/realms/x", true),
        ("https://IDP.Example.COM./", true),
        ("https://badexample.com", false),
        ("https://a.corp.test", true),
        ("https://corp.test", true),
        ("https://x.wild.test", true),
        ("https://wild.test", true),
        ("https://10.1.2.3", true),
        ("https://11.1.2.3", false),
        ("https://192.168.1.5", true),
        ("https://192.168.1.6", false),
        ("https://[fd00::1]", true),
        ("https://[fe80::1]", false),
        ("https://[fd02:1::1]", true),
        // A port limits the entry to that port.
        ("https://host:8443", true),
        ("https://host", false),
        ("https://[2001:db8::1]", true),
        ("https://[2001:db8::1]:8443", false),
        // Entries are read like URL hosts.
        ("https://xn--bcher-kva.example", true),
        ("https://other.org", false),
    ];
    for (url, expected) in table {
        assert_eq!(direct(url), expected, "{url}");
    }
    let star = env(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
    assert_eq!(via(&star, "https://anything.org"), None);
    let empty = env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "")]);
    assert!(via(&empty, "https://anything.org").is_some());
    let lower_first = env(&[
        ("HTTPS_PROXY", "http://p:1"),
        ("no_proxy", "a.org"),
        ("NO_PROXY", "b.org"),
    ]);
    assert_eq!(via(&lower_first, "https://a.org"), None);
    assert!(via(&lower_first, "https://b.org").is_some());
    let garbage = env(&[
        ("HTTPS_PROXY", "http://p:1"),
        ("NO_PROXY", "10.0.0.0/99,a b,:,/,[,host:port"),
    ]);
    for url in ["https://10.0.0.1", "https://host"] {
        assert!(via(&garbage, url).is_some(), "{url}");
    }
}

#[test]
fn loopback_never_goes_through_a_proxy() {
    let proxies = env(&[("HTTPS_PROXY", "http://p:1"), ("HTTP_PROXY", "http://p:1")]);
    for url in [
        "http://localhost:8080/realms/x",
        "http://auth.localhost",
        "http://127.0.0.1",
        "http://127.5.5.5",
        "http://[::1]:9000",
        // Spellings the URL parser (and the system resolver) read as 127.0.0.1: the
        // raw text is never what decides.
        "http://127.1:9000/token",
        "http://0x7f.0.0.1",
        "http://2130706433",
        "https://127.1",
        "http://[::ffff:127.0.0.1]",
    ] {
        assert_eq!(via(&proxies, url), None, "{url}");
    }
    assert!(via(&proxies, "http://10.0.0.1").is_some());
    assert!(via(&proxies, "http://128.1").is_some());
}

#[test]
fn under_cgi_http_proxy_is_ignored() {
    let cgi = env(&[
        ("REQUEST_METHOD", "GET"),
        ("HTTP_PROXY", "http://attacker:1"),
        ("HTTPS_PROXY", "http://corp:3128"),
    ]);
    assert_eq!(via(&cgi, "http://idp.example.com"), None);
    assert_eq!(
        via(&cgi, "https://idp.example.com").as_deref(),
        Some("corp:3128")
    );
    let lower = env(&[
        ("REQUEST_METHOD", "GET"),
        ("http_proxy", "http://corp:3128"),
    ]);
    assert_eq!(
        via(&lower, "http://idp.example.com").as_deref(),
        Some("corp:3128")
    );
}

#[test]
fn what_is_not_an_http_url_goes_direct() {
    let proxies = env(&[("ALL_PROXY", "http://p:1")]);
    for url in ["not a url", "file:///etc/hosts", "mailto:a@b.c", ""] {
        assert_eq!(proxies.route(url), Ok(Route::Direct), "{url}");
    }
}
