//! The SSRF address classifier (rule C11, CIMD -01 §6.5, RFC 6890 and the IANA special-purpose
//! address registries).
//!
//! A fetcher resolves a host, then calls [`check_address`] on EVERY address it is about to connect
//! to (and on the address actually connected to, against DNS rebinding). This module only
//! classifies; it never opens a connection.
//!
//! IPv6 forms that embed an IPv4 address are handled as follows:
//! - IPv4-mapped `::ffff:0:0/96` and IPv4-compatible `::/96` are forbidden as such, whatever the
//!   embedded address; the embedded address's class is reported when it is special.
//! - NAT64 `64:ff9b::/96`, 6to4 `2002::/16` and Teredo `2001::/32` are forbidden when the embedded
//!   IPv4 address (for Teredo: the client or the server) is special-use.
//! - Everything outside global unicast `2000::/3` that is not listed otherwise is reserved.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// A special-use address range (RFC 6890 and successors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SpecialUse {
    /// `0.0.0.0`, `::`.
    #[error("unspecified address")]
    Unspecified,
    /// `0.0.0.0/8` "this network" (RFC 791, RFC 6890).
    #[error("\"this network\" 0.0.0.0/8")]
    ThisNetwork,
    /// `127.0.0.0/8`, `::1`.
    #[error("loopback")]
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    #[error("private-use (RFC 1918)")]
    Private,
    /// `100.64.0.0/10` carrier-grade NAT (RFC 6598).
    #[error("shared address space / CGNAT (RFC 6598)")]
    SharedAddressSpace,
    /// `169.254.0.0/16` (incl. cloud metadata 169.254.169.254), `fe80::/10`.
    #[error("link-local (incl. cloud metadata endpoints)")]
    LinkLocal,
    /// `192.0.0.0/24`, `2001::/23` (except the ranges named separately).
    #[error("IETF protocol assignments")]
    IetfProtocolAssignments,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    #[error("documentation")]
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    #[error("benchmarking")]
    Benchmarking,
    /// `224.0.0.0/4`, `ff00::/8`.
    #[error("multicast")]
    Multicast,
    /// `255.255.255.255`.
    #[error("limited broadcast")]
    Broadcast,
    /// `240.0.0.0/4`, the deprecated 6to4 relay anycast `192.88.99.0/24`, local-use NAT64
    /// `64:ff9b:1::/48`, and IPv6 outside `2000::/3` not listed otherwise.
    #[error("reserved")]
    Reserved,
    /// `fc00::/7` unique local (RFC 4193).
    #[error("unique local (RFC 4193)")]
    UniqueLocal,
    /// `fec0::/10` deprecated site-local.
    #[error("site-local (deprecated)")]
    SiteLocal,
}

/// The IPv6 tunnelling/translation forms whose embedded IPv4 address is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv4Tunnel {
    /// NAT64 well-known prefix `64:ff9b::/96` (RFC 6052).
    Nat64,
    /// 6to4 `2002::/16` (RFC 3056).
    SixToFour,
    /// Teredo `2001::/32` (RFC 4380).
    Teredo,
}

/// Why an address must not be fetched from (C11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ForbiddenAddress {
    /// The address is in a special-use range.
    #[error("special-use address: {0} (C11, RFC 6890)")]
    SpecialUse(SpecialUse),
    /// IPv4-mapped IPv6 `::ffff:a.b.c.d`: forbidden as such.
    #[error("IPv4-mapped IPv6 address of {ipv4} (C11)")]
    Ipv4Mapped {
        /// The embedded IPv4 address.
        ipv4: Ipv4Addr,
        /// Its own special-use class, if any.
        inner: Option<SpecialUse>,
    },
    /// Deprecated IPv4-compatible IPv6 `::a.b.c.d`: forbidden as such.
    #[error("IPv4-compatible IPv6 address of {ipv4} (C11)")]
    Ipv4Compatible {
        /// The embedded IPv4 address.
        ipv4: Ipv4Addr,
        /// Its own special-use class, if any.
        inner: Option<SpecialUse>,
    },
    /// NAT64/6to4/Teredo address whose embedded IPv4 address is special-use.
    #[error("{tunnel:?} address embedding {ipv4}: {inner} (C11)")]
    Tunnelled {
        /// The form.
        tunnel: Ipv4Tunnel,
        /// The embedded IPv4 address that is special-use.
        ipv4: Ipv4Addr,
        /// Its class.
        inner: SpecialUse,
    },
}

impl ForbiddenAddress {
    /// The special-use class of the address or of the IPv4 address it embeds.
    pub fn special_use(&self) -> Option<SpecialUse> {
        match *self {
            Self::SpecialUse(class) => Some(class),
            Self::Ipv4Mapped { inner, .. } | Self::Ipv4Compatible { inner, .. } => inner,
            Self::Tunnelled { inner, .. } => Some(inner),
        }
    }

    /// True if the destination is a loopback address, directly or embedded.
    pub fn is_loopback(&self) -> bool {
        self.special_use() == Some(SpecialUse::Loopback)
    }
}

/// Development-only exception of C11: an AS that itself runs on loopback may fetch from loopback.
/// With [`AllowLoopback::Yes`], plain loopback addresses (`127.0.0.0/8`, `::1`) — and nothing
/// else, not even `0.0.0.0` or `::ffff:127.0.0.1` — pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllowLoopback {
    /// Production: loopback is forbidden like every other special-use range.
    #[default]
    No,
    /// Development: loopback passes.
    Yes,
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

/// The special-use class of an IPv4 address, or `None` for a public address.
pub fn ipv4_special_use(ip: Ipv4Addr) -> Option<SpecialUse> {
    use SpecialUse::*;
    const TABLE: &[([u8; 4], u32, SpecialUse)] = &[
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, ThisNetwork),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedAddressSpace),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, IetfProtocolAssignments),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
}

fn embedded_v4(ip: Ipv6Addr, bit_offset: u32) -> Ipv4Addr {
    // Take 32 bits starting `bit_offset` bits from the most significant end.
    let bits = u128::from(ip) >> (96 - bit_offset);
    Ipv4Addr::from((bits & 0xffff_ffff) as u32)
}

fn ipv6_forbidden(ip: Ipv6Addr) -> Option<ForbiddenAddress> {
    use SpecialUse::*;
    let v6 = |s: [u16; 8]| Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
    let special = |c| Some(ForbiddenAddress::SpecialUse(c));
    if ip == Ipv6Addr::UNSPECIFIED {
        return special(Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return special(Loopback);
    }
    let last32 = embedded_v4(ip, 96);
    if in_v6(ip, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96) {
        return Some(ForbiddenAddress::Ipv4Mapped {
            ipv4: last32,
            inner: ipv4_special_use(last32),
        });
    }
    if in_v6(ip, Ipv6Addr::UNSPECIFIED, 96) {
        return Some(ForbiddenAddress::Ipv4Compatible {
            ipv4: last32,
            inner: ipv4_special_use(last32),
        });
    }
    if in_v6(ip, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        return ipv4_special_use(last32).map(|inner| ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::Nat64,
            ipv4: last32,
            inner,
        });
    }
    const RANGES: &[([u16; 8], u32, SpecialUse)] = &[
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Reserved),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, SiteLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        ([0x2001, 0x0002, 0, 0, 0, 0, 0, 0], 48, Benchmarking),
        ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
    ];
    if let Some((_, _, class)) = RANGES
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, v6(*net), *prefix))
    {
        return special(*class);
    }
    if !in_v6(ip, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return special(Reserved);
    }
    if in_v6(ip, v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32) {
        // Teredo: server IPv4 in bits 32..64, client IPv4 (inverted) in the last 32 bits.
        let client = Ipv4Addr::from(!u32::from(last32));
        let server = embedded_v4(ip, 32);
        return [client, server].into_iter().find_map(|ipv4| {
            ipv4_special_use(ipv4).map(|inner| ForbiddenAddress::Tunnelled {
                tunnel: Ipv4Tunnel::Teredo,
                ipv4,
                inner,
            })
        });
    }
    if in_v6(ip, v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23) {
        return special(IetfProtocolAssignments);
    }
    if in_v6(ip, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        let ipv4 = embedded_v4(ip, 16);
        return ipv4_special_use(ipv4).map(|inner| ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::SixToFour,
            ipv4,
            inner,
        });
    }
    None
}

/// Why `ip` must not be fetched from, or `None` if it is a public address (C11).
pub fn forbidden_reason(ip: IpAddr) -> Option<ForbiddenAddress> {
    match ip {
        IpAddr::V4(v4) => ipv4_special_use(v4).map(ForbiddenAddress::SpecialUse),
        IpAddr::V6(v6) => ipv6_forbidden(v6),
    }
}

/// The C11 decision for one address: `Ok` if a fetch may connect to it under `policy`.
pub fn check_address(ip: IpAddr, policy: AllowLoopback) -> Result<(), ForbiddenAddress> {
    match forbidden_reason(ip) {
        None => Ok(()),
        Some(ForbiddenAddress::SpecialUse(SpecialUse::Loopback))
            if policy == AllowLoopback::Yes =>
        {
            Ok(())
        }
        Some(reason) => Err(reason),
    }
}

/// An operator's explicit exception to C11 for a closed federation: a private network whose
/// hosts the fetcher may reach, e.g. the shared network of a docker-compose stack where each
/// domain's gateway has an RFC 1918 address. Only networks entirely inside a private-use range
/// (RFC 1918: `10/8`, `172.16/12`, `192.168/16`) or the unique-local range (RFC 4193, `fc00::/7`)
/// qualify; loopback, link-local (cloud metadata), shared address space and every other
/// special-use range stay forbidden whatever the configuration says, and so do the IPv4-mapped,
/// -compatible and tunnelled forms of an allowed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrivateNetwork(ipnet::IpNet);

/// Why a network cannot be a [`PrivateNetwork`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateNetworkError {
    /// Not CIDR notation.
    #[error("{0:?} is not an IP network in CIDR form (e.g. 172.30.0.0/24)")]
    Syntax(String),
    /// Some of its addresses are outside the private-use and unique-local ranges.
    #[error("{0} is not entirely inside a private-use (RFC 1918) or unique-local (RFC 4193) range")]
    NotPrivate(ipnet::IpNet),
}

impl PrivateNetwork {
    /// Checks that every address of `net` is private-use or unique-local.
    pub fn new(net: ipnet::IpNet) -> Result<Self, PrivateNetworkError> {
        let net = net.trunc();
        // The special-use blocks are aligned, so a CIDR block whose first and last addresses
        // are both private-use lies inside one of them.
        let private = |ip: IpAddr| {
            matches!(
                forbidden_reason(ip),
                Some(ForbiddenAddress::SpecialUse(
                    SpecialUse::Private | SpecialUse::UniqueLocal
                ))
            )
        };
        if private(net.network()) && private(net.broadcast()) {
            Ok(Self(net))
        } else {
            Err(PrivateNetworkError::NotPrivate(net))
        }
    }

    /// True if `ip` (in its plain form) is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl std::fmt::Display for PrivateNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for PrivateNetwork {
    type Err = PrivateNetworkError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let net = s
            .trim()
            .parse::<ipnet::IpNet>()
            .map_err(|_| PrivateNetworkError::Syntax(s.to_owned()))?;
        Self::new(net)
    }
}

impl<'de> serde::Deserialize<'de> for PrivateNetwork {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for PrivateNetwork {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// [`check_address`] with the operator's [`PrivateNetwork`] exceptions: a plain private-use or
/// unique-local address inside one of `allowed` passes; nothing else changes.
pub fn check_address_allowing(
    ip: IpAddr,
    policy: AllowLoopback,
    allowed: &[PrivateNetwork],
) -> Result<(), ForbiddenAddress> {
    match check_address(ip, policy) {
        Err(ForbiddenAddress::SpecialUse(SpecialUse::Private | SpecialUse::UniqueLocal))
            if allowed.iter().any(|n| n.contains(ip)) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// The IP address of a URL whose host is an IP literal (after the URL parser's normalisation of
/// forms like `2130706433`, `127.1`, `0x7f.1`), or `None` for a domain name.
pub fn host_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}
