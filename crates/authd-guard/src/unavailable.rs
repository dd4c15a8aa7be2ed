//! What a session or proof check answers when its store could not: the
//! cause, kept for the operator's log and never sent (the guard answers
//! 503).

use std::fmt;

/// A session check that could not be made: Redis or introspection down,
/// slow, or answering nonsense. The cause is logged, never sent.
pub struct Unavailable(Box<dyn std::error::Error + Send + Sync>);

impl Unavailable {
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

impl fmt::Debug for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unavailable({})", self.0)
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The whole chain, for the operator's log.
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
