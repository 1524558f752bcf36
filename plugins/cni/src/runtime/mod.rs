//! The plugin runtime: the skeleton that turns the exec protocol into
//! calls (`skel`), finding and running other plugins (`invoke`, `ipam`),
//! undoing a failed ADD (`rollback`), two pieces of work at once
//! (`overlap`), and the atomic state files plugins keep (`statefile`).

pub mod invoke;
pub mod ipam;
pub mod overlap;
pub mod rollback;
pub mod skel;
pub mod statefile;
