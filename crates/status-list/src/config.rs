//! `StatusListConfig`: the public URL lists are published under, list capacity and fill
//! threshold, and the publication `ttl` / lifetime — with defaults and `validate()`.

use serde::Deserialize;

use crossauthz_credentials::status::MIN_ENTRIES;

/// Largest list capacity accepted (2^24 entries: a 4 MiB Token Status List before compression).
pub const MAX_CAPACITY: u64 = 1 << 24;

/// Configuration of the status-list service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusListConfig {
    /// The domain's public base URL (the gateway), e.g. `https://alpha.example`. Lists are
    /// published at `<public_url>/status/<list_id>`. `https`, or `http` on a loopback host only.
    pub public_url: String,
    /// Entries per new list. Never below 131,072, the W3C minimum (B2).
    pub capacity: u64,
    /// Fraction of a list's capacity that may be allocated before the list is marked full and a
    /// new one opened (in `(0, 1]`). Random indexes stay cheap to find while the list is sparse.
    pub fill_ratio: f64,
    /// How long a verifier may cache a published list: TSL `ttl` in seconds, BSL `ttl` in
    /// milliseconds, HTTP `Cache-Control: max-age`. At most half of `lifetime_seconds`.
    pub ttl_seconds: u64,
    /// How long a signed list is valid (`exp` / `validUntil`). A cached signed list is re-signed
    /// when its list changes or half of this has passed.
    pub lifetime_seconds: u64,
    /// Random indexes tried in one list before it is treated as full.
    pub max_allocation_attempts: u32,
    /// Append a `status.allocated` audit event per allocation. Off by default: the entries
    /// table already records every allocation durably (credential id, time; never deleted) and
    /// the issuer's `credential.issued` event names the entry, while an extra audit append per
    /// allocation halves allocation throughput (one more serialised, fsynced commit).
    pub audit_allocations: bool,
}

impl Default for StatusListConfig {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            capacity: MIN_ENTRIES,
            fill_ratio: 0.75,
            ttl_seconds: 300,
            lifetime_seconds: 24 * 60 * 60,
            max_allocation_attempts: 32,
            audit_allocations: false,
        }
    }
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `public_url` is not an absolute URL.
    #[error("public_url is not an absolute URL: {0}")]
    PublicUrlMalformed(String),
    /// `public_url` is not `https` (nor `http` on a loopback host), or carries a query, a
    /// fragment or credentials.
    #[error("public_url must be https (http only on loopback) without query, fragment or userinfo")]
    PublicUrlNotAllowed,
    /// `capacity` is below the W3C minimum of 131,072 entries (B2) or above [`MAX_CAPACITY`].
    #[error("capacity {0} must be between 131072 (Bitstring Status List minimum, B2) and 16777216")]
    CapacityOutOfRange(u64),
    /// `fill_ratio` is not in `(0, 1]`.
    #[error("fill_ratio must be in (0, 1]")]
    FillRatioOutOfRange,
    /// `ttl_seconds` is zero (T2: `ttl` is a positive number).
    #[error("ttl_seconds must be positive (T2)")]
    TtlNotPositive,
    /// `ttl_seconds` exceeds half of `lifetime_seconds`, so a cached list could outlive its
    /// signature.
    #[error("ttl_seconds must be at most half of lifetime_seconds")]
    TtlExceedsHalfLifetime,
    /// `max_allocation_attempts` is zero.
    #[error("max_allocation_attempts must be positive")]
    NoAllocationAttempts,
}

impl StatusListConfig {
    /// A default configuration publishing under `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            ..Self::default()
        }
    }

    /// Checks every field; the service refuses to start on an invalid configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.base_url()?;
        if !(MIN_ENTRIES..=MAX_CAPACITY).contains(&self.capacity) {
            return Err(ConfigError::CapacityOutOfRange(self.capacity));
        }
        if !(self.fill_ratio > 0.0 && self.fill_ratio <= 1.0) {
            return Err(ConfigError::FillRatioOutOfRange);
        }
        if self.ttl_seconds == 0 {
            return Err(ConfigError::TtlNotPositive);
        }
        if self.ttl_seconds > self.lifetime_seconds / 2 {
            return Err(ConfigError::TtlExceedsHalfLifetime);
        }
        if self.max_allocation_attempts == 0 {
            return Err(ConfigError::NoAllocationAttempts);
        }
        Ok(())
    }

    /// `public_url` without a trailing `/`, checked.
    pub fn base_url(&self) -> Result<String, ConfigError> {
        let url = url::Url::parse(&self.public_url)
            .map_err(|e| ConfigError::PublicUrlMalformed(e.to_string()))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(ConfigError::PublicUrlNotAllowed),
        };
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(ConfigError::PublicUrlNotAllowed);
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    /// Allocations after which a list of `capacity` entries is full: `ceil(capacity *
    /// fill_ratio)`, at least 1 and at most `capacity`.
    pub fn fill_threshold(&self, capacity: i64) -> i64 {
        let capacity = capacity.max(1);
        // Capacities are at most 2^24 (or whatever the store holds), exactly representable.
        let t = (capacity as f64 * self.fill_ratio).ceil();
        if t.is_nan() || t < 1.0 {
            1
        } else if t >= capacity as f64 {
            capacity
        } else {
            t as i64
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_with_a_public_url() {
        let c = StatusListConfig::new("https://alpha.example/");
        c.validate().unwrap();
        assert_eq!(c.base_url().unwrap(), "https://alpha.example");
        assert_eq!(c.capacity, 131_072);
        assert_eq!(c.ttl_seconds, 300);
        assert_eq!(c.lifetime_seconds, 86_400);
        assert_eq!(c.fill_threshold(131_072), 98_304);
    }

    // B2: a bitstring is at least 131,072 entries; our lists are never smaller.
    #[test]
    fn b2_capacity_below_the_w3c_minimum_is_refused() {
        let mut c = StatusListConfig::new("https://alpha.example");
        c.capacity = 131_071;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::CapacityOutOfRange(131_071))
        ));
        c.capacity = MAX_CAPACITY + 1;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::CapacityOutOfRange(_))
        ));
    }

    // T2: ttl is a positive number of seconds; it must not outlive the signature.
    #[test]
    fn t2_ttl_must_be_positive_and_within_half_the_lifetime() {
        let mut c = StatusListConfig::new("https://alpha.example");
        c.ttl_seconds = 0;
        assert!(matches!(c.validate(), Err(ConfigError::TtlNotPositive)));
        c.ttl_seconds = 50_000;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TtlExceedsHalfLifetime)
        ));
    }

    #[test]
    fn public_url_rules() {
        for bad in [
            "http://alpha.example",
            "https://alpha.example/?q=1",
            "https://alpha.example/#f",
            "https://u:p@alpha.example",
            "ftp://alpha.example",
        ] {
            let c = StatusListConfig::new(bad);
            assert!(
                matches!(c.validate(), Err(ConfigError::PublicUrlNotAllowed)),
                "{bad}"
            );
        }
        for bad in ["", "alpha.example", "https://"] {
            let c = StatusListConfig::new(bad);
            assert!(
                matches!(c.validate(), Err(ConfigError::PublicUrlMalformed(_))),
                "{bad}"
            );
        }
        for good in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://alpha.localhost",
            "https://alpha.example/prefix/",
        ] {
            StatusListConfig::new(good).validate().unwrap();
        }
        let c = StatusListConfig::new("https://alpha.example/prefix/");
        assert_eq!(c.base_url().unwrap(), "https://alpha.example/prefix");
    }

    #[test]
    fn fill_ratio_and_threshold() {
        let mut c = StatusListConfig::new("https://alpha.example");
        for bad in [0.0, -1.0, 1.5, f64::NAN] {
            c.fill_ratio = bad;
            assert!(matches!(
                c.validate(),
                Err(ConfigError::FillRatioOutOfRange)
            ));
        }
        c.fill_ratio = 1.0;
        assert_eq!(c.fill_threshold(10), 10);
        c.fill_ratio = 1e-9;
        assert_eq!(c.fill_threshold(131_072), 1);
        c.fill_ratio = 10.0 / 131_072.0;
        assert_eq!(c.fill_threshold(131_072), 10);
    }

    #[test]
    fn config_deserialises_with_defaults_and_refuses_unknown_fields() {
        let c: StatusListConfig =
            serde_json::from_str(r#"{"public_url":"https://a.example","ttl_seconds":60}"#).unwrap();
        assert_eq!(c.ttl_seconds, 60);
        assert_eq!(c.capacity, 131_072);
        assert!(serde_json::from_str::<StatusListConfig>(r#"{"bogus":1}"#).is_err());
    }

    proptest::proptest! {
        // Any public_url string is accepted or refused without panicking.
        #[test]
        fn any_public_url_never_panics(s in ".*") {
            let _ = StatusListConfig::new(s).validate();
        }
    }
}
