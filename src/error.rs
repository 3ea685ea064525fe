//! The one place where dynabatch's error codes are defined and where SDK errors are classified.
//!
//! Codes cross to JS as `err.code` (the facade in `index.js` builds the Error objects from `ErrorInfo`).
//! Service errors keep DynamoDB's own code (`ValidationException`, `ResourceNotFoundException`…).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::result::ConnectorError;

pub const INVALID_ITEM: &str = "InvalidItem";
pub const INVALID_ARGUMENT: &str = "InvalidArgument";
pub const WRITER_CLOSED: &str = "WriterClosed";
pub const NETWORK: &str = "Network";
pub const TIMEOUT: &str = "Timeout";
pub const CREDENTIALS: &str = "CredentialsError";
pub const SERVICE_ERROR: &str = "ServiceError";
pub const KEY_SCHEMA_UNAVAILABLE: &str = "KeySchemaUnavailable";
pub const ABORTED: &str = "Aborted";
pub const UNPROCESSED_AFTER_RETRIES: &str = "UnprocessedAfterRetries";
pub const THROTTLED: &str = "Throttled";
pub const SERVER_ERROR: &str = "ServerError";
pub const INTERNAL: &str = "Internal";

/// How the batch engine should treat a failed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
  /// Throttling: retry with backoff, and tell the adaptive rate limiter.
  Throttle,
  /// 5xx, timeouts, dropped connections: retry with backoff.
  Transient,
  /// The request was rejected for its content: split a multi-item request to isolate the offender.
  Validation,
  /// Anything else: report at once.
  Fatal,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CoreError {
  /// Stable code: ours (constants above) or the service's.
  pub code: String,
  pub message: String,
  pub request_id: Option<String>,
  pub retry: Retry,
  /// HTTP status when the service answered.
  pub status: Option<u16>,
}

impl CoreError {
  pub fn new(code: &str, message: impl Into<String>) -> Self {
    CoreError {
      code: code.to_string(),
      message: message.into(),
      request_id: None,
      retry: Retry::Fatal,
      status: None,
    }
  }
  pub fn with_retry(mut self, retry: Retry) -> Self {
    self.retry = retry;
    self
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

impl std::fmt::Display for CoreError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "{}: {}", self.code, self.message)
  }
}

const THROTTLE_CODES: &[&str] = &[
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
];
const TRANSIENT_CODES: &[&str] = &[
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TransactionInProgressException",
];

/// Classifies a service error code (and HTTP status) the way the AWS SDKs' standard retry mode does.
pub fn classify_service(code: &str, status: Option<u16>) -> Retry {
  if THROTTLE_CODES.contains(&code) {
    Retry::Throttle
  } else if TRANSIENT_CODES.contains(&code) || status.is_some_and(|s| s >= 500) {
    Retry::Transient
  } else if code == "ValidationException" || code == "SerializationException" {
    Retry::Validation
  } else {
    Retry::Fatal
  }
}

fn connector_error(e: &ConnectorError) -> CoreError {
  if e.is_timeout() {
    CoreError::new(TIMEOUT, format!("request timed out: {}", source_chain(e)))
      .with_retry(Retry::Transient)
  } else {
    CoreError::new(NETWORK, format!("connection failed: {}", source_chain(e)))
      .with_retry(Retry::Transient)
  }
}

/// Joins an error's source chain into one line (the SDK's Display is often only "dispatch failure").
pub fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
  let mut s = e.to_string();
  let mut cur = e.source();
  while let Some(c) = cur {
    let m = c.to_string();
    if !s.contains(&m) {
      s.push_str(": ");
      s.push_str(&m);
    }
    cur = c.source();
  }
  s
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
      let retry = classify_service(&code, Some(status));
      CoreError {
        code,
        message,
        request_id: se.raw().request_id(),
        retry,
        status: Some(status),
      }
    }
    _ if is_credentials_failure(&err) => CoreError::new(
      CREDENTIALS,
      format!("could not load AWS credentials: {}", source_chain(&err)),
    ),
    SdkError::TimeoutError(_) => {
      CoreError::new(TIMEOUT, "request timed out (requestTimeoutMs)").with_retry(Retry::Transient)
    }
    SdkError::DispatchFailure(df) => match df.as_connector_error() {
      Some(ce) => connector_error(ce),
      None => CoreError::new(NETWORK, source_chain(&err)).with_retry(Retry::Transient),
    },
    SdkError::ResponseError(_) => CoreError::new(
      NETWORK,
      format!("the response could not be read: {}", source_chain(&err)),
    )
    .with_retry(Retry::Transient),
    _ => {
      let chain = source_chain(&err);
      let lower = chain.to_ascii_lowercase();
      if lower.contains("credential") || lower.contains("identity") {
        CoreError::new(
          CREDENTIALS,
          format!("could not load AWS credentials: {chain}"),
        )
      } else if lower.contains("region") {
        CoreError::new(
          INVALID_ARGUMENT,
          format!("no AWS region configured: {chain}"),
        )
      } else {
        CoreError::new(INTERNAL, chain)
      }
    }
  }
}

/// Credential resolution fails inside the dispatch phase; only its text tells it from a network error.
fn is_credentials_failure(err: &(dyn std::error::Error + 'static)) -> bool {
  let chain = source_chain(err).to_ascii_lowercase();
  chain.contains("credential provider")
    || chain.contains("no credentials")
    || chain.contains("failed to load credentials")
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
  fn classification_follows_standard_retry_mode() {
    assert_eq!(
      classify_service("ProvisionedThroughputExceededException", Some(400)),
      Retry::Throttle
    );
    assert_eq!(
      classify_service("ThrottlingException", Some(400)),
      Retry::Throttle
    );
    assert_eq!(
      classify_service("InternalServerError", Some(500)),
      Retry::Transient
    );
    assert_eq!(classify_service("Whatever", Some(503)), Retry::Transient);
    assert_eq!(
      classify_service("ValidationException", Some(400)),
      Retry::Validation
    );
    assert_eq!(
      classify_service("ResourceNotFoundException", Some(400)),
      Retry::Fatal
    );
  }

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
}
