//! Tests of the SSRF address classifier (C11, CIMD -01 §6.5, RFC 6890). Classification only:
//! nothing here opens a connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use crossauthz_core::net::{
    AllowLoopback, ForbiddenAddress, Ipv4Tunnel, SpecialUse, check_address, forbidden_reason,
    host_ip,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn class(s: &str) -> Option<SpecialUse> {
    forbidden_reason(ip(s)).and_then(|f| f.special_use())
}

fn assert_special(addrs: &[&str], expected: SpecialUse) {
    for a in addrs {
        assert_eq!(
            forbidden_reason(ip(a)),
            Some(ForbiddenAddress::SpecialUse(expected)),
            "{a}"
        );
        assert!(check_address(ip(a), AllowLoopback::No).is_err(), "{a}");
    }
}

#[test]
fn c11_loopback_v4_and_v6() {
    assert_special(
        &["127.0.0.1", "127.0.0.2", "127.255.255.255", "::1"],
        SpecialUse::Loopback,
    );
}

#[test]
fn c11_unspecified_and_this_network() {
    assert_special(&["0.0.0.0", "::"], SpecialUse::Unspecified);
    assert_special(&["0.0.0.1", "0.255.255.255"], SpecialUse::ThisNetwork);
}

#[test]
fn c11_rfc1918_private() {
    assert_special(
        &[
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
        ],
        SpecialUse::Private,
    );
    // Just outside the ranges.
    for a in ["172.15.255.255", "172.32.0.0", "11.0.0.0", "192.169.0.0"] {
        assert_eq!(forbidden_reason(ip(a)), None, "{a}");
    }
}

#[test]
fn c11_cgnat_shared_address_space() {
    assert_special(
        &["100.64.0.1", "100.127.255.255", "100.100.100.200"],
        SpecialUse::SharedAddressSpace,
    );
    assert_eq!(forbidden_reason(ip("100.128.0.0")), None);
    assert_eq!(forbidden_reason(ip("100.63.255.255")), None);
}

#[test]
fn c11_link_local_including_cloud_metadata() {
    assert_special(
        &[
            "169.254.0.1",
            "169.254.169.254",
            "169.254.170.2",
            "fe80::1",
            "febf::1",
        ],
        SpecialUse::LinkLocal,
    );
}

#[test]
fn c11_unique_local_and_site_local() {
    assert_special(
        &["fc00::1", "fd00::1", "fd00:ec2::254"],
        SpecialUse::UniqueLocal,
    );
    assert_special(&["fec0::1", "feff::1"], SpecialUse::SiteLocal);
}

#[test]
fn c11_multicast_and_broadcast() {
    assert_special(
        &["224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2"],
        SpecialUse::Multicast,
    );
    assert_special(&["255.255.255.255"], SpecialUse::Broadcast);
}

#[test]
fn c11_documentation_ranges() {
    assert_special(
        &[
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "2001:db8::1",
            "3fff::1",
        ],
        SpecialUse::Documentation,
    );
}

#[test]
fn c11_benchmarking_reserved_and_ietf_assignments() {
    assert_special(
        &["198.18.0.1", "198.19.255.255", "2001:2::1"],
        SpecialUse::Benchmarking,
    );
    assert_special(
        &["240.0.0.1", "254.255.255.255", "192.88.99.1"],
        SpecialUse::Reserved,
    );
    assert_special(
        &["192.0.0.1", "192.0.0.170", "2001:10::1", "2001:1::1"],
        SpecialUse::IetfProtocolAssignments,
    );
}

#[test]
fn c11_ipv6_outside_global_unicast_is_reserved() {
    assert_special(
        &[
            "100::1",
            "64:ff9b:1::1",
            "::ffff:0:1.2.3.4",
            "4000::1",
            "5f00::1",
        ],
        SpecialUse::Reserved,
    );
}

// IPv4-mapped addresses are forbidden as such; the embedded class is reported when special.
#[test]
fn c11_ipv4_mapped_is_forbidden_as_such() {
    assert_eq!(
        forbidden_reason(ip("::ffff:8.8.8.8")),
        Some(ForbiddenAddress::Ipv4Mapped {
            ipv4: "8.8.8.8".parse().unwrap(),
            inner: None
        })
    );
    let mapped_loopback = forbidden_reason(ip("::ffff:127.0.0.1")).unwrap();
    assert!(mapped_loopback.is_loopback());
    assert!(matches!(
        mapped_loopback,
        ForbiddenAddress::Ipv4Mapped {
            inner: Some(SpecialUse::Loopback),
            ..
        }
    ));
    assert_eq!(class("::ffff:169.254.169.254"), Some(SpecialUse::LinkLocal));
    assert_eq!(class("::ffff:10.0.0.1"), Some(SpecialUse::Private));
}

#[test]
fn c11_ipv4_compatible_is_forbidden_as_such() {
    assert!(matches!(
        forbidden_reason(ip("::8.8.8.8")),
        Some(ForbiddenAddress::Ipv4Compatible { inner: None, .. })
    ));
    assert!(matches!(
        forbidden_reason(ip("::127.0.0.1")),
        Some(ForbiddenAddress::Ipv4Compatible {
            inner: Some(SpecialUse::Loopback),
            ..
        })
    ));
}

// NAT64, 6to4 and Teredo: the embedded IPv4 address decides.
#[test]
fn c11_nat64_6to4_teredo_classify_the_embedded_ipv4() {
    assert_eq!(
        forbidden_reason(ip("64:ff9b::127.0.0.1")),
        Some(ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::Nat64,
            ipv4: "127.0.0.1".parse().unwrap(),
            inner: SpecialUse::Loopback
        })
    );
    assert_eq!(
        forbidden_reason(ip("64:ff9b::a9fe:a9fe")),
        Some(ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::Nat64,
            ipv4: "169.254.169.254".parse().unwrap(),
            inner: SpecialUse::LinkLocal
        })
    );
    assert_eq!(forbidden_reason(ip("64:ff9b::8.8.8.8")), None);

    // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
    assert_eq!(
        forbidden_reason(ip("2002:c0a8:0101::1")),
        Some(ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::SixToFour,
            ipv4: "192.168.1.1".parse().unwrap(),
            inner: SpecialUse::Private
        })
    );
    assert_eq!(forbidden_reason(ip("2002:0808:0808::1")), None);

    // Teredo: client IPv4 is the bitwise NOT of the last 32 bits. !127.0.0.1 = 128.255.255.254
    // = 80ff:fffe; server 8.8.8.8 = 0808:0808.
    assert_eq!(
        forbidden_reason(ip("2001:0:808:808::80ff:fffe")),
        Some(ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::Teredo,
            ipv4: "127.0.0.1".parse().unwrap(),
            inner: SpecialUse::Loopback
        })
    );
    // Server address special-use (10.0.0.1 = 0a00:0001), client public (!8.8.4.4 = f7f7:fbfb).
    assert!(matches!(
        forbidden_reason(ip("2001:0:a00:1::f7f7:fbfb")),
        Some(ForbiddenAddress::Tunnelled {
            tunnel: Ipv4Tunnel::Teredo,
            inner: SpecialUse::Private,
            ..
        })
    ));
    assert_eq!(forbidden_reason(ip("2001:0:808:808::f7f7:fbfb")), None);
}

// Public addresses pass. Classification only — never connect.
#[test]
fn c11_public_addresses_are_allowed() {
    for a in [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700::1",
        "2a00:1450::1",
        "172.32.0.1",
    ] {
        assert_eq!(forbidden_reason(ip(a)), None, "{a}");
        assert_eq!(check_address(ip(a), AllowLoopback::No), Ok(()), "{a}");
    }
}

// C11 exception: an AS on loopback may fetch from loopback — plain loopback only.
#[test]
fn c11_allow_loopback_admits_only_plain_loopback() {
    for a in ["127.0.0.1", "127.0.0.2", "::1"] {
        assert_eq!(
            check_address(ip(a), AllowLoopback::No),
            Err(ForbiddenAddress::SpecialUse(SpecialUse::Loopback))
        );
        assert_eq!(check_address(ip(a), AllowLoopback::Yes), Ok(()), "{a}");
    }
    for a in [
        "0.0.0.0",
        "::",
        "::ffff:127.0.0.1",
        "64:ff9b::127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "fd00::1",
    ] {
        assert!(check_address(ip(a), AllowLoopback::Yes).is_err(), "{a}");
    }
    assert_eq!(AllowLoopback::default(), AllowLoopback::No);
}

// The url crate normalises odd IPv4 spellings; the classifier then sees loopback.
#[test]
fn c11_odd_url_host_spellings_resolve_to_loopback() {
    for raw in [
        "https://2130706433/",
        "https://127.1/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::1]/",
        "https://127.000.000.001/",
    ] {
        let url = url::Url::parse(raw).unwrap();
        let addr = host_ip(&url).unwrap_or_else(|| panic!("{raw} should have an IP host"));
        let reason = forbidden_reason(addr).unwrap_or_else(|| panic!("{raw} must be forbidden"));
        assert!(reason.is_loopback(), "{raw} -> {addr} -> {reason:?}");
    }
    let zero = url::Url::parse("https://0/").unwrap();
    assert_eq!(
        forbidden_reason(host_ip(&zero).unwrap()),
        Some(ForbiddenAddress::SpecialUse(SpecialUse::Unspecified))
    );
    assert_eq!(
        host_ip(&url::Url::parse("https://a.example/").unwrap()),
        None
    );
}

#[test]
fn c11_forbidden_reason_messages_name_the_rule() {
    let msg = forbidden_reason(ip("169.254.169.254")).unwrap().to_string();
    assert!(msg.contains("C11") && msg.contains("link-local"), "{msg}");
}

// C11 stays closed by default; an operator may open exactly one kind of hole: a private-use or
// unique-local network of a closed federation (e.g. a compose network), named in CIDR form.
#[test]
fn c11_private_network_exception_accepts_only_private_use_and_unique_local_networks() {
    use crossauthz_core::{PrivateNetwork, PrivateNetworkError};
    for ok in [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "172.30.0.0/24",
        "192.168.1.0/24",
        "10.1.2.3/32",
        "fd00:1234::/64",
        "fc00::/7",
    ] {
        assert!(ok.parse::<PrivateNetwork>().is_ok(), "{ok}");
    }
    for refused in [
        "0.0.0.0/0",
        "8.0.0.0/7",
        "10.0.0.0/7",
        "172.16.0.0/11",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "169.254.169.254/32",
        "100.64.0.0/10",
        "192.0.2.0/24",
        "203.0.113.7/32",
        "::1/128",
        "::/0",
        "fe80::/10",
        "fec0::/10",
        "::ffff:10.0.0.0/104",
    ] {
        assert!(
            matches!(
                refused.parse::<PrivateNetwork>(),
                Err(PrivateNetworkError::NotPrivate(_))
            ),
            "{refused}"
        );
    }
    assert!(matches!(
        "172.30.0.0".parse::<PrivateNetwork>(),
        Err(PrivateNetworkError::Syntax(_))
    ));
}

#[test]
fn c11_an_allowed_private_network_admits_its_plain_addresses_and_nothing_else() {
    use crossauthz_core::{AllowLoopback, PrivateNetwork, check_address_allowing};
    use std::net::IpAddr;
    let allowed: Vec<PrivateNetwork> = vec!["172.30.0.0/24".parse().unwrap()];
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(check_address_allowing(ip("172.30.0.7"), AllowLoopback::No, &allowed).is_ok());
    for still_forbidden in [
        "172.30.1.7",        // another private network
        "10.0.0.1",          // another private range
        "::ffff:172.30.0.7", // the mapped form
        "::172.30.0.7",      // the compatible form
        "64:ff9b::ac1e:7",   // NAT64 of 172.30.0.7
        "127.0.0.1",         // loopback without its own exception
        "169.254.169.254",   // cloud metadata
    ] {
        assert!(
            check_address_allowing(ip(still_forbidden), AllowLoopback::No, &allowed).is_err(),
            "{still_forbidden}"
        );
    }
    // Without an exception, private-use stays forbidden (C11).
    assert!(check_address_allowing(ip("172.30.0.7"), AllowLoopback::No, &[]).is_err());
}
