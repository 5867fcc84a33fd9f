//! The outbox: the domain and record events of the tenant, in commit order.
//!
//! Reached through [`Crm::events`].

use crate::error::{CrmError, Result};
use crate::id::*;
use crate::store::*;

use super::*;

super::handle!(
    /// The outbox: the domain and record events of the tenant, in commit order.
    Events, events
);

impl<S: CrmStore + ?Sized> Events<'_, S> {
    /// Up to `limit` (1..=1000) events of the actor's tenant after sequence number `after`,
    /// oldest first. Delivery is at-least-once: a host stores the last `seq` it handled
    /// and passes it as `after` next time; events of one tenant are numbered 1, 2, 3, ...
    /// in commit order with no gaps. Every write through the service appends a
    /// [`DomainEvent::RecordCreated`] / [`DomainEvent::RecordUpdated`] (naming the changed
    /// fields) / [`DomainEvent::RecordDeleted`] per row besides its domain events. Events
    /// about another author's private note are left out (the numbers the actor sees then
    /// skip them); a page full of such events is read past, so an empty result always
    /// means the end.
    #[tracing::instrument(name = "events.drain", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn drain(self, actor: &Actor, after: u64, limit: u32) -> Result<Vec<StoredEvent>> {
        if limit == 0 || limit > crate::store::MAX_PAGE_SIZE {
            return Err(CrmError::validation(
                "limit",
                format!("{limit} is outside 1..={}", crate::store::MAX_PAGE_SIZE),
            ));
        }
        // Events about a private note are the author's only. Read on past them, so a full
        // page of hidden events never looks like the end of the outbox.
        let mut out = Vec::new();
        let mut after = after;
        loop {
            let batch = self
                .crm
                .store
                .events_after(actor.tenant, after, limit)
                .await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                return Ok(out);
            };
            for e in batch {
                if e.event.event.visible_to(actor.user) {
                    out.push(e);
                    if out.len() == limit as usize {
                        return Ok(out);
                    }
                }
            }
            after = last;
        }
    }
}
