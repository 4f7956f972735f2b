//! How a request's target becomes the gateway's (SPEC §7): dot segments removed
//! (RFC 3986 §5.2.4), refused when they would climb out of the gateway URL's base path,
//! the path joined onto the base without doubling a segment, and the query kept minus the
//! local key.

use super::rules::KEY_QUERY_PARAM;

/// The request path cannot be forwarded: it is not absolute (`*`, an authority,
/// nothing), or its `..` segments climb above its root, that is, out of the gateway URL's
/// base path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadPath;

/// The gateway's path and query for a request to `path?query`, in one allocation.
///
/// The request path is normalised first (`.` and `..` segments, also percent-encoded as
/// `%2e`, are removed as RFC 3986 §5.2.4 says), because the client meant the normalised
/// path relative to the proxy's root — which maps to `base`. A `..` that would climb above
/// that root is refused instead of being dropped silently: the gateway must only ever see
/// paths under `base`. The normalised path is then joined onto `base` without doubling: if
/// `base`'s last segment equals the path's first, one is dropped (`/v1` + `/v1/messages` →
/// `/v1/messages`; `/anthropic` + `/v1/messages` → `/anthropic/v1/messages`; `` +
/// `/v1beta/models/x` → `/v1beta/models/x`). Every `key` parameter is left out of the
/// query (it carries the local key); the other parameters keep their spelling and order.
pub(crate) fn gateway_target(
    base: &str,
    path: &str,
    query: Option<&str>,
) -> Result<String, BadPath> {
    let Some(relative) = path.strip_prefix('/') else {
        return Err(BadPath);
    };
    let base = base.trim_end_matches('/');
    let mut target =
        String::with_capacity(base.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    target.push_str(base);
    let root = target.len();
    let mut segments = relative.split('/').peekable();
    while let Some(segment) = segments.next() {
        let names_a_directory = if is_dot(segment) {
            true
        } else if is_dot_dot(segment) {
            if target.len() == root {
                return Err(BadPath);
            }
            let parent = target[root..].rfind('/').map_or(root, |at| root + at);
            target.truncate(parent);
            true
        } else {
            target.push('/');
            target.push_str(segment);
            false
        };
        // `/a/.` and `/a/b/..` are both `/a/`.
        if names_a_directory && segments.peek().is_none() {
            target.push('/');
        }
    }
    drop_doubled_segment(&mut target, base, root);
    if let Some(query) = query {
        push_query_without_key(&mut target, query);
    }
    Ok(target)
}

/// `.`, or `%2e` in any case (RFC 3986 §6.2.2.2: unreserved characters are equivalent
/// percent-encoded, and servers decode them).
fn is_dot(segment: &str) -> bool {
    is_dot_bytes(segment.as_bytes())
}

/// `..`, `.%2e`, `%2e.` or `%2e%2e`, in any case.
fn is_dot_dot(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    (1..bytes.len()).any(|split| {
        let (first, second) = bytes.split_at(split);
        is_dot_bytes(first) && is_dot_bytes(second)
    })
}

fn is_dot_bytes(bytes: &[u8]) -> bool {
    bytes == b"." || bytes.eq_ignore_ascii_case(b"%2e")
}

/// `/v1` + `/v1/messages`: the path's first segment, already the base's last, goes.
fn drop_doubled_segment(target: &mut String, base: &str, root: usize) {
    let last = base.rsplit('/').next().unwrap_or("");
    let joined = &target[root..];
    let first = joined
        .strip_prefix('/')
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    if !last.is_empty() && first == last {
        target.replace_range(root..root + 1 + first.len(), "");
    }
}

/// Appends `?query` minus every `key` parameter and empty pair (nothing when nothing is
/// left).
fn push_query_without_key(target: &mut String, query: &str) {
    let mut separator = '?';
    for pair in query.split('&') {
        if pair.is_empty() || query_param_name(pair) == KEY_QUERY_PARAM {
            continue;
        }
        target.push(separator);
        target.push_str(pair);
        separator = '&';
    }
}

/// The (still encoded) name of a `name=value` pair.
pub(crate) fn query_param_name(pair: &str) -> &str {
    pair.split_once('=').map_or(pair, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(base: &str, path: &str) -> Result<String, BadPath> {
        gateway_target(base, path, None)
    }

    #[test]
    fn paths_join_without_doubling() {
        let cases = [
            ("/v1", "/v1/messages", "/v1/messages"),
            ("/v1/", "/v1/messages", "/v1/messages"),
            ("/anthropic", "/v1/messages", "/anthropic/v1/messages"),
            (
                "",
                "/v1beta/models/x:streamGenerateContent",
                "/v1beta/models/x:streamGenerateContent",
            ),
            ("/", "/v1/chat/completions", "/v1/chat/completions"),
            ("/api/v1", "/v1/models", "/api/v1/models"),
            ("/v1", "/v1beta/models", "/v1/v1beta/models"),
            ("/v1", "/v1", "/v1"),
            ("/v1", "/", "/v1/"),
            ("", "/", "/"),
            (
                "/openai",
                "/openai/v1/chat/completions",
                "/openai/v1/chat/completions",
            ),
            ("/v1", "/a//b", "/v1/a//b"),
        ];
        for (base, request, expected) in cases {
            assert_eq!(
                joined(base, request).as_deref(),
                Ok(expected),
                "{base} + {request}"
            );
        }
    }

    #[test]
    fn dot_segments_are_removed_as_rfc_3986_says() {
        // RFC 3986 §5.2.4 and §5.4's examples, relative to the proxy's root.
        let cases = [
            ("/a/b/c/./../../g", "/a/g"),
            ("/mid/content=5/../6", "/mid/6"),
            ("/a/./b", "/a/b"),
            ("/a/.", "/a/"),
            ("/a/b/..", "/a/"),
            ("/a/b/../", "/a/"),
            ("/a/..", "/"),
            ("/.", "/"),
            ("/./", "/"),
            ("/a/%2e/b", "/a/b"),
            ("/a/%2E%2e/b", "/b"),
            ("/a/.%2E/b", "/b"),
            ("/a/%2e./b", "/b"),
            ("/a/.../b", "/a/.../b"),
            ("/a/.b/..c/%2e%2e%2e", "/a/.b/..c/%2e%2e%2e"),
            ("/a//../b", "/a/b"),
        ];
        for (request, expected) in cases {
            assert_eq!(joined("", request).as_deref(), Ok(expected), "{request}");
        }
        // Normalised before joining and before the doubling rule.
        assert_eq!(
            joined("/v1", "/x/../v1/messages").as_deref(),
            Ok("/v1/messages")
        );
        assert_eq!(
            joined("/v1", "/./v1/./messages").as_deref(),
            Ok("/v1/messages")
        );
        assert_eq!(joined("/v1", "/v1/..").as_deref(), Ok("/v1/"));
    }

    #[test]
    fn nothing_climbs_out_of_the_base_path() {
        for request in [
            "/..",
            "/../",
            "/../../x",
            "/a/../..",
            "/a/b/../../../c",
            "/%2e%2e/x",
            "/%2E%2E",
            "/.%2e/x",
            "/%2e./x",
            "/v1/../../x",
            "/./../x",
        ] {
            for base in ["", "/v1", "/api/v1"] {
                assert_eq!(joined(base, request), Err(BadPath), "{base} + {request}");
            }
        }
        for request in ["*", "", "localhost:8080", "v1/messages"] {
            assert_eq!(joined("/v1", request), Err(BadPath), "{request}");
        }
    }

    #[test]
    fn the_key_never_reaches_the_query() {
        let cases = [
            ("key=abc", "/v1/x"),
            ("alt=sse&key=a%2Db&x=1", "/v1/x?alt=sse&x=1"),
            ("keys=1&monkey=2", "/v1/x?keys=1&monkey=2"),
            ("key=a&key=b&q=%20", "/v1/x?q=%20"),
            ("", "/v1/x"),
            ("key", "/v1/x"),
            ("&&a=1&&", "/v1/x?a=1"),
        ];
        for (query, expected) in cases {
            assert_eq!(
                gateway_target("/v1", "/x", Some(query)).as_deref(),
                Ok(expected),
                "{query}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn joined_paths_keep_every_request_segment(base in "(/[a-z0-9]{1,4}){0,3}/?", request in "(/[a-z0-9:]{0,4}){1,4}") {
            let joined = joined(&base, &request).unwrap();
            proptest::prop_assert!(joined.starts_with('/'));
            proptest::prop_assert!(joined.ends_with(request.trim_start_matches('/')));
            proptest::prop_assert!(joined.starts_with(base.trim_end_matches('/')));
        }

        #[test]
        fn targets_stay_under_the_base(base in "(/[a-z0-9]{1,4}){0,3}", request in "(/(\\.|\\.\\.|%2[eE]|[a-z]{1,3})){0,8}/?") {
            let request = if request.is_empty() { "/".to_owned() } else { request };
            if let Ok(joined) = joined(&base, &request) {
                proptest::prop_assert!(joined.starts_with(&base));
                let below = &joined[base.len()..];
                proptest::prop_assert!(below.is_empty() || below.starts_with('/'));
                proptest::prop_assert!(below.split('/').all(|s| !is_dot(s) && !is_dot_dot(s)));
            }
        }

        #[test]
        fn the_query_never_keeps_a_key(query in "[a-z=&%0-9]{0,40}") {
            let target = gateway_target("", "/", Some(&query)).unwrap();
            if let Some((_, rest)) = target.split_once('?') {
                proptest::prop_assert!(rest.split('&').all(|p| query_param_name(p) != "key"));
            }
        }
    }
}
