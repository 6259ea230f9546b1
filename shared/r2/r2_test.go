package r2_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/s3local"
	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/r2"
)

const bucket = "images"

func localConfig(endpoint string) r2.Config {
	return r2.Config{
		Endpoint:        endpoint,
		Bucket:          bucket,
		AccessKeyID:     "local",
		SecretAccessKey: "local-secret",
		UsePathStyle:    true,
	}
}

// newStore starts a fresh in-process S3 server and returns a Store on a
// created bucket.
func newStore(t *testing.T) *r2.Store {
	t.Helper()
	srv, err := s3local.Start()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })

	store, err := r2.New(localConfig(srv.URL()))
	require.NoError(t, err)
	require.NoError(t, store.EnsureBucket(t.Context()))
	return store
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     r2.Config
		wantErr string
	}{
		{name: "OK", cfg: localConfig("http://127.0.0.1:1")},
		{name: "NoBucket", cfg: r2.Config{AccessKeyID: "a", SecretAccessKey: "b"}, wantErr: "bucket is required"},
		{name: "NoCredentials", cfg: r2.Config{Bucket: "b"}, wantErr: "access key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, err := r2.New(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "auto", store.Client().Options().Region)
			require.Equal(t, aws.RequestChecksumCalculationWhenRequired, store.Client().Options().RequestChecksumCalculation)
			require.Equal(t, aws.ResponseChecksumValidationWhenRequired, store.Client().Options().ResponseChecksumValidation)
		})
	}
}

func TestStore_PutGet(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	tests := []struct {
		name        string
		key         string
		body        []byte
		contentType string
		metadata    map[string]string
	}{
		{name: "LargeRandom", key: "gen/1/cand/1.png", body: randomBytes(1, 1<<20), contentType: "image/png",
			metadata: map[string]string{"generation-id": "g1", "seed": "42"}},
		{name: "Small", key: "gen/1/cand/2.jpg", body: []byte{0xff, 0xd8, 0xff, 0xd9}, contentType: "image/jpeg"},
		{name: "Empty", key: "gen/1/cand/3.webp", body: []byte{}, contentType: "image/webp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			require.NoError(t, store.Put(ctx, tt.key, tt.body, tt.contentType, tt.metadata))

			got, err := store.Get(ctx, tt.key)
			require.NoError(t, err)
			require.True(t, bytes.Equal(tt.body, got), "body differs: sent %d bytes, got %d", len(tt.body), len(got))

			head, err := store.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(tt.key)})
			require.NoError(t, err)
			require.Equal(t, tt.contentType, aws.ToString(head.ContentType))
			require.Equal(t, int64(len(tt.body)), aws.ToInt64(head.ContentLength))
			for k, v := range tt.metadata {
				require.Equal(t, v, head.Metadata[k], "metadata %s", k)
			}
		})
	}
}

func TestStore_PutOverwrites(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	ctx := t.Context()
	const key = "gen/2/cand/1.png"
	first, second := randomBytes(2, 1000), randomBytes(3, 500)

	require.NoError(t, store.Put(ctx, key, first, "image/png", map[string]string{"attempt": "1"}))
	require.NoError(t, store.Put(ctx, key, second, "image/jpeg", map[string]string{"attempt": "2"}))

	list, err := store.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("gen/2/")})
	require.NoError(t, err)
	require.Len(t, list.Contents, 1)
	require.Equal(t, int64(len(second)), aws.ToInt64(list.Contents[0].Size))

	got, err := store.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, second, got)
	head, err := store.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	require.Equal(t, "image/jpeg", aws.ToString(head.ContentType))
	require.Equal(t, "2", head.Metadata["attempt"])
}

func TestStore_GetErrors(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	// A store whose bucket was never created: a configuration error, which
	// must not pass for a missing image.
	noBucket, err := r2.New(r2.Config{
		Endpoint: aws.ToString(store.Client().Options().BaseEndpoint),
		Bucket:   "no-such-bucket", AccessKeyID: "a", SecretAccessKey: "b", UsePathStyle: true,
	})
	require.NoError(t, err)

	tests := []struct {
		name     string
		store    *r2.Store
		key      string
		wantCode string
	}{
		{name: "MissingKey", store: store, key: "gen/none.png", wantCode: generation.ENOTFOUND},
		{name: "EmptyKey", store: store, key: "", wantCode: generation.EINVALID},
		{name: "MissingBucket", store: noBucket, key: "gen/none.png", wantCode: generation.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.store.Get(t.Context(), tt.key)
			require.Error(t, err)
			require.Equal(t, tt.wantCode, generation.ErrorCode(err), "error: %v", err)
		})
	}
}

func TestStore_PresignGet(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	body := randomBytes(4, 64<<10)
	const key = "gen/3/cand/1.png"
	require.NoError(t, store.Put(t.Context(), key, body, "image/png", nil))

	tests := []struct {
		name        string
		expiry      time.Duration
		wantExpires string
	}{
		{name: "Default", expiry: 0, wantExpires: "3600"},
		{name: "Given", expiry: 90 * time.Second, wantExpires: "90"},
		{name: "ClampedUp", expiry: 10 * time.Millisecond, wantExpires: "1"},
		{name: "ClampedDown", expiry: 30 * 24 * time.Hour, wantExpires: "604800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			signed, err := store.PresignGet(t.Context(), key, tt.expiry)
			require.NoError(t, err)
			u, err := url.Parse(signed)
			require.NoError(t, err)
			require.Equal(t, tt.wantExpires, u.Query().Get("X-Amz-Expires"))
			require.NotEmpty(t, u.Query().Get("X-Amz-Signature"))

			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, signed, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, body, got)
		})
	}
}

func TestStore_EnsureBucketIsIdempotent(t *testing.T) {
	t.Parallel()
	store := newStore(t) // created once already
	require.NoError(t, store.EnsureBucket(t.Context()))
	require.NoError(t, store.Put(t.Context(), "k", []byte("v"), "text/plain", nil))
}

// unseekable hides bytes.Reader's Seek, like a request or pipe body.
type unseekable struct{ io.Reader }

// TestChecksumSetting proves that WhenRequired is what keeps bytes intact.
// Store.Put sends a []byte, which the SDK hashes up front, so Put alone never
// shows the problem. It shows on an unseekable body over TLS (as to R2): with
// the SDK default (WhenSupported) the client frames the body aws-chunked with
// a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER). R2 rejected or looped
// on that; gofakes3 stores the framing as the object's content, silently.
// With the settings New and NewFromAWSConfig apply, the body goes out as-is
// and round-trips. The NewFromAWSConfig case starts from a loaded config that
// says WhenSupported, so it fails if the override is dropped.
func TestChecksumSetting(t *testing.T) {
	t.Parallel()
	tlsServer := httptest.NewTLSServer(s3local.NewHandler())
	t.Cleanup(tlsServer.Close)
	useTLS := func(o *s3.Options) { o.HTTPClient = tlsServer.Client() }

	reader, err := r2.New(localConfig(tlsServer.URL), useTLS)
	require.NoError(t, err)
	require.NoError(t, reader.EnsureBucket(t.Context()))

	tests := []struct {
		name      string
		writer    func(t *testing.T) *r2.Store
		wantExact bool
	}{
		{name: "New", wantExact: true, writer: func(t *testing.T) *r2.Store {
			store, err := r2.New(localConfig(tlsServer.URL), useTLS)
			require.NoError(t, err)
			return store
		}},
		{name: "SDKDefaultWhenSupported", wantExact: false, writer: func(t *testing.T) *r2.Store {
			store, err := r2.New(localConfig(tlsServer.URL), useTLS, func(o *s3.Options) {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
			})
			require.NoError(t, err)
			return store
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			writer := tt.writer(t)
			body := randomBytes(5, 256<<10)
			key := "checksum/" + tt.name

			_, err = writer.Client().PutObject(ctx, &s3.PutObjectInput{
				Bucket:        aws.String(bucket),
				Key:           aws.String(key),
				Body:          unseekable{bytes.NewReader(body)},
				ContentLength: aws.Int64(int64(len(body))),
			})
			require.NoError(t, err, "no error anywhere: that is what makes the default dangerous")

			got, err := reader.Get(ctx, key)
			require.NoError(t, err)
			if tt.wantExact {
				require.True(t, bytes.Equal(body, got), "sent %d bytes, stored %d", len(body), len(got))
				return
			}
			require.False(t, bytes.Equal(body, got), "the SDK default stored the body intact; this test no longer shows the breakage")
			require.Contains(t, string(got), "x-amz-checksum-crc32", "stored object should hold the aws-chunked trailer")
		})
	}
}

// The context must be honoured: a cancelled call fails rather than hanging.
func TestStore_CancelledContext(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.Error(t, store.Put(ctx, "k", []byte("v"), "text/plain", nil))
}
