//! Comments on discussions, their moderation state, and the port that stores them.

use crate::ids::{CitizenId, CommentId, PollId};
use crate::ports::{Quota, StoreError};
use crate::values::FlagReason;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Distinct flaggers after which a comment is hidden until a moderator restores it.
pub const HIDE_AFTER_FLAGS: u32 = 3;

/// Flags whose reasons a moderator sees with a comment in the queue.
pub const FLAGS_SHOWN: usize = 20;

/// A comment in a discussion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub discussion_id: PollId,
    pub author: CitizenId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<CommentId>,
    pub created_at: DateTime<Utc>,
    pub flags: u32,
    pub hidden: bool,
    /// Restored by a moderator: flags no longer hide it.
    #[serde(default)]
    pub restored: bool,
    pub version: u32,
}

/// One resident's flag on a comment, with the reason they gave, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub flagger: CitizenId,
    pub reason: Option<FlagReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum ModerationState {
    Flagged,
    Hidden,
}

impl ModerationState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Comment {
    /// Its place in the moderators' queue.
    pub fn moderation_state(&self) -> Option<ModerationState> {
        if self.hidden {
            Some(ModerationState::Hidden)
        } else if self.flags > 0 && !self.restored {
            Some(ModerationState::Flagged)
        } else {
            None
        }
    }
}

/// Discussion comments and their moderation.
#[async_trait]
pub trait CommentStore: crate::ports::Quotas + Send + Sync + 'static {
    /// Stores a new comment, spending one unit of `quota` in the same transaction
    /// (`StoreError::OverQuota` and nothing written when it is used up).
    async fn add_comment(&self, comment: &Comment, quota: &Quota) -> Result<(), StoreError>;
    async fn get_comment(&self, id: &CommentId) -> Result<Option<Comment>, StoreError>;
    /// A discussion's comments, oldest first, after the cursor id.
    async fn list_comments(
        &self,
        discussion: &PollId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError>;
    /// Replaces the comment (version condition). With `flag`, also records that flag, whose
    /// flagger must be new: a repeated flagger is a `Conflict` and nothing changes; the flag spends
    /// one unit of the flagger's quota in the same transaction (`StoreError::OverQuota`).
    async fn update_comment(
        &self,
        expected_version: u32,
        next: &Comment,
        flag: Option<(&Flag, &Quota)>,
    ) -> Result<(), StoreError>;
    async fn has_flagged(&self, comment: &CommentId, flagger: &CitizenId) -> Result<bool, StoreError>;
    /// The comment's flags with their reasons, ordered by flagger, at most `limit`.
    async fn flags(&self, comment: &CommentId, limit: usize) -> Result<Vec<Flag>, StoreError>;
    /// Comments in one moderation state, by id, after the cursor id.
    async fn moderation_queue(
        &self,
        state: ModerationState,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError>;
    /// Creation times of the author's comments since `since`, at most `limit`.
    async fn comments_since(
        &self,
        author: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;
}
