//! Undo steps for an ADD that fails halfway.
//!
//! Each step that changes the system registers how to take it back; if the
//! ADD returns early, the steps run in reverse order when the `Rollback` is
//! dropped. A successful ADD calls `commit` and nothing is undone.
//!
//! DEL is the other direction: `Cleanup` runs every removal step whatever
//! the others do (one that fails must not leak the rest) and reports the
//! failures together at the end.

/// A stack of undo steps, run in reverse on drop unless committed.
#[derive(Default)]
pub struct Rollback<'a> {
    steps: Vec<Box<dyn FnOnce() + 'a>>,
}

impl<'a> Rollback<'a> {
    /// An empty stack.
    pub fn new() -> Rollback<'a> {
        Rollback { steps: Vec::new() }
    }

    /// Registers how to undo the step just done.
    pub fn push(&mut self, undo: impl FnOnce() + 'a) {
        self.steps.push(Box::new(undo));
    }

    /// The ADD succeeded: forget every undo step.
    pub fn commit(mut self) {
        self.steps.clear();
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        while let Some(undo) = self.steps.pop() {
            undo();
        }
    }
}

/// The outcome of a DEL's removal steps: each runs whether or not an
/// earlier one failed; `finish` reports every failure.
#[derive(Default)]
pub struct Cleanup {
    errors: Vec<crate::CniError>,
}

impl Cleanup {
    /// No step has run yet.
    pub fn new() -> Cleanup {
        Cleanup::default()
    }

    /// Records one step's outcome.
    pub fn step(&mut self, outcome: Result<(), crate::CniError>) {
        if let Err(e) = outcome {
            self.errors.push(e);
        }
    }

    /// Ok when every step succeeded; else the first failure's code with
    /// all the messages.
    pub fn finish(self) -> Result<(), crate::CniError> {
        let mut errors = self.errors.into_iter();
        let Some(mut first) = errors.next() else { return Ok(()) };
        for e in errors {
            first.msg = format!("{}; {}", first.msg, e.msg);
        }
        Err(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn undoes_in_reverse_unless_committed() {
        let log = RefCell::new(Vec::new());
        {
            let mut rollback = Rollback::new();
            rollback.push(|| log.borrow_mut().push(1));
            rollback.push(|| log.borrow_mut().push(2));
        }
        assert_eq!(*log.borrow(), vec![2, 1]);
        let mut rollback = Rollback::new();
        rollback.push(|| log.borrow_mut().push(3));
        rollback.commit();
        assert_eq!(*log.borrow(), vec![2, 1]);
    }

    #[test]
    fn cleanup_reports_every_failed_step() {
        let mut cleanup = Cleanup::new();
        cleanup.step(Ok(()));
        assert!(Cleanup::new().finish().is_ok());
        cleanup.step(Err(crate::CniError::internal("first")));
        cleanup.step(Err(crate::CniError::config("second")));
        let err = cleanup.finish().unwrap_err();
        assert_eq!(err.code, 999);
        assert_eq!(err.msg, "first; second");
    }
}
