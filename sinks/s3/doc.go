// Package s3 reads and writes an ECS env file kept as one S3 object (s3://BUCKET/KEY.env).
package s3
