//! Publication: render a list's entries (the one source of truth, read in one snapshot) as the
//! IETF Token Status List claims and the two W3C Bitstring Status List credentials with the
//! credentials library's view, have the issuer sign them, and cache the signed documents per
//! (list, format) keyed by the list version — re-signed when the list changes or half of the
//! signature's lifetime has passed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use crossauthz_credentials::jose::b64url_encode;
use crossauthz_credentials::status::{
    BitstringStatusListCredential, CredentialState, StatusPurpose, StatusRegistryView,
};
use crossauthz_store::{EntryState, ListSnapshot};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::MAX_CAPACITY;
use crate::model::{BitstringPurpose, PublishedFormat, PublishedList};
use crate::{StatusListError, StatusListService};

/// One cache slot per (list, format); its async lock makes concurrent requests for a stale
/// document wait for one signature instead of each asking the issuer.
type Slot = Arc<tokio::sync::Mutex<Option<PublishedList>>>;

/// Signed documents by (list, format).
#[derive(Debug, Default)]
pub(crate) struct PublishCache {
    slots: Mutex<HashMap<(Uuid, PublishedFormat), Slot>>,
}

impl PublishCache {
    fn slot(&self, list_id: Uuid, format: PublishedFormat) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry((list_id, format)).or_default().clone()
    }
}

/// Whether a cached document may still be served for a list at `version` at `now`: same
/// version, and less than half of its lifetime (`signed_at .. expires_at`) has passed.
pub fn is_fresh(cached: &PublishedList, version: i64, now: DateTime<Utc>) -> bool {
    let half = (cached.expires_at - cached.signed_at) / 2;
    cached.version == version && now < cached.signed_at + half && now < cached.expires_at
}

/// The strong validator of a body: `"` base64url(SHA-256(body)) `"`.
pub fn etag_of(body: &str) -> String {
    format!("\"{}\"", b64url_encode(&Sha256::digest(body.as_bytes())))
}

/// The per-index states of a snapshot (index = position), `capacity` long.
pub fn states_of(snapshot: &ListSnapshot) -> Result<Vec<CredentialState>, StatusListError> {
    let capacity = u64::try_from(snapshot.list.capacity)
        .ok()
        .filter(|c| (1..=MAX_CAPACITY).contains(c))
        .and_then(|c| usize::try_from(c).ok())
        .ok_or_else(|| StatusListError::Render("list capacity out of range".into()))?;
    let mut states = vec![CredentialState::Valid; capacity];
    for &(idx, state) in &snapshot.entries {
        let slot = usize::try_from(idx)
            .ok()
            .and_then(|i| states.get_mut(i))
            .ok_or_else(|| StatusListError::Render(format!("entry {idx} outside the list")))?;
        *slot = match state {
            EntryState::Valid => CredentialState::Valid,
            EntryState::Revoked => CredentialState::Revoked,
            EntryState::Suspended => CredentialState::Suspended,
        };
    }
    Ok(states)
}

/// The unsigned payload the issuer signs (`SignStatusList`): for the Token Status List the
/// claims `sub`, `ttl` (seconds) and `status_list {bits: 2, lst}` (T2); for a bitstring the
/// `BitstringStatusListCredential` without `issuer` and validity, `ttl` in milliseconds (B2).
/// The issuer adds `iss`/`issuer`, `iat`, `exp`/`validFrom`/`validUntil`.
pub fn render_payload(
    states: &[CredentialState],
    format: PublishedFormat,
    list_uri: &str,
    ttl_seconds: u64,
    now: DateTime<Utc>,
) -> Value {
    let view = StatusRegistryView::new(states);
    match format {
        PublishedFormat::TokenStatusList => json!({
            "sub": list_uri,
            "ttl": ttl_seconds,
            "status_list": view.token_status_list().to_json(),
        }),
        PublishedFormat::Bitstring(purpose) => {
            let purpose = match purpose {
                BitstringPurpose::Revocation => StatusPurpose::Revocation,
                BitstringPurpose::Suspension => StatusPurpose::Suspension,
            };
            let bits = view.bitstring(&purpose);
            let mut vc =
                BitstringStatusListCredential::new(&format.url(list_uri), "", purpose, &bits, now)
                    .with_ttl_ms(ttl_seconds.saturating_mul(1000))
                    .to_json();
            if let Some(obj) = vc.as_object_mut() {
                for member in ["issuer", "validFrom", "validUntil"] {
                    obj.remove(member);
                }
            }
            vc
        }
    }
}

impl StatusListService {
    /// The signed document of a list in `format`, from the cache when it still renders the
    /// list's current version and is young enough, else rendered and signed now.
    pub async fn published_list(
        &self,
        list_id: Uuid,
        format: PublishedFormat,
    ) -> Result<PublishedList, StatusListError> {
        let list = self
            .inner
            .store
            .get_list(list_id)
            .await?
            .ok_or(StatusListError::ListNotFound)?;
        let slot = self.inner.cache.slot(list_id, format);
        let mut cached = slot.lock().await;
        let now = self.inner.clock.now();
        if let Some(c) = cached.as_ref()
            && is_fresh(c, list.version, now)
        {
            return Ok(c.clone());
        }
        let snapshot = self.inner.store.non_valid_entries(list_id).await?;
        let states = states_of(&snapshot)?;
        let payload = render_payload(
            &states,
            format,
            &self.list_uri(list_id),
            self.inner.config.ttl_seconds,
            now,
        );
        let published = self
            .sign_list(payload, format, snapshot.list.version, now)
            .await?;
        *cached = Some(published.clone());
        Ok(published)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::Duration;
    use crossauthz_credentials::status::{
        Bitstring, MIN_ENTRIES, StatusBits, StatusList, StatusListJson, StatusType,
    };
    use crossauthz_store::StatusList as StoredList;

    fn snapshot(capacity: i64, entries: Vec<(i64, EntryState)>) -> ListSnapshot {
        ListSnapshot {
            list: StoredList {
                id: Uuid::nil(),
                bits: 2,
                capacity,
                created_at: DateTime::<Utc>::default(),
                updated_at: DateTime::<Utc>::default(),
                version: 3,
                full: false,
            },
            entries,
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    // T1/T2: the TSL payload has sub, ttl (seconds) and status_list {bits: 2, lst}; packing is
    // LSB-first, 2 bits per entry (draft -20 §4.1).
    #[test]
    fn t1_t2_token_status_list_payload_is_lsb_first_two_bits() {
        let snap = snapshot(
            131_072,
            vec![(0, EntryState::Revoked), (5, EntryState::Suspended)],
        );
        let states = states_of(&snap).unwrap();
        let payload = render_payload(
            &states,
            PublishedFormat::TokenStatusList,
            "https://a.example/status/l",
            300,
            t(0),
        );
        assert_eq!(payload["sub"], "https://a.example/status/l");
        assert_eq!(payload["ttl"], 300);
        assert!(payload.get("iat").is_none() && payload.get("iss").is_none());
        let list: StatusListJson = serde_json::from_value(payload["status_list"].clone()).unwrap();
        assert_eq!(list.bits, StatusBits::Two);
        let list: StatusList = list.decode().unwrap();
        assert_eq!(list.len(), 131_072);
        // Byte 0 holds indexes 0..4, index 0 in the two least significant bits: 0b00_00_00_01.
        assert_eq!(list.as_bytes()[0], 0b0000_0001);
        // Byte 1 holds indexes 4..8; index 5 = suspended (2) in bits 2..4: 0b00_00_10_00.
        assert_eq!(list.as_bytes()[1], 0b0000_1000);
        assert_eq!(list.status(0).unwrap(), StatusType::Invalid);
        assert_eq!(list.status(5).unwrap(), StatusType::Suspended);
        assert_eq!(list.status(1).unwrap(), StatusType::Valid);
    }

    // B2: one credential per purpose, MSB-first, GZIP, `u` multibase, ttl in milliseconds, at
    // least 131,072 entries; the issuer sets issuer and validity.
    #[test]
    fn b2_bitstring_payloads_per_purpose_are_msb_first_and_long_enough() {
        let snap = snapshot(
            16,
            vec![(0, EntryState::Revoked), (9, EntryState::Suspended)],
        );
        let states = states_of(&snap).unwrap();
        let uri = "https://a.example/status/l";
        for (purpose, set, id) in [
            (BitstringPurpose::Revocation, 0u64, uri.to_owned()),
            (
                BitstringPurpose::Suspension,
                9u64,
                format!("{uri}/suspension"),
            ),
        ] {
            let vc = render_payload(&states, PublishedFormat::Bitstring(purpose), uri, 300, t(0));
            assert_eq!(vc["id"], id.as_str());
            for absent in ["issuer", "validFrom", "validUntil"] {
                assert!(vc.get(absent).is_none(), "{absent}");
            }
            let subject = &vc["credentialSubject"];
            assert_eq!(subject["statusPurpose"], purpose.as_str());
            assert_eq!(subject["ttl"], 300_000);
            let encoded = subject["encodedList"].as_str().unwrap();
            assert!(encoded.starts_with('u'));
            let bits = Bitstring::decode(encoded).unwrap();
            assert!(bits.len_bits() >= MIN_ENTRIES);
            for i in 0..16u64 {
                assert_eq!(bits.get_bit(i).unwrap(), i == set, "{purpose:?} {i}");
            }
            // Index 0 is the left-most (most significant) bit of byte 0; index 9 is bit 6
            // (value 0x40) of byte 1.
            let expected = if set == 0 { (0, 0x80) } else { (1, 0x40) };
            assert_eq!(bits.as_bytes()[expected.0], expected.1);
        }
    }

    #[test]
    fn states_outside_the_list_or_absurd_capacities_are_render_errors() {
        let e = states_of(&snapshot(8, vec![(8, EntryState::Revoked)])).unwrap_err();
        assert!(matches!(e, StatusListError::Render(_)));
        let e = states_of(&snapshot(-1, vec![])).unwrap_err();
        assert!(matches!(e, StatusListError::Render(_)));
        let e = states_of(&snapshot(i64::MAX, vec![])).unwrap_err();
        assert!(matches!(e, StatusListError::Render(_)));
    }

    fn published(version: i64, signed_at: DateTime<Utc>, lifetime: i64) -> PublishedList {
        PublishedList {
            media_type: "application/statuslist+jwt",
            body: "a.b.c".into(),
            etag: etag_of("a.b.c"),
            ttl_seconds: 300,
            expires_at: signed_at + Duration::seconds(lifetime),
            version,
            signed_at,
        }
    }

    // Re-sign when the version changes or half of the lifetime has passed.
    #[test]
    fn cached_list_is_fresh_until_version_change_or_half_lifetime() {
        let c = published(3, t(0), 1000);
        assert!(is_fresh(&c, 3, t(0)));
        assert!(is_fresh(&c, 3, t(499)));
        assert!(!is_fresh(&c, 3, t(500)));
        assert!(!is_fresh(&c, 4, t(1)));
    }

    proptest::proptest! {
        // Whatever the database holds (any capacity, any indexes), rendering yields the states
        // or a `Render` error, never a panic or a huge allocation.
        #[test]
        fn rendering_any_snapshot_never_panics(
            capacity in proptest::prop_oneof![proptest::prelude::any::<i64>(), -5i64..200_000],
            idxs in proptest::collection::vec(proptest::prelude::any::<i64>(), 0..8),
            small in proptest::collection::vec(0i64..300_000, 0..8),
        ) {
            let entries = idxs
                .into_iter()
                .chain(small)
                .map(|i| (i, EntryState::Revoked))
                .collect();
            match states_of(&snapshot(capacity, entries)) {
                Ok(states) => proptest::prop_assert_eq!(states.len() as i64, capacity),
                Err(e) => proptest::prop_assert!(matches!(e, StatusListError::Render(_))),
            }
        }
    }

    #[test]
    fn etag_is_a_quoted_strong_validator_that_tracks_the_body() {
        let a = etag_of("a.b.c");
        assert!(a.starts_with('"') && a.ends_with('"') && !a.starts_with("W/"));
        assert_eq!(a, etag_of("a.b.c"));
        assert_ne!(a, etag_of("a.b.d"));
        assert_eq!(a.len(), 2 + 43);
    }
}
