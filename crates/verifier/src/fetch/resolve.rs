//! The SSRF address guard (C11, CIMD §6.5): a `reqwest` DNS resolver that drops every address
//! the policy forbids, the check of IP-literal hosts before connecting, and the check of the
//! address actually connected to (against DNS rebinding).
//!
//! The classification itself is `crossauthz_core::net::check_address`; this module applies it
//! at the three points where an address enters the HTTP stack.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use std::sync::Arc;

use crossauthz_core::{AllowLoopback, PrivateNetwork, check_address_allowing};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::error::{AddressRefusal, AddressStage, FetchError};

/// The resolver's refusal, carried through reqwest's error chain and recovered by
/// [`from_error_chain`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ResolveRefused(pub(crate) FetchError);

/// Finds a [`ResolveRefused`] in an error's source chain.
pub(crate) fn from_error_chain(error: &(dyn std::error::Error + 'static)) -> Option<FetchError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<ResolveRefused>() {
            return Some(refused.0.clone());
        }
        current = e.source();
    }
    None
}

/// What a fetch may connect to beyond public addresses: the C11 exceptions, all opt-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Loopback (development only).
    pub loopback: AllowLoopback,
    /// Private networks of a closed federation the operator named.
    pub private_networks: Arc<[PrivateNetwork]>,
}

impl From<AllowLoopback> for AddressPolicy {
    fn from(loopback: AllowLoopback) -> Self {
        Self {
            loopback,
            private_networks: Arc::new([]),
        }
    }
}

/// Checks one address under `policy`, as a [`FetchError::ForbiddenAddress`] at `stage`.
pub fn check(ip: IpAddr, policy: &AddressPolicy, stage: AddressStage) -> Result<(), FetchError> {
    check_address_allowing(ip, policy.loopback, &policy.private_networks).map_err(|reason| {
        FetchError::ForbiddenAddress {
            addr: ip,
            reason: AddressRefusal::SpecialUse(reason),
            stage,
        }
    })
}

/// The post-connect check: the peer the response came from must be known and allowed (C11;
/// defeats DNS rebinding and any path that bypassed the resolver).
pub fn check_peer(
    peer: Option<SocketAddr>,
    policy: &AddressPolicy,
) -> Result<SocketAddr, FetchError> {
    let Some(peer) = peer else {
        return Err(FetchError::ForbiddenAddress {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            reason: AddressRefusal::UnknownPeer,
            stage: AddressStage::Connected,
        });
    };
    // A v4 peer reported as v6-mapped by a dual-stack socket is classified as the v6 form, which
    // core forbids as such: fail closed rather than unwrap it.
    check(peer.ip(), policy, AddressStage::Connected)?;
    Ok(peer)
}

/// True for `localhost` and `*.localhost` (RFC 6761 §6.3), with or without a trailing dot.
fn is_localhost_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// The guarded resolver handed to reqwest.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    /// Lower-case host (no trailing dot) → addresses.
    pub(crate) overrides: HashMap<String, Vec<SocketAddr>>,
    pub(crate) localhost_names: bool,
    pub(crate) system: bool,
    pub(crate) policy: AddressPolicy,
}

impl GuardedResolver {
    /// Normalises an override key the way host names arrive from the URL parser.
    pub(crate) fn normalise(host: &str) -> String {
        host.trim_end_matches('.').to_ascii_lowercase()
    }

    /// Resolves `host` and keeps only the addresses the policy allows.
    pub(crate) async fn resolve_host(&self, host: &str) -> Result<Vec<SocketAddr>, FetchError> {
        let host = Self::normalise(host);
        let candidates: Vec<SocketAddr> = if let Some(found) = self.overrides.get(&host) {
            found.clone()
        } else if self.localhost_names && is_localhost_name(&host) {
            vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
            ]
        } else if self.system {
            tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| FetchError::Dns(format!("{host}: {e}")))?
                .collect()
        } else {
            return Err(FetchError::Dns(format!(
                "{host}: not in the resolver overrides and the system resolver is off"
            )));
        };
        if candidates.is_empty() {
            return Err(FetchError::Dns(format!("{host}: no address")));
        }
        let mut first_refusal = None;
        let mut allowed = Vec::with_capacity(candidates.len());
        for addr in candidates {
            match check(addr.ip(), &self.policy, AddressStage::Resolved) {
                Ok(()) => allowed.push(addr),
                Err(refusal) => {
                    tracing::warn!(%host, addr = %addr.ip(), "resolved address refused (C11)");
                    first_refusal.get_or_insert(refusal);
                }
            }
        }
        match (allowed.is_empty(), first_refusal) {
            (true, Some(refusal)) => Err(refusal),
            (true, None) => Err(FetchError::Dns(format!("{host}: no address"))),
            (false, _) => Ok(allowed),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match this.resolve_host(&host).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(e) => {
                    Err(Box::new(ResolveRefused(e)) as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crossauthz_core::ForbiddenAddress as Why;
    use crossauthz_core::net::SpecialUse;

    fn resolver(policy: AllowLoopback) -> GuardedResolver {
        let mut overrides = HashMap::new();
        overrides.insert(
            "mixed.test".to_owned(),
            vec![
                "10.0.0.1:0".parse().unwrap(),
                "127.0.0.1:443".parse().unwrap(),
            ],
        );
        overrides.insert(
            "private.test".to_owned(),
            vec![
                "169.254.169.254:0".parse().unwrap(),
                "192.168.1.1:0".parse().unwrap(),
            ],
        );
        overrides.insert("empty.test".to_owned(), vec![]);
        GuardedResolver {
            overrides,
            localhost_names: true,
            system: false,
            policy: policy.into(),
        }
    }

    // C11's operator exception: with 192.168.1.0/24 named, that network's address is kept and
    // the metadata address beside it still refused; without it, the name is refused.
    #[tokio::test]
    async fn c11_a_named_private_network_is_resolved_and_nothing_else() {
        let mut r = resolver(AllowLoopback::No);
        r.policy.private_networks = vec!["192.168.1.0/24".parse().unwrap()].into();
        let addrs = r.resolve_host("private.test").await.unwrap();
        assert_eq!(addrs, vec!["192.168.1.1:0".parse::<SocketAddr>().unwrap()]);
        let err = r.resolve_host("mixed.test").await.unwrap_err();
        assert!(
            matches!(err, FetchError::ForbiddenAddress { .. }),
            "{err:?}"
        );
        let err = resolver(AllowLoopback::No)
            .resolve_host("private.test")
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::ForbiddenAddress { .. }),
            "{err:?}"
        );
        // The post-connect check applies the same exception.
        let peer: SocketAddr = "192.168.1.1:443".parse().unwrap();
        assert!(check_peer(Some(peer), &r.policy).is_ok());
        assert!(check_peer(Some(peer), &AllowLoopback::No.into()).is_err());
    }

    // C11 (CIMD §6.5): a name whose every address is special-use is refused, none connected to.
    // No connection is made here: the addresses are only classified.
    #[tokio::test]
    async fn c11_resolver_refuses_private_and_metadata_addresses() {
        let r = resolver(AllowLoopback::Yes);
        let err = r.resolve_host("private.test").await.unwrap_err();
        assert!(matches!(
            err,
            FetchError::ForbiddenAddress {
                reason: AddressRefusal::SpecialUse(Why::SpecialUse(SpecialUse::LinkLocal)),
                stage: AddressStage::Resolved,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn c11_resolver_drops_forbidden_addresses_and_keeps_the_rest() {
        let r = resolver(AllowLoopback::Yes);
        let addrs = r.resolve_host("Mixed.Test.").await.unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:443".parse::<SocketAddr>().unwrap()]);
        let r = resolver(AllowLoopback::No);
        assert!(matches!(
            r.resolve_host("mixed.test").await,
            Err(FetchError::ForbiddenAddress {
                reason: AddressRefusal::SpecialUse(Why::SpecialUse(SpecialUse::Private)),
                ..
            })
        ));
    }

    #[tokio::test]
    async fn rfc6761_localhost_names_are_loopback_and_need_allow_loopback() {
        let r = resolver(AllowLoopback::Yes);
        let addrs = r.resolve_host("alpha.localhost").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
        let r = resolver(AllowLoopback::No);
        assert!(matches!(
            r.resolve_host("alpha.localhost").await,
            Err(FetchError::ForbiddenAddress {
                stage: AddressStage::Resolved,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn unknown_names_fail_without_the_system_resolver() {
        let r = resolver(AllowLoopback::Yes);
        assert!(matches!(
            r.resolve_host("nowhere.test").await,
            Err(FetchError::Dns(_))
        ));
        assert!(matches!(
            r.resolve_host("empty.test").await,
            Err(FetchError::Dns(_))
        ));
    }

    // C11: the post-connect check (DNS rebinding) refuses a special-use or unknown peer.
    #[test]
    fn c11_post_connect_check_refuses_special_use_and_unknown_peers() {
        let loopback: SocketAddr = "127.0.0.1:443".parse().unwrap();
        assert!(matches!(
            check_peer(Some(loopback), &AllowLoopback::No.into()),
            Err(FetchError::ForbiddenAddress {
                stage: AddressStage::Connected,
                reason: AddressRefusal::SpecialUse(Why::SpecialUse(SpecialUse::Loopback)),
                ..
            })
        ));
        assert_eq!(
            check_peer(Some(loopback), &AllowLoopback::Yes.into()).unwrap(),
            loopback
        );
        for bad in [
            "10.1.2.3:443",
            "169.254.169.254:80",
            "[fd00::1]:443",
            "[::ffff:127.0.0.1]:443",
        ] {
            let addr: SocketAddr = bad.parse().unwrap();
            assert!(
                matches!(
                    check_peer(Some(addr), &AllowLoopback::Yes.into()),
                    Err(FetchError::ForbiddenAddress {
                        stage: AddressStage::Connected,
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            check_peer(None, &AllowLoopback::Yes.into()),
            Err(FetchError::ForbiddenAddress {
                reason: AddressRefusal::UnknownPeer,
                ..
            })
        ));
        let public: SocketAddr = "93.184.215.14:443".parse().unwrap();
        assert!(check_peer(Some(public), &AllowLoopback::No.into()).is_ok());
    }

    #[test]
    fn resolver_refusal_is_found_through_an_error_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] Box<dyn std::error::Error + Send + Sync>);
        let inner = ResolveRefused(FetchError::Timeout);
        let outer = Outer(Box::new(inner));
        assert_eq!(from_error_chain(&outer), Some(FetchError::Timeout));
        let plain = std::io::Error::other("x");
        assert_eq!(from_error_chain(&plain), None);
    }
}
