//! The `ginkgo` binary as an operator runs it — generate, load, list runs, export rejects — and
//! as it fails: processes killed with SIGKILL mid-way, the database going away, and the soak.

#[path = "cli/support.rs"]
mod support;

#[path = "cli/batch.rs"]
mod batch;
#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/faults.rs"]
mod faults;
#[path = "cli/ops.rs"]
mod ops;
#[path = "cli/soak.rs"]
mod soak;
