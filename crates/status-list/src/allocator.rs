//! Entry allocation: a uniformly random index (OS CSPRNG) in the open list, claimed with the
//! store's race-safe `try_allocate` (never handed out twice, never freed — so a crash between
//! allocation and issuance wastes one index and never reuses it), retried on collision; and the
//! rollover to a new list once the open one reaches its fill threshold, serialised so that
//! concurrent allocations open one new list, not a storm of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crossauthz_store::{NewAuditEvent, StatusList};
use rand::Rng;
use rand::rngs::OsRng;
use uuid::Uuid;

use crate::model::StatusReference;
use crate::{StatusListError, StatusListService};

/// Bits per entry of the lists we create: 2, so suspension fits (T1, T3).
pub const LIST_BITS: u8 = 2;

/// The list allocations currently go to, with a local estimate of its allocated count.
#[derive(Debug)]
pub(crate) struct OpenList {
    id: Uuid,
    capacity: i64,
    threshold: i64,
    /// Allocations known to this instance (seeded from the store, refreshed periodically).
    allocated: AtomicI64,
    /// Reservations between two refreshes from the store.
    refresh_every: i64,
}

/// Lists tried by one allocation before it gives up (each failed round means the list it tried
/// filled up and a newer one was opened, by this or a concurrent allocation).
const MAX_ROUNDS: u32 = 64;

impl StatusListService {
    /// Allocates a fresh entry for `credential_id` (when known) at a random index of the open
    /// list, opening a new list when the open one is full.
    ///
    /// Each allocation first reserves a place under the open list's fill threshold (a local
    /// counter, seeded from the store when the list is loaded and refreshed from it every few
    /// reservations, since other instances allocate too), so concurrency cannot overfill a
    /// list; the caller that finds the list at its threshold rolls over to the next list.
    pub async fn allocate(
        &self,
        credential_id: Option<Uuid>,
    ) -> Result<StatusReference, StatusListError> {
        for _ in 0..MAX_ROUNDS {
            let list = self.open_list().await?;
            let mut reserved = list.allocated.fetch_add(1, Ordering::SeqCst) + 1;
            if reserved % list.refresh_every == 0 {
                match self.refresh(&list, reserved).await {
                    Ok(r) => reserved = r,
                    Err(e) => {
                        list.allocated.fetch_sub(1, Ordering::SeqCst);
                        return Err(e);
                    }
                }
            }
            if reserved > list.threshold {
                list.allocated.fetch_sub(1, Ordering::SeqCst);
                self.roll_over(&list).await?;
                continue;
            }
            match self.claim(&list, credential_id).await {
                Ok(Some(idx)) => {
                    let reference = self.reference(list.id, idx);
                    if self.inner.config.audit_allocations {
                        let mut event = NewAuditEvent::new(
                            self.inner.clock.now(),
                            crate::AUDIT_SERVICE,
                            "status.allocated",
                        );
                        event.credential_id = credential_id.map(|c| c.to_string());
                        event.details = serde_json::json!({
                            "list_id": list.id.to_string(),
                            "index": idx,
                        });
                        self.record(event).await;
                    }
                    return Ok(reference);
                }
                Ok(None) => {
                    // Fuller than this instance knows (other instances allocate too).
                    tracing::info!(list = %list.id, "no free index found; rolling over");
                    self.roll_over(&list).await?;
                }
                Err(e) => {
                    list.allocated.fetch_sub(1, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Err(StatusListError::AllocationExhausted)
    }

    /// Other instances allocate from the same list and may have marked it full: every
    /// `refresh_every` reservations, re-read its count and flag from the store. Returns the
    /// reservation as it now counts (past the threshold when the list is full elsewhere).
    async fn refresh(&self, list: &OpenList, reserved: i64) -> Result<i64, StatusListError> {
        let stored = self.inner.store.get_list(list.id).await?;
        if stored.is_some_and(|l| l.full) {
            // Marked full by another instance (this one would have moved on to a new list): a
            // reservation made here before this instance's own rollover stays valid.
            let current = self.inner.open.lock().await;
            if current.as_ref().is_some_and(|c| c.id == list.id) {
                return Ok(i64::MAX);
            }
        }
        let count = self.inner.store.allocated_count(list.id).await?;
        // The store counts every instance's committed allocations; this instance's counter
        // counts its own reservations. Later reservations start from the fuller view; this one
        // counts as at least one past what is committed.
        list.allocated.fetch_max(count + 1, Ordering::SeqCst);
        Ok(reserved.max(count + 1))
    }

    /// Tries random indexes of `list` until the store grants one; `None` after
    /// `max_allocation_attempts` collisions.
    async fn claim(
        &self,
        list: &OpenList,
        credential_id: Option<Uuid>,
    ) -> Result<Option<i64>, StatusListError> {
        for _ in 0..self.inner.config.max_allocation_attempts {
            let idx = OsRng.gen_range(0..list.capacity);
            let now = self.inner.clock.now();
            if self
                .inner
                .store
                .try_allocate(list.id, idx, credential_id, now)
                .await?
            {
                return Ok(Some(idx));
            }
        }
        Ok(None)
    }

    /// The reference of `idx` in `list_id`.
    pub(crate) fn reference(&self, list_id: Uuid, idx: i64) -> StatusReference {
        StatusReference {
            list_id,
            index: u64::try_from(idx).unwrap_or_default(),
            uri: self.list_uri(list_id),
        }
    }

    /// `<public_url>/status/<list_id>`.
    pub fn list_uri(&self, list_id: Uuid) -> String {
        format!("{}/status/{}", self.inner.base_url, list_id)
    }

    /// The open list, loaded from the store (or created) on first use. A loaded list that is
    /// already at its threshold is rolled over by the first allocation that reserves in it.
    async fn open_list(&self) -> Result<Arc<OpenList>, StatusListError> {
        let mut current = self.inner.open.lock().await;
        if let Some(list) = current.as_ref() {
            return Ok(list.clone());
        }
        let list = match self.inner.store.open_list().await? {
            Some(list) => self.track(&list).await?,
            None => self.create_list().await?,
        };
        *current = Some(list.clone());
        Ok(list)
    }

    /// Tracks an existing list, counting its allocations in the store.
    async fn track(&self, list: &StatusList) -> Result<Arc<OpenList>, StatusListError> {
        let allocated = self.inner.store.allocated_count(list.id).await?;
        let threshold = self.inner.config.fill_threshold(list.capacity);
        Ok(Arc::new(OpenList {
            id: list.id,
            capacity: list.capacity,
            threshold,
            allocated: AtomicI64::new(allocated),
            refresh_every: (threshold / 8).clamp(1, 256),
        }))
    }

    /// Creates a new list of the configured capacity and records it.
    async fn create_list(&self) -> Result<Arc<OpenList>, StatusListError> {
        let now = self.inner.clock.now();
        let capacity = i64::try_from(self.inner.config.capacity)
            .map_err(|_| StatusListError::Render("capacity does not fit i64".into()))?;
        let list = self
            .inner
            .store
            .create_list(capacity, LIST_BITS, now)
            .await?;
        let mut event = NewAuditEvent::new(now, crate::AUDIT_SERVICE, "status_list.created");
        event.details = serde_json::json!({
            "list_id": list.id.to_string(),
            "capacity": list.capacity,
            "bits": list.bits,
        });
        self.record(event).await;
        tracing::info!(list = %list.id, capacity = list.capacity, "opened a new status list");
        self.track(&list).await
    }

    /// Marks `full` as full and makes the next list the open one — unless a concurrent
    /// allocation already did (the lock serialises rollovers, and a caller that waited finds
    /// the new list open and returns), so concurrent allocations open one list, not a storm.
    async fn roll_over(&self, full: &OpenList) -> Result<(), StatusListError> {
        let mut current = self.inner.open.lock().await;
        if current.as_ref().is_some_and(|c| c.id != full.id) {
            return Ok(());
        }
        let already_full = self
            .inner
            .store
            .get_list(full.id)
            .await?
            .is_some_and(|l| l.full);
        if !already_full {
            self.inner.store.mark_full(full.id).await?;
            let now = self.inner.clock.now();
            let mut event = NewAuditEvent::new(now, crate::AUDIT_SERVICE, "status_list.full");
            event.details = serde_json::json!({
                "list_id": full.id.to_string(),
                "allocated": full.allocated.load(Ordering::SeqCst),
                "capacity": full.capacity,
            });
            self.record(event).await;
        }
        // Another instance may have opened a list already: use it rather than open one more.
        let next = match self.inner.store.open_list().await? {
            Some(list) if list.id != full.id => self.track(&list).await?,
            _ => self.create_list().await?,
        };
        *current = Some(next);
        Ok(())
    }
}
