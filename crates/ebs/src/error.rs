//! Errors of EC2 and EBS calls: the operation, AWS's error code and message. Built from the
//! SDK's error metadata only, which carries no credential.

use aws_sdk_ec2::error::ProvideErrorMetadata;

#[derive(Debug, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct Error {
    pub operation: &'static str,
    /// AWS's code (`InvalidSnapshot.NotFound`, `RequestLimitExceeded`, …), or `Transport`.
    pub code: String,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn from_sdk<E, R>(
        operation: &'static str,
        err: aws_sdk_ec2::error::SdkError<E, R>,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match err.as_service_error() {
            Some(service) => Error {
                operation,
                code: service.code().unwrap_or("Unknown").to_string(),
                message: service.message().unwrap_or_default().to_string(),
            },
            None => Error {
                operation,
                code: "Transport".into(),
                message: aws_sdk_ec2::error::DisplayErrorContext(&err).to_string(),
            },
        }
    }

    /// The named snapshot does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        self.code.ends_with(".NotFound") || self.code == "ResourceNotFoundException"
    }
}
