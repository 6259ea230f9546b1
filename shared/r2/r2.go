// Package r2 adapts Cloudflare R2 (or any S3-compatible bucket) through
// aws-sdk-go-v2: image bytes, their metadata and presigned GETs. Locally the
// same client talks to infra/local/s3local; only the endpoint differs.
package r2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/netfail"
)

// Presigned URL limits (R2 and S3 accept 1 s to 7 days).
const (
	DefaultPresignExpiry = time.Hour
	MinPresignExpiry     = time.Second
	MaxPresignExpiry     = 7 * 24 * time.Hour
)

// Config locates a bucket.
type Config struct {
	// Endpoint is the S3 API base URL, e.g. https://<account>.r2.cloudflarestorage.com
	// or the local server's URL. Empty means AWS S3's own endpoint.
	Endpoint string
	// Region defaults to "auto" (R2 requires a value but ignores it).
	Region          string
	Bucket          string
	AccessKeyID     string
	SecretAccessKey string
	// UsePathStyle puts the bucket in the path; needed on 127.0.0.1, where
	// virtual-host addressing has no DNS names to work with.
	UsePathStyle bool
	// PresignExpiry is used when PresignGet is given no expiry (default 1h).
	PresignExpiry time.Duration
}

// Store is an ObjectStore backed by one S3-compatible bucket.
type Store struct {
	client        *s3.Client
	presign       *s3.PresignClient
	bucket        string
	presignExpiry time.Duration
}

var _ generation.ObjectStore = (*Store)(nil)

// New builds a client with static credentials. It builds s3.Options directly
// rather than going through config.LoadDefaultConfig, which fails when
// AWS_CA_BUNDLE is set together with a custom HTTP client. optFns run last
// (tests use them to swap the HTTP client).
func New(cfg Config, optFns ...func(*s3.Options)) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("objectstore: bucket is required")
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("objectstore: access key id and secret are required")
	}
	opts := s3.Options{
		Region:       regionOrAuto(cfg.Region),
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		UsePathStyle: cfg.UsePathStyle,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	setChecksums(&opts)
	return newStore(s3.New(opts, optFns...), cfg), nil
}

// setChecksums turns off the checksums the SDK adds by default since S3
// v1.73.0. R2 rejects or loops on them, and the local server stores their
// aws-chunked framing as content. Bare s3.Options leave it unset, which
// happens to behave like WhenRequired today; name the constant rather than
// rely on that.
func setChecksums(o *s3.Options) {
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
}

func regionOrAuto(region string) string {
	if region == "" {
		return "auto"
	}
	return region
}

func newStore(client *s3.Client, cfg Config) *Store {
	expiry := cfg.PresignExpiry
	if expiry <= 0 {
		expiry = DefaultPresignExpiry
	}
	return &Store{
		client:        client,
		presign:       s3.NewPresignClient(client),
		bucket:        cfg.Bucket,
		presignExpiry: clampExpiry(expiry),
	}
}

// Client returns the underlying S3 client, for operations the Store does not
// wrap (listing, heads in tests).
func (s *Store) Client() *s3.Client { return s.client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Put writes body at key, replacing any object there. The body is a byte
// slice so the SDK can sign and resend it without streaming.
func (s *Store) Put(ctx context.Context, key string, body []byte, contentType string, metadata map[string]string) error {
	if key == "" {
		return generation.FieldError("key", "is required")
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   nonEmpty(contentType),
		Metadata:      metadata,
	})
	if err != nil {
		return objectError(err, "put object %s", key)
	}
	return nil
}

// Delete removes the object at key. S3 answers a DELETE of a missing key
// with 204, so deleting twice is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if key == "" {
		return generation.FieldError("key", "is required")
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil && !isMissingKey(err) {
		return objectError(err, "delete object %s", key)
	}
	return nil
}

// DeletePrefix removes every object under prefix: it lists a page of keys
// (ListObjectsV2, up to 1,000) and deletes each one, until the listing is
// empty. One DeleteObject per key rather than DeleteObjects: the batch call
// needs a Content-MD5 or checksum header that R2 and the local server treat
// differently (see setChecksums), and a generation has at most a few hundred
// objects. An empty prefix is refused: it would empty the bucket.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if prefix == "" {
		return 0, generation.FieldError("prefix", "is required")
	}
	deleted := 0
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return deleted, objectError(err, "list objects under %s", prefix)
		}
		for _, obj := range page.Contents {
			if err := s.Delete(ctx, aws.ToString(obj.Key)); err != nil {
				return deleted, err
			}
			deleted++
		}
	}
	return deleted, nil
}

// Get returns the bytes at key, or an ENOTFOUND error when there is none.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if key == "" {
		return nil, generation.FieldError("key", "is required")
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		if isMissingKey(err) {
			return nil, generation.Errorf(generation.ENOTFOUND, "object %s not found", key)
		}
		return nil, objectError(err, "get object %s", key)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, objectError(err, "read object %s", key)
	}
	return body, nil
}

// PresignGet returns a GET URL for key signed locally. expiry 0 means the
// configured default; it is clamped to 1 s–7 days. The object is not checked.
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if key == "" {
		return "", generation.FieldError("key", "is required")
	}
	if expiry == 0 {
		expiry = s.presignExpiry
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	}, s3.WithPresignExpires(clampExpiry(expiry)))
	if err != nil {
		return "", fmt.Errorf("presign get %s: %w", key, err)
	}
	return req.URL, nil
}

// EnsureBucket creates the bucket when it does not exist (the local stack
// starts with an empty server).
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err == nil {
		return nil
	}
	if !isMissingBucket(err) {
		return fmt.Errorf("head bucket %s: %w", s.bucket, err)
	}
	_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

func clampExpiry(d time.Duration) time.Duration {
	return min(max(d, MinPresignExpiry), MaxPresignExpiry)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// isMissingKey reports a GET of a key that does not exist. A missing bucket
// is a configuration error, not a missing image, so it stays internal.
func isMissingKey(err error) bool {
	var noKey *types.NoSuchKey
	if errors.As(err, &noKey) {
		return true
	}
	switch netfail.AnswerOf(err).Code {
	case "NoSuchKey", "NotFound":
		return true
	case "NoSuchBucket":
		return false
	}
	return netfail.AnswerOf(err).Status == http.StatusNotFound
}

// isMissingBucket reports a HEAD of a bucket that does not exist; HEAD
// responses have no body, so a bare 404 is all there is.
func isMissingBucket(err error) bool {
	var notFound *types.NotFound
	var noBucket *types.NoSuchBucket
	return errors.As(err, &notFound) || errors.As(err, &noBucket) || netfail.AnswerOf(err).Status == http.StatusNotFound
}

// objectError codes a failed request once, from the SDK's own signals: the
// store or the way to it failing (a 5xx, throttling, a timeout, a connection
// refused, reset or cut mid-body, the SDK's retries running out on any of
// these) is EUNAVAILABLE, which the state machine retries; anything else (a
// 4xx: credentials, a missing bucket) stays internal, since a retry would
// fail the same way.
func objectError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if netfail.Transient(err, throttlingCodes) {
		return fmt.Errorf("%s: %w: %w", what, generation.Errorf(generation.EUNAVAILABLE, "%s: object store unavailable", what), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// throttlingCodes are the error codes S3 and R2 use to ask for a slower pace.
var throttlingCodes = map[string]bool{
	"SlowDown": true, "Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true,
	"RequestThrottled": true, "TooManyRequests": true, "ServiceUnavailable": true, "InternalError": true,
	"RequestTimeout": true,
}
