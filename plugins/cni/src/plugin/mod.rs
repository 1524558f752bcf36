//! The plugin side of the CNI protocol (cnictl's `runtime` is the
//! caller side): the skeleton that turns the exec protocol into
//! calls (`skel`), one verb at a time per attachment (`attachment_lock`), finding and running other plugins (`invoke`, `ipam`),
//! undoing a failed ADD (`rollback`), the operation journal (`journal`), two pieces of work at once
//! (`overlap`), and the atomic state files plugins keep (`statefile`).

pub mod attachment_lock;
pub mod invoke;
pub mod ipam;
pub mod journal;
pub mod overlap;
pub mod rollback;
pub mod skel;
pub mod statefile;
