//! The link between a method name and its params and result types.
//!
//! A handler is written against a marker type (`methods::TurnStart`) and gets the params type
//! to parse and the result type to answer with from it, so a method name and its shapes are tied
//! together in exactly one place ([`crate::methods`]).

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A client→server request method.
pub trait ClientMethod {
    const METHOD: &'static str;
    type Params: DeserializeOwned + Serialize + JsonSchema;
    type Response: Serialize + DeserializeOwned + JsonSchema;
}

/// A server→client request method (approvals).
pub trait ServerRequestMethod {
    const METHOD: &'static str;
    type Params: DeserializeOwned + Serialize + JsonSchema;
    type Response: Serialize + DeserializeOwned + JsonSchema;
}

/// A server→client notification: implemented on the params type itself.
pub trait ServerNotification: Serialize {
    const METHOD: &'static str;
}
