//! The tag calls: find or create tags by name, assign and unassign them, list and delete them.
//!
//! Reached through [`Crm::tags`].

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::*;
use crate::model::*;
use crate::store::*;

use super::*;

super::handle!(
    /// The tag calls: find or create tags by name, assign and unassign them, list and delete them.
    Tags, tags
);

impl<S: CrmStore + ?Sized> Tags<'_, S> {
    /// The tag with this name (case-insensitive), if any.
    #[tracing::instrument(name = "tags.find", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn find(self, actor: &Actor, name: &str) -> Result<Option<Tag>> {
        let filter = TagFilter {
            name: Some(name.trim().to_string()),
        };
        let page = self
            .crm
            .list::<Tag>(actor, ListQuery::filter(filter).limit(1))
            .await?;
        Ok(page.items.into_iter().next())
    }

    /// The tag with this name (case-insensitive), created with `colour` if missing.
    #[tracing::instrument(name = "tags.ensure", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn ensure(
        self,
        actor: &Actor,
        name: &str,
        colour: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Tag> {
        if let Some(t) = self.crm.tags().find(actor, name).await? {
            return Ok(t);
        }
        let tag = Tag::new(actor.tenant, name, colour, now)?;
        match self.crm.create(actor, tag, now).await {
            // Lost a race with another creator: read theirs.
            Err(CrmError::AlreadyExists { .. }) => self
                .crm
                .tags()
                .find(actor, name)
                .await?
                .ok_or_else(|| CrmError::not_found(crate::store::EntityKind::Tag, name)),
            other => other,
        }
    }

    /// Puts a tag on a customer, contact, lead or deal. Tagging twice is a no-op that
    /// returns the existing assignment.
    #[tracing::instrument(name = "tags.assign", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn assign(
        self,
        actor: &Actor,
        tag: TagId,
        target: EntityRef,
        now: DateTime<Utc>,
    ) -> Result<TagAssignment> {
        if let Some(a) = self.crm.assignment(actor, tag, target).await? {
            return Ok(a);
        }
        let a = TagAssignment::new(actor.tenant, tag, target, now)?;
        self.crm.create(actor, a, now).await
    }

    /// Removes a tag from a target at `now`; returns whether it was there.
    #[tracing::instrument(name = "tags.unassign", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn unassign(
        self,
        actor: &Actor,
        tag: TagId,
        target: EntityRef,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        match self.crm.assignment(actor, tag, target).await? {
            Some(a) => {
                self.crm
                    .delete::<TagAssignment>(actor, a.id, None, now)
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The tags on a target, by name.
    #[tracing::instrument(name = "tags.of", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn of(self, actor: &Actor, target: EntityRef) -> Result<Vec<Tag>> {
        let assignments = self
            .crm
            .list_all::<TagAssignment>(
                actor,
                TagAssignmentFilter {
                    target: Some(target),
                    ..Default::default()
                },
            )
            .await?;
        let mut tags = Vec::with_capacity(assignments.len());
        for a in assignments {
            if let Some(t) = self.crm.find::<Tag>(actor, a.tag_id).await? {
                tags.push(t);
            }
        }
        tags.sort_by_key(|t| t.name.to_lowercase());
        Ok(tags)
    }

    /// Deletes a tag and all its assignments atomically.
    #[tracing::instrument(name = "tags.delete", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn delete(self, actor: &Actor, tag: TagId, now: DateTime<Utc>) -> Result<()> {
        let t = self.crm.get::<Tag>(actor, tag).await?;
        let mut cs = ChangeSet::new();
        for a in self
            .crm
            .list_all::<TagAssignment>(
                actor,
                TagAssignmentFilter {
                    tag_id: Some(tag),
                    ..Default::default()
                },
            )
            .await?
        {
            cs.push_delete::<TagAssignment>(a.id, None);
        }
        cs.push_delete::<Tag>(tag, Some(t.version));
        self.crm.apply_at(actor, cs, now).await.map(|_| ())
    }
}
