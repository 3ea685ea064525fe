//! The `credentials` option as an async function (what AWS SDK v3 users pass, e.g. from
//! `@aws-sdk/credential-providers`): called on the JS thread when the SDK needs credentials, and again
//! before they expire (the SDK's identity cache reads their expiration).

use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// What the facade hands over from the user's provider (its `expiration` as milliseconds).
#[napi(object)]
pub struct CredentialsJs {
  pub access_key_id: String,
  pub secret_access_key: String,
  pub session_token: Option<String>,
  pub expiration_ms: Option<f64>,
}

pub type ProviderFn = ThreadsafeFunction<(), Promise<CredentialsJs>, (), Status, false, true>;

pub struct JsProvider(pub Arc<ProviderFn>);

impl std::fmt::Debug for JsProvider {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("JsCredentialsProvider")
  }
}

impl ProvideCredentials for JsProvider {
  fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
  where
    Self: 'a,
  {
    let f = self.0.clone();
    future::ProvideCredentials::new(async move {
      let promise = f.call_async(()).await.map_err(|e| {
        CredentialsError::provider_error(format!("the credentials function failed: {}", e.reason))
      })?;
      let c = promise.await.map_err(|e| {
        CredentialsError::provider_error(format!("the credentials function rejected: {}", e.reason))
      })?;
      if c.access_key_id.is_empty() || c.secret_access_key.is_empty() {
        return Err(CredentialsError::not_loaded(
          "the credentials function returned no accessKeyId/secretAccessKey",
        ));
      }
      let expiry = c
        .expiration_ms
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .map(|ms| UNIX_EPOCH + Duration::from_secs_f64(ms / 1000.0));
      Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        c.session_token,
        expiry,
        "dynabatch-js",
      ))
    })
  }
}
