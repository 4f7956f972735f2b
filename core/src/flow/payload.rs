//! What each kind of intent result carries, taken out by the flow step that expects it.
//! `handle_input` already refused results of the wrong kind, so another kind here is a
//! bug in the flow: an internal error, never a panic.

use crate::error::{FlowError, Internal};
use crate::http::{HttpResponse, TransportError};
use crate::intent::{BindError, CallbackEvent, IntentResult, LockOutcome};
use crate::secret::SecretBytes;
use crate::store::StoreError;

impl IntentResult {
    pub(crate) fn into_http(self) -> Result<Result<HttpResponse, TransportError>, FlowError> {
        let Self::Http(http) = self else {
            return Err(unexpected());
        };
        Ok(http)
    }

    pub(crate) fn into_read(self) -> Result<Result<Option<SecretBytes>, StoreError>, FlowError> {
        let Self::Read(read) = self else {
            return Err(unexpected());
        };
        Ok(read)
    }

    pub(crate) fn into_stored(self) -> Result<Result<(), StoreError>, FlowError> {
        let Self::Stored(stored) = self else {
            return Err(unexpected());
        };
        Ok(stored)
    }

    pub(crate) fn into_lock(self) -> Result<Result<LockOutcome, StoreError>, FlowError> {
        let Self::Lock(lock) = self else {
            return Err(unexpected());
        };
        Ok(lock)
    }

    pub(crate) fn into_browser(self) -> Result<Result<(), String>, FlowError> {
        let Self::Browser(opened) = self else {
            return Err(unexpected());
        };
        Ok(opened)
    }

    pub(crate) fn into_bound(self) -> Result<Result<u16, BindError>, FlowError> {
        let Self::Bound(bound) = self else {
            return Err(unexpected());
        };
        Ok(bound)
    }

    pub(crate) fn into_callback(self) -> Result<CallbackEvent, FlowError> {
        let Self::Callback(event) = self else {
            return Err(unexpected());
        };
        Ok(event)
    }
}

fn unexpected() -> FlowError {
    FlowError::Internal(Internal::UnexpectedResult)
}
