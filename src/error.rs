//! The one place where dynabatch's error codes are defined and where SDK errors become `CoreError`s.
//!
//! A code crosses to JS as `err.code`, set natively (`src/js/error.rs`). Service errors keep DynamoDB's own
//! code (`ValidationException`, `ResourceNotFoundException`…). Messages never carry item contents,
//! credentials or a request: SDK errors are described by their kind and root cause, never by their
//! debug form.

use crate::retry::{classify, Retry};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::result::ConnectorError;

pub const INVALID_ITEM: &str = "InvalidItem";
pub const INVALID_ARGUMENT: &str = "InvalidArgument";
pub const WRITER_CLOSED: &str = "WriterClosed";
pub const CLIENT_CLOSED: &str = "ClientClosed";
pub const ABORTED: &str = "Aborted";
pub const BATCH_WRITE_FAILED: &str = "BatchWriteFailed";
pub const BATCH_GET_FAILED: &str = "BatchGetFailed";
pub const NETWORK: &str = "Network";
pub const TIMEOUT: &str = "Timeout";
pub const CREDENTIALS: &str = "CredentialsError";
pub const KEY_SCHEMA_UNAVAILABLE: &str = "KeySchemaUnavailable";
pub const SERVICE_ERROR: &str = "ServiceError";
pub const INTERNAL: &str = "Internal";
/// A transaction DynamoDB cancelled; `reasons` say why, one per action.
pub const TRANSACTION_CANCELED: &str = "TransactionCanceled";

/// Per-item failure reasons that are not error codes of a rejected call.
pub const UNPROCESSED_AFTER_RETRIES: &str = "UnprocessedAfterRetries";
pub const THROTTLED: &str = "Throttled";
pub const SERVER_ERROR: &str = "ServerError";
/// A response that could not be matched to what was sent: its operations are sent again (never counted as
/// written); the reason of those that run out of retries, and the errorCode of the request's record.
pub const UNRECONCILED_RESPONSE: &str = "UnreconciledResponse";

/// Every code a dynabatch call rejects with (service codes aside), as the README's table lists them.
pub const CODES: &[&str] = &[
  INVALID_ITEM,
  INVALID_ARGUMENT,
  WRITER_CLOSED,
  CLIENT_CLOSED,
  ABORTED,
  BATCH_WRITE_FAILED,
  BATCH_GET_FAILED,
  NETWORK,
  TIMEOUT,
  CREDENTIALS,
  KEY_SCHEMA_UNAVAILABLE,
  SERVICE_ERROR,
  INTERNAL,
  TRANSACTION_CANCELED,
];

/// Every reason a failed item can carry besides a service code.
pub const ITEM_REASONS: &[&str] = &[
  INVALID_ITEM,
  UNPROCESSED_AFTER_RETRIES,
  THROTTLED,
  SERVER_ERROR,
  NETWORK,
  TIMEOUT,
  ABORTED,
  KEY_SCHEMA_UNAVAILABLE,
  CLIENT_CLOSED,
  CREDENTIALS,
  UNRECONCILED_RESPONSE,
];

#[derive(Clone, Debug, PartialEq)]
pub struct CoreError {
  /// Stable code: ours (constants above) or the service's.
  pub code: String,
  pub message: String,
  pub request_id: Option<String>,
  pub retry: Retry,
  /// HTTP status when the service answered.
  pub status: Option<u16>,
  /// For InvalidItem: the attribute path (`item.tags[3]`).
  pub path: Option<String>,
  /// What caused this error, when it wraps another (KeySchemaUnavailable over AccessDeniedException).
  pub cause: Option<Box<CoreError>>,
}

impl CoreError {
  pub fn new(code: &str, message: impl Into<String>) -> Self {
    CoreError {
      code: code.to_string(),
      message: message.into(),
      request_id: None,
      retry: Retry::Fatal,
      status: None,
      path: None,
      cause: None,
    }
  }
  pub fn with_retry(mut self, retry: Retry) -> Self {
    self.retry = retry;
    self
  }
  pub fn with_cause(mut self, cause: CoreError) -> Self {
    self.cause = Some(Box::new(cause));
    self
  }
  pub fn invalid_argument(message: impl Into<String>) -> Self {
    CoreError::new(INVALID_ARGUMENT, message)
  }
  /// The failure reason reported per item once retries are exhausted.
  pub fn item_reason(&self) -> &str {
    match self.retry {
      Retry::Throttle => THROTTLED,
      Retry::Transient if self.code == NETWORK || self.code == TIMEOUT => &self.code,
      Retry::Transient => SERVER_ERROR,
      _ => &self.code,
    }
  }
}

impl From<crate::item::ItemError> for CoreError {
  fn from(e: crate::item::ItemError) -> Self {
    let mut c = CoreError::new(INVALID_ITEM, e.message());
    c.path = Some(e.path);
    c
  }
}

impl std::fmt::Display for CoreError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "{}: {}", self.code, self.message)
  }
}

/// What to tell someone whose credentials could not be found: where they come from.
pub const CREDENTIALS_HINT: &str =
  "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for DynamoDB Local or dynalite), \
or AWS_PROFILE, or pass the `credentials` or `profile` option (CLI: --profile)";

/// The deepest error of a chain, described by its own Display: an io error, a DNS failure, a TLS alert.
/// Never the chain's outer layers, whose Display may print a whole request.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
  root_cause_within(e, 200)
}

fn root_cause_within(e: &(dyn std::error::Error + 'static), limit: usize) -> String {
  let mut cur = e;
  while let Some(next) = cur.source() {
    cur = next;
  }
  let mut s = cur.to_string();
  if s.len() > limit {
    let mut cut = limit;
    while !s.is_char_boundary(cut) {
      cut -= 1;
    }
    s.truncate(cut);
    s.push('…');
  }
  s
}

/// The whole chain's text, lowercased: used to classify an error, never shown.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
  let mut s = e.to_string();
  let mut cur = e.source();
  while let Some(c) = cur {
    s.push_str(": ");
    s.push_str(&c.to_string());
    cur = c.source();
  }
  s.to_ascii_lowercase()
}

fn connector_error(e: &ConnectorError) -> CoreError {
  if e.is_timeout() {
    CoreError::new(TIMEOUT, format!("request timed out: {}", root_cause(e)))
      .with_retry(Retry::Transient)
  } else {
    CoreError::new(NETWORK, format!("connection failed: {}", root_cause(e)))
      .with_retry(Retry::Transient)
  }
}

/// Maps any SDK error to a `CoreError`, keeping the service's code, message and request id.
pub fn from_sdk<E, R>(err: SdkError<E, R>) -> CoreError
where
  E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
  R: std::fmt::Debug + HttpStatus + Send + Sync + 'static,
{
  match &err {
    SdkError::ServiceError(se) => {
      let status = se.raw().status();
      let e = se.err();
      let code = e.code().unwrap_or(SERVICE_ERROR).to_string();
      let message = e
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| code.clone());
      let retry = classify(&code, Some(status));
      CoreError {
        code,
        message,
        request_id: se.raw().request_id(),
        retry,
        status: Some(status),
        path: None,
        cause: None,
      }
    }
    // The provider chain says what it tried: worth showing whole.
    _ if has_credentials_error(&err) || is_credentials_failure(&chain_text(&err)) => {
      CoreError::new(
        CREDENTIALS,
        format!(
          "could not load AWS credentials: {}\nTo supply them, {CREDENTIALS_HINT}",
          root_cause_within(&err, 1200)
        ),
      )
    }
    SdkError::TimeoutError(_) => {
      CoreError::new(TIMEOUT, "request timed out (requestTimeoutMs)").with_retry(Retry::Transient)
    }
    SdkError::DispatchFailure(df) => match df.as_connector_error() {
      Some(ce) => connector_error(ce),
      None => CoreError::new(
        NETWORK,
        format!("the request could not be sent: {}", root_cause(&err)),
      )
      .with_retry(Retry::Transient),
    },
    SdkError::ResponseError(_) => CoreError::new(
      NETWORK,
      format!("the response could not be read: {}", root_cause(&err)),
    )
    .with_retry(Retry::Transient),
    _ => {
      let chain = chain_text(&err);
      if chain.contains("region") {
        CoreError::invalid_argument(format!(
          "no AWS region configured: pass `region`, or set AWS_REGION or a profile's region ({})",
          root_cause(&err)
        ))
      } else {
        CoreError::new(
          INTERNAL,
          format!("the request could not be made: {}", root_cause(&err)),
        )
      }
    }
  }
}

/// Credential resolution fails inside the dispatch phase: a provider's error is somewhere in the chain.
fn has_credentials_error(e: &(dyn std::error::Error + 'static)) -> bool {
  let mut cur = Some(e);
  while let Some(c) = cur {
    if c
      .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
      .is_some()
    {
      return true;
    }
    cur = c.source();
  }
  false
}

/// Some chains only say it in their text.
fn is_credentials_failure(chain: &str) -> bool {
  chain.contains("credential provider")
    || chain.contains("no credentials")
    || chain.contains("failed to load credentials")
    || chain.contains("credentials provider")
    || chain.contains("identity")
}

/// The HTTP status of a raw response, for the error classification.
pub trait HttpStatus {
  fn status(&self) -> u16;
  fn request_id(&self) -> Option<String>;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
  fn status(&self) -> u16 {
    self.status().as_u16()
  }
  fn request_id(&self) -> Option<String> {
    let h = self.headers();
    h.get("x-amzn-requestid")
      .or_else(|| h.get("x-amz-request-id"))
      .map(str::to_string)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn item_reasons() {
    let t =
      CoreError::new("ProvisionedThroughputExceededException", "x").with_retry(Retry::Throttle);
    assert_eq!(t.item_reason(), THROTTLED);
    let s = CoreError::new("InternalServerError", "x").with_retry(Retry::Transient);
    assert_eq!(s.item_reason(), SERVER_ERROR);
    let n = CoreError::new(NETWORK, "x").with_retry(Retry::Transient);
    assert_eq!(n.item_reason(), NETWORK);
    let v = CoreError::new("ValidationException", "x").with_retry(Retry::Validation);
    assert_eq!(v.item_reason(), "ValidationException");
  }

  #[test]
  fn root_cause_is_short_and_is_the_deepest() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
      fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request {{ body: \"secret item\" }}")
      }
    }
    impl std::error::Error for Outer {
      fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
      }
    }
    let e = Outer(std::io::Error::new(
      std::io::ErrorKind::ConnectionRefused,
      "refused",
    ));
    assert_eq!(root_cause(&e), "refused");
    assert!(chain_text(&e).contains("secret"));
  }
}
