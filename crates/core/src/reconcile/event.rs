//! Events as plans describe them: what happened, in words a person can act on. Notes never
//! carry a secret value, only the names of Secrets and keys.

/// Severity of an Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Normal,
    Warning,
}

/// Which object an Event is recorded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSubject {
    /// The object being reconciled.
    Object,
    /// The object's Namespace: for Events that must outlive a namespace being deleted
    /// (Events can no longer be created inside it); the object becomes the related one.
    Namespace,
}

/// Another object of the same namespace an Event concerns (a schedule's run, say). Events
/// with different related objects are different Events: without it, the recorder would
/// count every run's note as a repeat of the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// An Event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// CamelCase, for machines (see [`super::reasons`]).
    pub reason: String,
    /// What the controller did or tried (CamelCase).
    pub action: String,
    pub note: String,
    pub subject: EventSubject,
    pub related: Option<Related>,
}

impl Event {
    pub fn normal(reason: &str, action: &str, note: impl Into<String>) -> Self {
        Event {
            kind: EventKind::Normal,
            reason: reason.into(),
            action: action.into(),
            note: note.into(),
            subject: EventSubject::Object,
            related: None,
        }
    }

    pub fn warning(reason: &str, action: &str, note: impl Into<String>) -> Self {
        Event {
            kind: EventKind::Warning,
            ..Self::normal(reason, action, note)
        }
    }

    /// Recorded on the namespace instead of the object.
    pub fn on_namespace(mut self) -> Self {
        self.subject = EventSubject::Namespace;
        self
    }

    /// About `related` as well.
    pub fn about(mut self, related: Related) -> Self {
        self.related = Some(related);
        self
    }

    pub fn is_warning(&self) -> bool {
        self.kind == EventKind::Warning
    }
}
