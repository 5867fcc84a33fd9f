//! Reading the audit trail (see [`crate::model::AuditEntry`] for what it keeps; the entries
//! are written with every change by the service's write path).
//!
//! An entry is shown under the same rules as its record: entries about another author's
//! private note are never shown, whether the note was private when the change was made
//! (the entry is stored as the author's only) or was made private later (the entries
//! about it are hidden while it is, so an earlier public body does not show its current
//! text through the trail).

use std::any::Any;
use std::collections::HashSet;

use crate::error::{CrmError, Result};
use crate::id::{Actor, NoteId, UserId};
use crate::model::{AuditEntry, AuditEntryFilter, Note};
use crate::store::{CrmStore, Entity, EntityKind, EntityRead, EntityRef, ListQuery, Page};

use super::Crm;

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Drops from `items`, when they are audit entries, those about a note that is now
    /// private to another user than the actor. Every read path of the service runs it
    /// after [`super::redact`], which already drops entries stored as another's only.
    // A `Vec`, not a slice: it is downcast to `Vec<AuditEntry>` and shortened.
    #[allow(clippy::ptr_arg)]
    pub(crate) async fn hide_audit_of_hidden_notes<E: Entity>(
        &self,
        actor: &Actor,
        items: &mut Vec<E>,
    ) -> Result<()> {
        let Some(entries) = (items as &mut dyn Any).downcast_mut::<Vec<AuditEntry>>() else {
            return Ok(());
        };
        let notes: Vec<NoteId> = entries
            .iter()
            .filter(|e| e.record.kind == EntityKind::Note)
            .map(|e| NoteId::from_uuid(e.record.id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if notes.is_empty() {
            return Ok(());
        }
        let found = EntityRead::<Note>::get_many(self.store(), actor.tenant, &notes).await?;
        let mut hidden: HashSet<uuid::Uuid> = found
            .iter()
            .filter(|n| !n.visible_to(actor.user))
            .map(|n| n.id.as_uuid())
            .collect();
        // A deleted note is hidden as it was when deleted: its delete's entry says whose
        // it was (a note made private and then deleted keeps its earlier entries hidden).
        let present: HashSet<uuid::Uuid> = found.iter().map(|n| n.id.as_uuid()).collect();
        for id in notes
            .iter()
            .map(NoteId::as_uuid)
            .filter(|id| !present.contains(id))
        {
            let deleted = ListQuery::<AuditEntry>::filter(AuditEntryFilter {
                record: Some(EntityRef::new(EntityKind::Note, id)),
                operation: Some(crate::model::AuditOperation::Deleted),
                ..AuditEntryFilter::default()
            })
            .limit(1);
            let page = EntityRead::<AuditEntry>::list(self.store(), actor.tenant, &deleted).await?;
            if page.items.iter().any(|e| !e.visible_to(actor.user)) {
                hidden.insert(id);
            }
        }
        entries.retain(|e| !(e.record.kind == EntityKind::Note && hidden.contains(&e.record.id)));
        Ok(())
    }
}

super::handle!(
    /// The audit trail: entries per record, per actor, paged.
    Audit, audit
);

impl<S: CrmStore + ?Sized> Audit<'_, S> {
    /// A page of the audit trail of the actor's tenant, oldest first by default (sort and
    /// direction as the query says); `query.filter` selects by record
    /// ([`AuditEntryFilter::of`]), actor ([`AuditEntryFilter::by`]), kind, operation and
    /// time. Entries the actor may not read are left out and read past, so a page is short
    /// only at the end: `next` is `None` when nothing follows (when only hidden entries
    /// follow a full page, `next` is set and the page after it is empty).
    #[tracing::instrument(name = "audit.trail", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn trail(
        self,
        actor: &Actor,
        mut query: ListQuery<AuditEntry>,
    ) -> Result<Page<AuditEntry>> {
        let wanted = query.limit as usize;
        let mut items = Vec::new();
        loop {
            let page = self.crm.list(actor, query.clone()).await?;
            items.extend(page.items);
            match page.next {
                Some(next) if items.len() < wanted => query.after = Some(next),
                next => {
                    // A page that read past hidden entries may hold more than asked for:
                    // cut it and continue after the last one shown.
                    let next = if items.len() > wanted {
                        items.truncate(wanted);
                        items.last().map(|last| query.cursor_for(last))
                    } else {
                        next
                    };
                    return Ok(Page { items, next });
                }
            }
        }
    }

    /// The audit trail of one record, oldest first, every page followed.
    #[tracing::instrument(name = "audit.of", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn of(self, actor: &Actor, record: EntityRef) -> Result<Vec<AuditEntry>> {
        if record.kind == EntityKind::AuditEntry {
            return Err(CrmError::validation(
                "record",
                "audit entries are not themselves audited",
            ));
        }
        self.crm.list_all(actor, AuditEntryFilter::of(record)).await
    }

    /// One page of the changes `user` made, oldest first.
    #[tracing::instrument(name = "audit.by", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn by(
        self,
        actor: &Actor,
        user: UserId,
        query: ListQuery<AuditEntry>,
    ) -> Result<Page<AuditEntry>> {
        let mut query = query;
        query.filter.actor = Some(user);
        self.crm.audit().trail(actor, query).await
    }
}
