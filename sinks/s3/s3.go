// Package s3 reads and writes an ECS env file kept as one S3 object
// (s3://BUCKET/KEY.env), the file a task definition's environmentFiles
// loads. Writes are conditional: If-None-Match: * when creating, If-Match on
// the ETag read when replacing, so a concurrent change is never overwritten.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
)

func init() { envsync.Register("s3", Open) }

// api lists the only S3 calls this store makes.
type api interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Store is one env file in S3.
type Store struct {
	url, bucket, key string
	kmsKey           string
	opts             envsync.OpenOptions
	client           api
}

// Open parses s3://BUCKET/KEY.env[?sse=aws:kms&kms=KEYID]. It makes no call.
func Open(_ context.Context, u *url.URL, opts envsync.OpenOptions) (envsync.Store, error) {
	key := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || key == "" {
		return nil, fmt.Errorf("%w: %q: want s3://BUCKET/KEY.env", envsync.ErrInvalid, u.String())
	}
	if !strings.HasSuffix(key, ".env") {
		return nil, envsync.WithHint(fmt.Errorf("%w: %q: the key must end in .env", envsync.ErrInvalid, u.String()),
			"ECS only loads environment files whose name ends in .env")
	}
	if len(key) > maxKeyBytes {
		return nil, fmt.Errorf("%w: %q: an S3 object key is at most %d bytes", envsync.ErrInvalid, u.String(), maxKeyBytes)
	}
	s := &Store{url: u.String(), bucket: u.Host, key: key, opts: opts}
	for k, v := range u.Query() {
		switch k {
		case "kms":
			s.kmsKey = v[0]
		case "sse":
			if v[0] != "aws:kms" {
				return nil, fmt.Errorf("%w: %q: sse=%s: only aws:kms is supported", envsync.ErrInvalid, u.String(), v[0])
			}
		default:
			return nil, fmt.Errorf("%w: %q: unknown parameter %q (want kms, sse)", envsync.ErrInvalid, u.String(), k)
		}
	}
	return s, nil
}

func (s *Store) api(ctx context.Context) (api, error) {
	if s.client != nil {
		return s.client, nil
	}
	cfg, err := awscfg.Load(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.DisableLogOutputChecksumValidationSkipped = true
		if awscfg.CustomEndpoint(cfg) {
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return s.client, nil
}

// Claim: one object; the plan refuses routes from two apps to it with --prune.
func (s *Store) Claim() envsync.Claim {
	return envsync.Claim{Space: "s3", Name: s.bucket + "/" + s.key}
}

// Read gets the object and parses it with the ECS agent's rules.
func (s *Store) Read(ctx context.Context) (*envsync.Snapshot, error) {
	return s.read(ctx, "")
}

// ReadVersion reads one version of the object.
func (s *Store) ReadVersion(ctx context.Context, versionID string) (*envsync.Snapshot, error) {
	return s.read(ctx, versionID)
}

func (s *Store) read(ctx context.Context, versionID string) (*envsync.Snapshot, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &s.key}
	if versionID != "" {
		in.VersionId = &versionID
	}
	out, err := c.GetObject(ctx, in)
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) && versionID == "" {
			return envsync.EmptySnapshot(), nil
		}
		return nil, s.wrap("reading", err, "s3:GetObject")
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.url, awscfg.Translate(err))
	}
	vars, err := envsync.ParseEnvFile(s.url, data)
	if err != nil {
		return nil, err
	}
	return &envsync.Snapshot{Vars: vars, Exists: true, Version: aws.ToString(out.ETag), Meta: decodeMeta(out.Metadata), Modified: aws.ToTime(out.LastModified)}, nil
}

// Validate refuses what an ECS env file cannot carry, naming every key.
func (s *Store) Validate(vars map[string]string) error {
	_, err := s.format(vars)
	return err
}

func (s *Store) format(vars map[string]string) ([]byte, error) {
	data, err := envsync.FormatEnvFile(vars)
	var ue *envsync.UnrepresentableError
	if errors.As(err, &ue) {
		ue.Store = s.url
	}
	return data, err
}

// Write puts the whole file, conditional on the ETag read.
func (s *Store) Write(ctx context.Context, req *envsync.WriteRequest) error {
	data, err := s.format(req.Vars)
	if err != nil {
		return err
	}
	if envsync.Unchanged(req.Base, req.Vars) {
		return nil
	}
	meta := encodeMeta(req.Meta)
	if n := metaSize(meta); n > maxMetaBytes {
		return envsync.WithHint(fmt.Errorf("writing %s: the change's metadata (who, why, keys) is %d bytes: %w (S3 allows %d bytes of user metadata)", s.url, n, envsync.ErrUnrepresentable, maxMetaBytes),
			"shorten --reason")
	}
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &s.key, Body: bytes.NewReader(data),
		ContentType: aws.String("text/plain; charset=utf-8"),
		Metadata:    meta,
	}
	if req.Base.Exists {
		in.IfMatch = aws.String(req.Base.Version)
	} else {
		in.IfNoneMatch = aws.String("*")
	}
	if s.kmsKey != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = &s.kmsKey
	}
	if _, err := c.PutObject(ctx, in); err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
			return s.conflict(ctx, c, data)
		}
		return s.wrap("writing", err, "s3:PutObject")
	}
	return nil
}

// conflict decides what a failed condition means. When the reply to a PUT is
// lost, the SDK sends it again, and the retry meets the object the first try
// wrote: its ETag no longer matches, yet the write happened. So the object is
// read again, and if it holds exactly the bytes this write sends, the write
// is done (ours, or an identical one); otherwise someone else changed it.
func (s *Store) conflict(ctx context.Context, c api, data []byte) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &s.key})
	if err == nil {
		cur, rerr := io.ReadAll(out.Body)
		out.Body.Close()
		if rerr == nil && bytes.Equal(cur, data) {
			return nil
		}
	}
	return fmt.Errorf("writing %s: %w", s.url, envsync.ErrConflict)
}

// Versions lists the object's versions, newest first, and whether the
// bucket has versioning enabled.
func (s *Store) Versions(ctx context.Context) ([]envsync.ObjectVersion, bool, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, false, err
	}
	vout, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &s.bucket})
	if err != nil {
		return nil, false, s.wrap("reading versioning of", err, "s3:GetBucketVersioning")
	}
	enabled := vout.Status == types.BucketVersioningStatusEnabled
	var out []envsync.ObjectVersion
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: &s.bucket, Prefix: &s.key})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, enabled, s.wrap("listing versions of", err, "s3:ListBucketVersions")
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == s.key {
				out = append(out, envsync.ObjectVersion{ID: aws.ToString(v.VersionId), Modified: aws.ToTime(v.LastModified), Latest: aws.ToBool(v.IsLatest)})
			}
		}
		for _, d := range page.DeleteMarkers {
			if aws.ToString(d.Key) == s.key {
				out = append(out, envsync.ObjectVersion{ID: aws.ToString(d.VersionId), Modified: aws.ToTime(d.LastModified), Latest: aws.ToBool(d.IsLatest), Deleted: true})
			}
		}
	}
	sortNewestFirst(out)
	return out, enabled, nil
}

func sortNewestFirst(v []envsync.ObjectVersion) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Modified.After(v[j-1].Modified); j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func (s *Store) wrap(what string, err error, action string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return envsync.WithHint(fmt.Errorf("%s %s: bucket %q: %w", what, s.url, s.bucket, envsync.ErrNotFound), "create the bucket (with versioning on) or fix the route in the config")
		case "AccessDenied", "Forbidden":
			return envsync.WithHint(fmt.Errorf("%s %s: %w", what, s.url, envsync.ErrAccessDenied), fmt.Sprintf("the role needs %s on arn:aws:s3:::%s/%s", action, s.bucket, s.key))
		}
	}
	return fmt.Errorf("%s %s: %w", what, s.url, awscfg.Translate(err))
}

// maxMetaBytes is S3's limit on user-defined metadata: 2 KB, the sum of the
// UTF-8 bytes of every key and value
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html).
const maxMetaBytes = 2048

// maxKeyBytes is S3's limit on an object key's length (UTF-8 bytes).
const maxKeyBytes = 1024

func metaSize(meta map[string]string) int {
	n := 0
	for k, v := range meta {
		n += len(k) + len(v)
	}
	return n
}

// Object metadata travels as x-amz-meta-* headers, which S3 wants in
// printable US-ASCII. A printable ASCII value (maintainers@acme.com, envsync
// import) is stored as it is, readable in the console and by aws s3api
// head-object; any other value (non-ASCII, control characters) is encoded as
// RFC 2047 words (=?utf-8?b?…?=), the encoding S3 itself documents and uses
// for non-ASCII metadata, and decoded on read.
func encodeMeta(meta map[string]string) map[string]string {
	if len(meta) == 0 {
		return nil
	}
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		out[strings.ToLower(k)] = mime.BEncoding.Encode("utf-8", v)
	}
	return out
}

var metaDecoder mime.WordDecoder

func decodeMeta(meta map[string]string) map[string]string {
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		if d, err := metaDecoder.DecodeHeader(v); err == nil {
			v = d
		}
		out[strings.ToLower(k)] = v
	}
	return out
}
