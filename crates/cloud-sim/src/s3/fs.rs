//! The sandbox's S3: s3s-fs, with object listing of our own.
//!
//! s3s-fs 0.14 walks and sorts the whole bucket for every list page (a clean of N objects
//! costs N²/1000 file visits) and answers an empty `delimiter=` with common prefixes, which
//! rclone sends and cannot work with; and it reads a key that names a directory as a
//! file. [`ListingFs`] answers `ListObjects` and
//! `ListObjectsV2` from [`listing`] over the same directory layout, and hands every other
//! request to s3s-fs unchanged.

use std::path::PathBuf;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use super::listing::{self, Query};

pub(super) struct ListingFs {
    pub(super) inner: s3s_fs::FileSystem,
    /// The data directory: one directory per bucket, objects as files at their keys.
    pub(super) root: PathBuf,
}

impl std::fmt::Debug for ListingFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListingFs")
            .field("root", &self.root)
            .finish()
    }
}

impl ListingFs {
    fn bucket_dir(&self, bucket: &str) -> S3Result<PathBuf> {
        if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket.starts_with('.') {
            return Err(s3_error!(InvalidBucketName));
        }
        let dir = self.root.join(bucket);
        if !dir.is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(dir)
    }

    /// A key that names a directory (`a` while `a/b` exists) is no object; s3s-fs would
    /// try to read the directory as one and answer 500 after a long wait.
    fn not_a_directory(&self, bucket: &str, key: &str) -> S3Result<()> {
        if !key.is_empty() && !key.ends_with('/') && self.root.join(bucket).join(key).is_dir() {
            return Err(s3_error!(NoSuchKey));
        }
        Ok(())
    }

    async fn list(&self, bucket: &str, query: Query) -> S3Result<listing::Page> {
        let dir = self.bucket_dir(bucket)?;
        tokio::task::spawn_blocking(move || listing::page(&dir, &query))
            .await
            .map_err(|e| s3_error!(InternalError, "listing: {e}"))?
            .map_err(|e| s3_error!(InternalError, "listing: {e}"))
    }
}

#[async_trait::async_trait]
impl S3 for ListingFs {
    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let after = match (
            input.continuation_token.as_deref(),
            input.start_after.as_deref(),
        ) {
            (Some(token), Some(start)) => Some(token.max(start)),
            (token, start) => token.or(start),
        };
        let query = Query::new(
            input.prefix.as_deref(),
            input.delimiter.as_deref(),
            after,
            input.max_keys,
        );
        let url = listing::url_encoded(input.encoding_type.as_ref());
        let page = self.list(&input.bucket, query).await?;
        let count = page.len();
        Ok(S3Response::new(ListObjectsV2Output {
            key_count: Some(i32::try_from(count).unwrap_or(i32::MAX)),
            max_keys: Some(input.max_keys.unwrap_or(listing::MAX_KEYS)),
            is_truncated: Some(page.truncated),
            next_continuation_token: page.next.clone(),
            contents: page.contents(url),
            common_prefixes: page.common_prefixes(url),
            continuation_token: input.continuation_token,
            delimiter: input.delimiter,
            encoding_type: input.encoding_type,
            name: Some(input.bucket),
            prefix: input.prefix,
            start_after: input.start_after,
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let query = Query::new(
            input.prefix.as_deref(),
            input.delimiter.as_deref(),
            input.marker.as_deref(),
            input.max_keys,
        );
        let url = listing::url_encoded(input.encoding_type.as_ref());
        let page = self.list(&input.bucket, query).await?;
        Ok(S3Response::new(ListObjectsOutput {
            max_keys: Some(input.max_keys.unwrap_or(listing::MAX_KEYS)),
            is_truncated: Some(page.truncated),
            next_marker: page.next.clone(),
            contents: page.contents(url),
            common_prefixes: page.common_prefixes(url),
            delimiter: input.delimiter,
            encoding_type: input.encoding_type,
            marker: input.marker,
            name: Some(input.bucket),
            prefix: input.prefix,
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.inner.copy_object(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.inner.delete_bucket(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.inner.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.inner.delete_objects(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.inner.get_bucket_location(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.not_a_directory(&req.input.bucket, &req.input.key)?;
        self.inner.get_object(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.not_a_directory(&req.input.bucket, &req.input.key)?;
        self.inner.head_object(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.inner.list_buckets(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.inner.put_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.inner.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.inner.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.inner.upload_part_copy(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.inner.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.inner.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.inner.abort_multipart_upload(req).await
    }
}
