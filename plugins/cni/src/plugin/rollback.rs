//! Undo steps for an ADD that fails halfway: the one way plugins take
//! back what a failing ADD made.
//!
//! Each step that changes the system registers, under a label, how to take
//! it back (IPAM's release among them: `ipam::acquire`). If the ADD
//! returns early, the steps run in reverse order when the `Rollback` is
//! dropped, and each undo that fails is reported on stderr with its label
//! (the ADD's own error is the one returned). A successful ADD ends with
//! one `commit` and nothing is undone.
//!
//! DEL is the other direction: `Cleanup` runs every removal step whatever
//! the others do (one that fails must not leak the rest) and reports the
//! failures together at the end.

use crate::CniError;

/// One registered undo.
struct Step<'a> {
    label: String,
    undo: Box<dyn FnOnce() -> Result<(), CniError> + 'a>,
}

/// A stack of labelled undo steps, run in reverse on drop unless committed.
#[derive(Default)]
pub struct Rollback<'a> {
    steps: Vec<Step<'a>>,
}

impl<'a> Rollback<'a> {
    /// An empty stack.
    pub fn new() -> Rollback<'a> {
        Rollback { steps: Vec::new() }
    }

    /// Registers how to undo the step just done; `label` says what the
    /// undo does ("delete veth eth0"), for the report when it fails.
    pub fn push(&mut self, label: impl Into<String>, undo: impl FnOnce() -> Result<(), CniError> + 'a) {
        self.steps.push(Step { label: label.into(), undo: Box::new(undo) });
    }

    /// The ADD succeeded: forget every undo step.
    pub fn commit(mut self) {
        self.steps.clear();
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        while let Some(step) = self.steps.pop() {
            if let Err(e) = (step.undo)() {
                eprintln!("undoing the failed ADD: {} failed: {}", step.label, e.msg);
            }
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
    fn undoes_in_reverse_unless_committed_and_goes_on_past_a_failing_undo() {
        let log = RefCell::new(Vec::new());
        {
            let mut rollback = Rollback::new();
            rollback.push("first", || {
                log.borrow_mut().push(1);
                Ok(())
            });
            rollback.push("second", || Err(crate::CniError::internal("gone")));
            rollback.push("third", || {
                log.borrow_mut().push(3);
                Ok(())
            });
        }
        assert_eq!(*log.borrow(), vec![3, 1], "the failing undo does not stop the others");
        let mut rollback = Rollback::new();
        rollback.push("fourth", || {
            log.borrow_mut().push(4);
            Ok(())
        });
        rollback.commit();
        assert_eq!(*log.borrow(), vec![3, 1]);
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
