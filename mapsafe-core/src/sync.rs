//! The locks the engine is built on: parking_lot's, or, with `--cfg shuttle` (for the
//! schedule-exploration tests only), shuttle's scheduler-controlled drop-ins with the same API.
//! Users' builds never see the test shim.

#[cfg(not(shuttle))]
pub(crate) use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
#[cfg(shuttle)]
pub(crate) use shuttle_parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

// Per-thread state (the re-entrancy scopes) must be per shuttle task under the scheduler.
#[cfg(shuttle)]
pub(crate) use shuttle::thread_local;
#[cfg(not(shuttle))]
pub(crate) use std::thread_local;
