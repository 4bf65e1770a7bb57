//! The entry lifecycle: valid → revoked | suspended, suspended → valid | revoked, revoked final
//! (B4). A change is committed by the store (with the list version bump, in one transaction)
//! before it is acknowledged, then recorded in the audit log.

use crossauthz_store::{EntryState, NewAuditEvent, StatusEntry};
use uuid::Uuid;

use crate::model::{Actor, EntryStatus};
use crate::{StatusListError, StatusListService};

/// How often an audit append is tried before the failure is logged.
const AUDIT_ATTEMPTS: u32 = 3;

impl StatusListService {
    /// Changes the state of an allocated entry. Refusals (`InvalidTransition`, `EntryNotFound`,
    /// `ListNotFound`, `IndexOutOfRange`) change nothing.
    pub async fn set_status(
        &self,
        list_id: Uuid,
        index: u64,
        new: EntryState,
        actor: &Actor,
    ) -> Result<EntryStatus, StatusListError> {
        let idx = self.index_in_range(list_id, index).await?;
        let now = self.inner.clock.now();
        let entry = self.inner.store.set_state(list_id, idx, new, now).await?;
        // The change is committed; the audit event follows (the audit log is a separate store).
        let kind = match new {
            EntryState::Revoked => "credential.revoked",
            EntryState::Suspended => "credential.suspended",
            EntryState::Valid => "credential.unsuspended",
        };
        let mut event = NewAuditEvent::new(now, crate::AUDIT_SERVICE, kind);
        event.actor = actor.subject.clone();
        event.reason = actor.reason.clone();
        event.credential_id = entry.credential_id.map(|c| c.to_string());
        event.details = serde_json::json!({
            "list_id": list_id.to_string(),
            "index": idx,
            "status": new.as_str(),
        });
        self.record(event).await;
        Ok(self.entry_status(entry))
    }

    /// The state of an allocated entry.
    pub async fn get_status(
        &self,
        list_id: Uuid,
        index: u64,
    ) -> Result<EntryStatus, StatusListError> {
        let idx = self.index_in_range(list_id, index).await?;
        let entry = self
            .inner
            .store
            .get_entry(list_id, idx)
            .await?
            .ok_or(StatusListError::EntryNotFound)?;
        Ok(self.entry_status(entry))
    }

    /// Checks that the list exists and `index` is inside it (T5), as an `i64`.
    async fn index_in_range(&self, list_id: Uuid, index: u64) -> Result<i64, StatusListError> {
        let list = self
            .inner
            .store
            .get_list(list_id)
            .await?
            .ok_or(StatusListError::ListNotFound)?;
        let capacity = u64::try_from(list.capacity).unwrap_or(0);
        if index >= capacity {
            return Err(StatusListError::IndexOutOfRange { index, capacity });
        }
        i64::try_from(index).map_err(|_| StatusListError::IndexOutOfRange { index, capacity })
    }

    fn entry_status(&self, entry: StatusEntry) -> EntryStatus {
        EntryStatus {
            reference: self.reference(entry.list_id, entry.idx),
            state: entry.state,
            updated_at: entry.updated_at,
            credential_id: entry.credential_id,
        }
    }

    /// Appends an audit event, retrying a few times. The state change it records is already
    /// committed, so a persistent audit failure is logged (without secrets) rather than turned
    /// into an error that would make the caller believe the change did not happen.
    pub(crate) async fn record(&self, event: NewAuditEvent) {
        let mut last = None;
        for attempt in 0..AUDIT_ATTEMPTS {
            match self.inner.audit.append(event.clone()).await {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, kind = %event.kind, "audit append failed");
                    last = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        tracing::error!(
            error = ?last,
            kind = %event.kind,
            credential_id = ?event.credential_id,
            details = %event.details,
            "audit event lost after retries; the state change itself is committed"
        );
    }
}
