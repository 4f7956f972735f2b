//! Session storage as core sees it: named slots holding versioned records (SPEC §4).
//!
//! Core decides what goes where; the driver only reads, writes (atomically), deletes and
//! moves aside opaque bytes in the slot it is told. By concept:
//!
//! * [`key`]: which session a configuration uses ([`SessionKey`]);
//! * [`backend`]: where its records live, keyring or file ([`Backend`]);
//! * [`slot`]: the places a driver touches, and its errors ([`Slot`], [`StoreError`]);
//! * [`records`]: what a slot holds ([`SessionRecords`]);
//! * [`marker`], [`cooldown`] and [`lock`]: how processes coordinate ([`LoginMarker`],
//!   [`SignInCooldown`], [`LockName`]);
//! * [`ownership`]: whether a file or directory of the state may be believed ([`judge`]).

pub mod backend;
pub mod cooldown;
pub mod key;
pub mod lock;
pub mod marker;
pub mod ownership;
pub mod records;
pub mod slot;

pub use backend::{Backend, BackendChoice, after_probe, choose_backend};
pub use cooldown::{SIGN_IN_COOLDOWN, SignInCooldown};
pub use key::{ClientKey, SessionKey, discovery_key};
pub use lock::LockName;
pub use marker::LoginMarker;
pub use ownership::{PathFacts, PathKind, judge};
pub use records::{
    AccessRecord, CorruptRecord, IdTokenRecord, RECORD_VERSION, RefreshRecord, SessionRecords,
};
pub use slot::{Slot, StoreError, StoreErrorKind};
