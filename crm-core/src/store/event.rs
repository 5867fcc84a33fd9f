//! Domain events and the outbox.
//!
//! Every state change of the service appends a [`DomainEvent`] to the tenant's outbox in
//! the same change set as the change itself, so an event exists exactly when its change
//! was committed. Stores number each tenant's events with a gap-free sequence in commit
//! order; hosts drain them with [`crate::Events::drain`] (at-least-once: a host
//! remembers the last sequence it handled and asks for what follows).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::EntityRef;
use crate::error::{CrmError, Result};
use crate::id::{
    ActivityId, ContactId, CustomerId, DealId, FollowUpId, InteractionId, LeadId, MergeId, StageId,
    TenantId, UserId,
};
use crate::model::LeadStatus;
use crate::money::Money;

/// What an external system reports about a deal (fed back by the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalEventKind {
    /// A quote was sent.
    QuoteSent,
    /// An order was created.
    OrderCreated,
    /// The order was fulfilled.
    OrderFulfilled,
    /// The invoice was paid.
    InvoicePaid,
}

impl ExternalEventKind {
    /// Every kind, in declaration order.
    pub const ALL: [ExternalEventKind; 4] = [
        Self::QuoteSent,
        Self::OrderCreated,
        Self::OrderFulfilled,
        Self::InvoicePaid,
    ];
}

/// A state change, as recorded in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainEvent {
    /// A record of any kind was created through the service (one per inserted row, in the
    /// same change set): with [`DomainEvent::RecordUpdated`] and
    /// [`DomainEvent::RecordDeleted`] what a host needs to keep its own copy of the master
    /// data in sync from the outbox alone.
    RecordCreated {
        /// The record.
        record: EntityRef,
        /// The only user who may see the record (the author of a private note), if any:
        /// [`crate::Events::drain`] leaves the event out for everyone else.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_to: Option<UserId>,
    },
    /// A record was updated through the service; `fields` names its changed top-level
    /// fields (their serde names, e.g. `name`, `custom_fields`; `version` and `updated_at`
    /// left out), sorted.
    RecordUpdated {
        /// The record.
        record: EntityRef,
        /// The fields that changed.
        fields: Vec<String>,
        /// As for [`DomainEvent::RecordCreated`] (private before or after the update).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_to: Option<UserId>,
    },
    /// A record was deleted through the service (a cascade emits one per row).
    RecordDeleted {
        /// The record.
        record: EntityRef,
        /// As for [`DomainEvent::RecordCreated`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_to: Option<UserId>,
    },
    /// A deal was created in a stage.
    DealCreated {
        /// The deal.
        deal: DealId,
        /// Its first stage.
        stage: StageId,
    },
    /// A deal moved to another stage: an open deal to another open stage or pipeline, or
    /// any deal whose stage was removed ([`crate::Pipelines::remove_stage`]) or whose pipeline
    /// was deleted ([`crate::Pipelines::delete`]).
    DealStageChanged {
        /// The deal.
        deal: DealId,
        /// Stage before.
        from: StageId,
        /// Stage after.
        to: StageId,
    },
    /// An open deal's win probability followed its stage's new probability
    /// ([`crate::Pipelines::update_stage`]).
    DealProbabilityChanged {
        /// The deal.
        deal: DealId,
        /// The probability before.
        from: crate::values::Percent,
        /// The probability after.
        to: crate::values::Percent,
    },
    /// A deal was won.
    DealWon {
        /// The deal.
        deal: DealId,
        /// Its amount.
        amount: Money,
    },
    /// A deal was lost.
    DealLost {
        /// The deal.
        deal: DealId,
        /// Why.
        reason: String,
        /// To whom.
        competitor: Option<String>,
    },
    /// A closed deal was reopened.
    DealReopened {
        /// The deal.
        deal: DealId,
        /// The open stage it went to.
        stage: StageId,
    },
    /// A lead changed status (other than by conversion).
    LeadStatusChanged {
        /// The lead.
        lead: LeadId,
        /// Before.
        from: LeadStatus,
        /// After.
        to: LeadStatus,
    },
    /// A lead was converted.
    LeadConverted {
        /// The lead.
        lead: LeadId,
        /// The customer it became or was linked to.
        customer: CustomerId,
        /// The contact that is the lead's person, created or linked (`None` when the
        /// customer itself is the person).
        contact: Option<ContactId>,
        /// The deal opened.
        deal: Option<DealId>,
    },
    /// An activity was completed.
    ActivityCompleted {
        /// The activity.
        activity: ActivityId,
    },
    /// An activity was cancelled.
    ActivityCancelled {
        /// The activity.
        activity: ActivityId,
    },
    /// A follow-up was completed.
    FollowUpCompleted {
        /// The follow-up.
        follow_up: FollowUpId,
    },
    /// A follow-up was cancelled (`follow_up_canceled` before schema version 7, still read).
    #[serde(alias = "follow_up_canceled")]
    FollowUpCancelled {
        /// The follow-up.
        follow_up: FollowUpId,
    },
    /// A pending follow-up came due (emitted once, by [`crate::FollowUps::notify_due`]).
    FollowUpDue {
        /// The follow-up.
        follow_up: FollowUpId,
    },
    /// A follow-up expired past its grace period.
    FollowUpExpired {
        /// The follow-up.
        follow_up: FollowUpId,
    },
    /// An interaction was logged.
    InteractionLogged {
        /// The interaction.
        interaction: InteractionId,
        /// Its customer.
        customer: Option<CustomerId>,
    },
    /// An external event was received for a deal. Recorded once per external id, except
    /// when its mapping could not apply ([`crate::UnchangedReason::is_mapping_problem`]):
    /// such an event does not claim its id, so a resend after the mapping is fixed applies
    /// (and is recorded again).
    ExternalEventReceived {
        /// The host's id of the event.
        external_id: String,
        /// What happened.
        kind: ExternalEventKind,
        /// The deal.
        deal: DealId,
        /// Why the deal did not move; `None` when it moved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unchanged: Option<crate::model::UnchangedReason>,
    },
    /// Customers were merged into a survivor (hosts holding customer ids re-point theirs).
    CustomersMerged {
        /// The merge record (for [`crate::Merges::unmerge`]).
        merge: MergeId,
        /// The customer that survived.
        survivor: CustomerId,
        /// The customers merged into it, now deleted.
        merged: Vec<CustomerId>,
    },
    /// A merge was undone: the merged customers exist again.
    CustomersUnmerged {
        /// The merge record.
        merge: MergeId,
        /// The survivor of the merge.
        survivor: CustomerId,
        /// The customers restored.
        restored: Vec<CustomerId>,
    },
}

impl DomainEvent {
    /// The event's type name (`deal_won`, ...).
    /// Whether `user` may see the event: not when it is about another author's private
    /// note (see [`DomainEvent::RecordCreated::private_to`]).
    pub fn visible_to(&self, user: UserId) -> bool {
        match self {
            Self::RecordCreated { private_to, .. }
            | Self::RecordUpdated { private_to, .. }
            | Self::RecordDeleted { private_to, .. } => private_to.is_none_or(|u| u == user),
            _ => true,
        }
    }

    /// The event's type name (its serde tag), e.g. `deal_won`.
    pub fn type_name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_default()
    }
}

/// An event to append to the outbox (part of a change set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique id of the event.
    pub id: Uuid,
    /// The entity it is about.
    pub entity: EntityRef,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// An id from an external system, unique per tenant: appending a second event with the
    /// same external id fails with `AlreadyExists` (and so does the whole change set).
    pub external_id: Option<String>,
    /// The event.
    pub event: DomainEvent,
}

impl NewEvent {
    /// An event about `entity` at `at`.
    pub fn new(entity: EntityRef, at: DateTime<Utc>, event: DomainEvent) -> Self {
        Self {
            id: Uuid::now_v7(),
            entity,
            at,
            external_id: None,
            event,
        }
    }

    /// The event as stored: its JSON payload.
    pub fn payload(&self) -> Result<String> {
        serde_json::to_string(&self.event)
            .map_err(|e| CrmError::internal(format!("cannot encode an event: {e}")))
    }
}

/// An event read back from the outbox, with its per-tenant sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The tenant.
    pub tenant: TenantId,
    /// Position in the tenant's outbox: 1, 2, 3, ... in commit order, without gaps.
    pub seq: u64,
    /// The event.
    pub event: NewEvent,
}
