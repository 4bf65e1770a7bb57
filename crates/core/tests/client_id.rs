//! Tests of client_id rules C1 (CIMD -01 §3) and C3 (§4.1, RFC 3986 §6.2.1), and of the https URL
//! check used for `jwks_uri`/`logo_uri`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossauthz_core::client_id::{
    ClientIdError, ClientIdUrl, HttpsUrlError, MAX_CLIENT_ID_LEN, https_url, is_same_url,
};

const GOOD: &str = "https://a.example/agents/42/client-metadata.json";

#[test]
fn c1_valid_client_id_is_kept_raw() {
    let id = ClientIdUrl::parse(GOOD).unwrap();
    assert_eq!(id.as_str(), GOOD);
    assert_eq!(id.host_str(), "a.example");
    assert_eq!(id.url().path(), "/agents/42/client-metadata.json");
    // The raw string is the identifier even where the URL parser would normalise it.
    let raw = "https://A.Example:443/x";
    let id = ClientIdUrl::parse(raw).unwrap();
    assert_eq!(id.as_str(), raw);
    assert_eq!(id.url().as_str(), "https://a.example/x");
}

// CIMD §3: "Client identifier URLs MUST have an "https" scheme".
#[test]
fn c1_scheme_must_be_https() {
    for (raw, scheme) in [
        ("http://a.example/x", "http"),
        ("ftp://a.example/x", "ftp"),
        ("wss://a.example/x", "wss"),
        ("urn:example:x", "urn"),
    ] {
        assert!(
            matches!(ClientIdUrl::parse(raw), Err(ClientIdError::NotHttps { scheme: s }) if s == scheme),
            "{raw}"
        );
    }
    assert!(matches!(
        ClientIdUrl::parse("a.example/x"),
        Err(ClientIdError::NotHttps { .. })
    ));
    // The scheme is case-insensitive (RFC 3986 §3.1).
    assert!(ClientIdUrl::parse("HTTPS://a.example/x").is_ok());
}

// The url crate accepts `https:a.example/x` and `https:/a.example/x`; the raw check does not.
#[test]
fn c1_scheme_must_be_followed_by_authority() {
    for raw in ["https:a.example/x", "https:/a.example/x"] {
        assert_eq!(
            ClientIdUrl::parse(raw),
            Err(ClientIdError::MissingAuthority),
            "{raw}"
        );
    }
    assert_eq!(
        ClientIdUrl::parse("https:///x"),
        Err(ClientIdError::MissingHost)
    );
}

// CIMD §3: "MUST contain a path component". Decision: `/` alone does not count — the URL must
// name a document, not the origin (and `https://a.example` serialises as `https://a.example/`).
#[test]
fn c1_path_is_required_and_root_slash_alone_does_not_count() {
    for raw in [
        "https://a.example",
        "https://a.example/",
        "https://a.example:8443/",
    ] {
        assert_eq!(
            ClientIdUrl::parse(raw),
            Err(ClientIdError::MissingPath),
            "{raw}"
        );
    }
    assert!(ClientIdUrl::parse("https://a.example/x").is_ok());
    assert!(ClientIdUrl::parse("https://a.example/x/").is_ok());
}

// CIMD §3: "MUST NOT contain single-dot or double-dot path segments". The url crate removes them
// silently, so the check must run on the raw string.
#[test]
fn c1_dot_segments_are_rejected_before_normalisation() {
    assert_eq!(
        url::Url::parse("https://a.example/x/../y")
            .unwrap()
            .as_str(),
        "https://a.example/y",
        "the url crate normalises dot segments away"
    );
    for (raw, seg) in [
        ("https://a.example/x/../y", ".."),
        ("https://a.example/./y", "."),
        ("https://a.example/%2e%2e/y", "%2e%2e"),
        ("https://a.example/x/%2E%2E/y", "%2E%2E"),
        ("https://a.example/.%2e/y", ".%2e"),
        ("https://a.example/x/%2e", "%2e"),
        ("https://a.example/x/..", ".."),
        ("https://a.example/x/.", "."),
    ] {
        assert_eq!(
            ClientIdUrl::parse(raw),
            Err(ClientIdError::DotSegment {
                segment: seg.to_owned()
            }),
            "{raw}"
        );
    }
    // Dots inside a segment are fine.
    for raw in [
        "https://a.example/.well-known/x",
        "https://a.example/x/.../y",
        "https://a.example/a..b",
    ] {
        assert!(ClientIdUrl::parse(raw).is_ok(), "{raw}");
    }
}

// CIMD §3: "MUST NOT contain a fragment component" — even an empty one.
#[test]
fn c1_fragment_is_rejected_even_empty() {
    for raw in [
        "https://a.example/x#",
        "https://a.example/x#frag",
        "https://a.example/x?#",
    ] {
        assert_eq!(
            ClientIdUrl::parse(raw),
            Err(ClientIdError::Fragment),
            "{raw}"
        );
    }
}

// CIMD §3: "MUST NOT contain a username or password".
#[test]
fn c1_userinfo_is_rejected() {
    for raw in [
        "https://user@a.example/x",
        "https://user:pass@a.example/x",
        "https://:@a.example/x",
        "https://@a.example/x",
    ] {
        assert_eq!(
            ClientIdUrl::parse(raw),
            Err(ClientIdError::Userinfo),
            "{raw}"
        );
    }
}

// CIMD §3: "SHOULD NOT include a query string component" — this server rejects it.
#[test]
fn c1_query_is_rejected() {
    for raw in ["https://a.example/x?", "https://a.example/x?a=b"] {
        assert_eq!(ClientIdUrl::parse(raw), Err(ClientIdError::Query), "{raw}");
    }
}

// CIMD §3: "MAY contain a port".
#[test]
fn c1_port_is_allowed_and_validated() {
    assert!(ClientIdUrl::parse("https://a.example:8443/x").is_ok());
    assert!(ClientIdUrl::parse("https://[2001:db8::1]:8443/x").is_ok());
    assert!(ClientIdUrl::parse("https://127.0.0.1:8443/x").is_ok());
    for (raw, port) in [
        ("https://a.example:/x", ""),
        ("https://a.example:0/x", "0"),
        ("https://a.example:65536/x", "65536"),
        ("https://a.example:8a/x", "8a"),
    ] {
        assert_eq!(
            ClientIdUrl::parse(raw),
            Err(ClientIdError::InvalidPort {
                port: port.to_owned()
            }),
            "{raw}"
        );
    }
}

// The url crate strips tabs/newlines and turns `\` into `/`; we refuse such raw strings.
#[test]
fn c1_characters_outside_rfc3986_are_rejected() {
    for (raw, ch) in [
        ("https://a.example\\x/y", '\\'),
        ("https://a.example/x\ty", '\t'),
        ("https://a.example/x\ny", '\n'),
        (" https://a.example/x", ' '),
        ("https://a.example/x y", ' '),
        ("https://bücher.example/x", 'ü'),
        ("https://a.example/\"x", '"'),
    ] {
        assert!(
            matches!(ClientIdUrl::parse(raw), Err(ClientIdError::IllegalCharacter { ch: c, .. }) if c == ch),
            "{raw:?}"
        );
    }
    assert_eq!(
        ClientIdUrl::parse("https://a.example/%zz"),
        Err(ClientIdError::BadPercentEncoding { index: 18 })
    );
    assert_eq!(
        ClientIdUrl::parse("https://a.example/%2"),
        Err(ClientIdError::BadPercentEncoding { index: 18 })
    );
}

#[test]
fn c1_percent_encoded_host_is_rejected() {
    assert_eq!(
        ClientIdUrl::parse("https://%61.example/x"),
        Err(ClientIdError::EncodedHost)
    );
    assert!(ClientIdUrl::parse("https://a.example/%61").is_ok());
}

#[test]
fn c1_overlong_client_id_is_rejected() {
    let raw = format!("https://a.example/{}", "x".repeat(MAX_CLIENT_ID_LEN));
    assert!(matches!(
        ClientIdUrl::parse(&raw),
        Err(ClientIdError::TooLong { .. })
    ));
}

#[test]
fn c1_malformed_host_is_rejected_by_the_url_parser() {
    assert_eq!(
        ClientIdUrl::parse("https://[zz]/x"),
        Err(ClientIdError::Malformed(
            url::ParseError::InvalidIpv6Address
        ))
    );
    assert_eq!(
        ClientIdUrl::parse("https://999.1.1.1/x"),
        Err(ClientIdError::Malformed(
            url::ParseError::InvalidIpv4Address
        ))
    );
}

#[test]
fn c1_serde_validates_and_keeps_the_raw_string() {
    let id: ClientIdUrl = serde_json::from_str(&format!("\"{GOOD}\"")).unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{GOOD}\""));
    assert!(serde_json::from_str::<ClientIdUrl>("\"https://a.example/x#\"").is_err());
}

// C3 (CIMD §4.1, RFC 3986 §6.2.1): simple string comparison.
#[test]
fn c3_simple_string_comparison_distinguishes_case_port_and_trailing_slash() {
    assert!(is_same_url(GOOD, GOOD));
    assert!(!is_same_url(
        "https://A.example/x/client.json",
        "https://a.example/x/client.json"
    ));
    assert!(!is_same_url(
        "https://a.example:443/client.json",
        "https://a.example/client.json"
    ));
    assert!(!is_same_url(
        "https://a.example/client/",
        "https://a.example/client"
    ));
    assert!(!is_same_url(
        "https://a.example/%7Eme",
        "https://a.example/~me"
    ));
    let a = ClientIdUrl::parse("https://a.example:443/x").unwrap();
    let b = ClientIdUrl::parse("https://a.example/x").unwrap();
    assert_ne!(a, b, "ClientIdUrl equality is raw-string equality");
}

// C11 (second half): URLs inside the document are https, without userinfo or fragment.
#[test]
fn c11_document_urls_must_be_https_without_userinfo_or_fragment() {
    assert!(https_url("https://a.example/jwks.json").is_ok());
    assert!(
        https_url("https://a.example/jwks?v=2").is_ok(),
        "query allowed"
    );
    assert_eq!(
        https_url("http://a.example/jwks.json"),
        Err(HttpsUrlError::NotHttps)
    );
    assert_eq!(
        https_url("data:image/png;base64,AAAA"),
        Err(HttpsUrlError::NotHttps)
    );
    assert_eq!(
        https_url("https://a.example/logo.png#"),
        Err(HttpsUrlError::Fragment)
    );
    assert_eq!(
        https_url("https://u:p@a.example/logo.png"),
        Err(HttpsUrlError::Userinfo)
    );
    assert_eq!(https_url("https:///x"), Err(HttpsUrlError::MissingHost));
    assert!(matches!(
        https_url("https://a.example/\\x"),
        Err(HttpsUrlError::IllegalCharacter { .. })
    ));
}
