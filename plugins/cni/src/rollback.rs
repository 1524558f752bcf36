//! Undo steps for an ADD that fails halfway.
//!
//! Each step that changes the system registers how to take it back; if the
//! ADD returns early, the steps run in reverse order when the `Rollback` is
//! dropped. A successful ADD calls `commit` and nothing is undone.

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
}
