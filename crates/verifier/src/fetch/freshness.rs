//! RFC 9111 freshness of a fetched response: a small parser of `Cache-Control` (`max-age`,
//! `no-store`, `no-cache`, `private`), `Expires`, `Date` and `Age`, and the clamp to the
//! verifier's own [min, max] bounds (C7).
//!
//! The fetcher is a private cache of one consumer (the verifier), so `private` does not prevent
//! storing (RFC 9111 §5.2.2.7 restricts shared caches only); `s-maxage` is ignored for the same
//! reason. The fetcher never revalidates, so `no-cache` (which demands revalidation before each
//! reuse) is treated like `no-store`. Conflicting or malformed freshness information makes the
//! response stale (RFC 9111 §4.2.1, §5.2.2.1, §5.3), which the minimum bound then covers.

use std::time::{Duration, SystemTime};

use reqwest::header::{AGE, CACHE_CONTROL, DATE, EXPIRES, HeaderMap};

/// Largest delta-seconds honoured (RFC 9111 §1.2.2: 2^31).
const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// The `Cache-Control` directives that matter to the fetcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheDirectives {
    /// `no-store`.
    pub no_store: bool,
    /// `no-cache` (also its qualified form `no-cache="field"`).
    pub no_cache: bool,
    /// `private` (also qualified).
    pub private: bool,
    /// `max-age`: `Some(Ok(seconds))`, or `Some(Err(()))` when malformed or given twice with
    /// different values (the response is then stale).
    pub max_age: Option<Result<u64, ()>>,
}

/// What the headers say about how long a response may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// `no-store` or `no-cache`: never reuse.
    DoNotStore,
    /// A freshness lifetime remaining after `Age` (zero when stale).
    Lifetime(Duration),
    /// No freshness information at all.
    Unspecified,
}

/// Parses the `Cache-Control` header lines (RFC 9111 §5.2: a comma-separated list of
/// `token [ "=" ( token / quoted-string ) ]`, names case-insensitive). Unknown directives are
/// ignored; never panics.
pub fn parse_cache_control<'a>(lines: impl IntoIterator<Item = &'a str>) -> CacheDirectives {
    let mut out = CacheDirectives::default();
    for line in lines {
        for (name, value) in split_directives(line) {
            match name.to_ascii_lowercase().as_str() {
                "no-store" => out.no_store = true,
                "no-cache" => out.no_cache = true,
                "private" => out.private = true,
                "max-age" => {
                    let parsed = value.as_deref().and_then(parse_delta_seconds).ok_or(());
                    out.max_age = match (out.max_age, parsed) {
                        (None, new) => Some(new),
                        (Some(Ok(old)), Ok(new)) if old == new => Some(Ok(old)),
                        _ => Some(Err(())),
                    };
                }
                _ => {}
            }
        }
    }
    out
}

/// Splits one header line into `(name, value)` pairs, honouring quoted strings (which may
/// contain commas and `\"` escapes).
fn split_directives(line: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        // Skip separators and whitespace.
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let name = name.trim().to_owned();
        let mut value = None;
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut v = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                v.push(escaped);
                            }
                        }
                        c => v.push(c),
                    }
                }
                // Skip anything after the closing quote up to the next comma.
                while chars.peek().is_some_and(|c| *c != ',') {
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    v.push(c);
                    chars.next();
                }
                v = v.trim().to_owned();
            }
            value = Some(v);
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}

/// `delta-seconds = 1*DIGIT`, capped at 2^31 (RFC 9111 §1.2.2).
fn parse_delta_seconds(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: only overflow can fail, and an overflowing value is "very large".
    Some(s.parse::<u64>().unwrap_or(u64::MAX).min(MAX_DELTA_SECONDS))
}

fn header_lines<'a>(headers: &'a HeaderMap, name: &reqwest::header::HeaderName) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        // A value that is not visible ASCII is kept as "" so that it counts as present but invalid.
        .map(|v| v.to_str().unwrap_or(""))
        .collect()
}

/// The freshness of a response (RFC 9111 §4.2.1), with `now` the time it was received (used for
/// `Expires` when the response has no valid `Date`).
pub fn freshness(headers: &HeaderMap, now: SystemTime) -> Freshness {
    let directives = parse_cache_control(header_lines(headers, &CACHE_CONTROL));
    if directives.no_store || directives.no_cache {
        return Freshness::DoNotStore;
    }
    // RFC 9111 §5.1: with several Age values, the first is used; a malformed one is ignored.
    let age = header_lines(headers, &AGE)
        .first()
        .and_then(|v| parse_delta_seconds(v.trim()))
        .map_or(Duration::ZERO, Duration::from_secs);
    let lifetime = match directives.max_age {
        Some(Ok(seconds)) => Duration::from_secs(seconds),
        Some(Err(())) => Duration::ZERO,
        None => match header_lines(headers, &EXPIRES).as_slice() {
            [] => return Freshness::Unspecified,
            [one] => match httpdate::parse_http_date(one.trim()) {
                Ok(expires) => {
                    let date = match header_lines(headers, &DATE).as_slice() {
                        [d] => httpdate::parse_http_date(d.trim()).unwrap_or(now),
                        _ => now,
                    };
                    expires.duration_since(date).unwrap_or(Duration::ZERO)
                }
                // An invalid Expires (e.g. "0") means "already expired" (RFC 9111 §5.3).
                Err(_) => Duration::ZERO,
            },
            // Several Expires lines: stale (RFC 9111 §4.2.1).
            _ => Duration::ZERO,
        },
    };
    Freshness::Lifetime(lifetime.saturating_sub(age))
}

/// How long to keep a response under the verifier's bounds (C7): `DoNotStore` → zero (not
/// cached); a lifetime → clamped to `[min, max]`; no information → `min`.
pub fn clamp(freshness: Freshness, min: Duration, max: Duration) -> Duration {
    match freshness {
        Freshness::DoNotStore => Duration::ZERO,
        Freshness::Lifetime(d) => d.clamp(min, max.max(min)),
        Freshness::Unspecified => min,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&reqwest::header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    const MIN: Duration = Duration::from_secs(30);
    const MAX: Duration = Duration::from_secs(3600);

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn c7_parses_directives_case_insensitively_with_quoted_values() {
        let d = parse_cache_control([
            "Max-Age=60, PRIVATE=\"x, y\"",
            "no-cache=\"set-cookie, a\\\"b\"",
        ]);
        assert_eq!(d.max_age, Some(Ok(60)));
        assert!(d.private);
        assert!(d.no_cache);
        assert!(!d.no_store);
        let d = parse_cache_control(["public , no-store,,max-age = 5"]);
        assert!(d.no_store);
        assert_eq!(d.max_age, Some(Ok(5)));
    }

    #[test]
    fn c7_malformed_or_conflicting_max_age_is_stale() {
        assert_eq!(parse_cache_control(["max-age=abc"]).max_age, Some(Err(())));
        assert_eq!(parse_cache_control(["max-age"]).max_age, Some(Err(())));
        assert_eq!(parse_cache_control(["max-age=-1"]).max_age, Some(Err(())));
        assert_eq!(
            parse_cache_control(["max-age=5", "max-age=6"]).max_age,
            Some(Err(()))
        );
        assert_eq!(
            parse_cache_control(["max-age=5, max-age=5"]).max_age,
            Some(Ok(5))
        );
        assert_eq!(
            parse_cache_control(["max-age=99999999999999999999999"]).max_age,
            Some(Ok(MAX_DELTA_SECONDS))
        );
        let h = headers(&[(&CACHE_CONTROL, "max-age=x")]);
        assert_eq!(freshness(&h, t(0)), Freshness::Lifetime(Duration::ZERO));
        assert_eq!(clamp(freshness(&h, t(0)), MIN, MAX), MIN);
    }

    #[test]
    fn c7_no_store_and_no_cache_are_not_cached() {
        for value in [
            "no-store",
            "max-age=600, no-store",
            "no-cache",
            "no-cache=\"a\"",
        ] {
            let h = headers(&[(&CACHE_CONTROL, value)]);
            assert_eq!(freshness(&h, t(0)), Freshness::DoNotStore, "{value}");
            assert_eq!(clamp(freshness(&h, t(0)), MIN, MAX), Duration::ZERO);
        }
    }

    #[test]
    fn c7_private_is_cacheable_by_this_private_cache() {
        let h = headers(&[(&CACHE_CONTROL, "private, max-age=120")]);
        assert_eq!(
            freshness(&h, t(0)),
            Freshness::Lifetime(Duration::from_secs(120))
        );
    }

    #[test]
    fn c7_max_age_is_clamped_to_min_and_max() {
        let fresh = |v: &str| clamp(freshness(&headers(&[(&CACHE_CONTROL, v)]), t(0)), MIN, MAX);
        assert_eq!(fresh("max-age=0"), MIN);
        assert_eq!(fresh("max-age=5"), MIN);
        assert_eq!(fresh("max-age=120"), Duration::from_secs(120));
        assert_eq!(fresh("max-age=86400"), MAX);
        assert_eq!(clamp(Freshness::Unspecified, MIN, MAX), MIN);
    }

    #[test]
    fn c7_max_age_wins_over_expires_and_age_is_subtracted() {
        let h = headers(&[
            (&CACHE_CONTROL, "max-age=100"),
            (&EXPIRES, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (&AGE, "40"),
        ]);
        assert_eq!(
            freshness(&h, t(0)),
            Freshness::Lifetime(Duration::from_secs(60))
        );
        let h = headers(&[(&CACHE_CONTROL, "max-age=10"), (&AGE, "40")]);
        assert_eq!(freshness(&h, t(0)), Freshness::Lifetime(Duration::ZERO));
    }

    #[test]
    fn c7_expires_counts_from_date_or_from_receipt() {
        // Date 1000 s after the epoch, Expires 1300 s after: 300 s.
        let h = headers(&[
            (&DATE, "Thu, 01 Jan 1970 00:16:40 GMT"),
            (&EXPIRES, "Thu, 01 Jan 1970 00:21:40 GMT"),
        ]);
        assert_eq!(
            freshness(&h, t(5000)),
            Freshness::Lifetime(Duration::from_secs(300))
        );
        // No Date: from `now`.
        let h = headers(&[(&EXPIRES, "Thu, 01 Jan 1970 00:21:40 GMT")]);
        assert_eq!(
            freshness(&h, t(1200)),
            Freshness::Lifetime(Duration::from_secs(100))
        );
        // In the past, invalid ("0") or repeated: stale.
        assert_eq!(freshness(&h, t(2000)), Freshness::Lifetime(Duration::ZERO));
        let h = headers(&[(&EXPIRES, "0")]);
        assert_eq!(freshness(&h, t(0)), Freshness::Lifetime(Duration::ZERO));
        let h = headers(&[
            (&EXPIRES, "Thu, 01 Jan 1970 00:21:40 GMT"),
            (&EXPIRES, "Thu, 01 Jan 1970 00:21:41 GMT"),
        ]);
        assert_eq!(freshness(&h, t(0)), Freshness::Lifetime(Duration::ZERO));
    }

    #[test]
    fn no_headers_is_unspecified() {
        assert_eq!(freshness(&HeaderMap::new(), t(0)), Freshness::Unspecified);
    }

    proptest::proptest! {
        #[test]
        fn cache_control_parser_never_panics(s in "\\PC{0,80}") {
            let _ = parse_cache_control([s.as_str()]);
        }

        #[test]
        fn freshness_never_panics_on_header_bytes(
            cc in proptest::collection::vec(0x20u8..0x7f, 0..40),
            exp in proptest::collection::vec(0x20u8..0x7f, 0..40),
            age in proptest::collection::vec(0x20u8..0x7f, 0..10),
        ) {
            let mut map = HeaderMap::new();
            for (name, bytes) in [(&CACHE_CONTROL, cc), (&EXPIRES, exp), (&AGE, age)] {
                if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                    map.append(name, v);
                }
            }
            let f = freshness(&map, t(1_000_000));
            let d = clamp(f, MIN, MAX);
            proptest::prop_assert!(d == Duration::ZERO || (MIN..=MAX).contains(&d));
        }
    }
}
