package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestMain(m *testing.M) { sinktest.Main(m) }

func TestContract(t *testing.T) {
	sinktest.AWS(t)
	b := sinktest.Bucket(t, true)
	n := 0
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T, opts envsync.OpenOptions) envsync.Store {
			n++
			st, err := envsync.Open(t.Context(), fmt.Sprintf("s3://%s/app%d/feature.env", b, n), opts)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		Conditional: true,
	})
}

func TestMetadataAndVersions(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	st, err := envsync.Open(ctx, "s3://"+sinktest.Bucket(t, true)+"/prod/feature.env", envsync.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"on", "off"} {
		base, _ := st.Read(ctx)
		meta := map[string]string{"envsync-by": "ana@example.com", "envsync-reason": fmt.Sprintf("flip %d: ünïcode", i)}
		if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: map[string]string{"FEATURE_X": v}, Meta: meta}); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := st.Read(ctx)
	if snap.Meta["envsync-reason"] != "flip 1: ünïcode" || snap.Meta["envsync-by"] != "ana@example.com" {
		t.Fatalf("meta = %v", snap.Meta)
	}
	// Stored readable: printable ASCII as it is, anything else as RFC 2047.
	raw := rawMeta(t, st.(*Store))
	if raw["envsync-by"] != "ana@example.com" || raw["envsync-reason"] != "=?utf-8?b?ZmxpcCAxOiDDvG7Dr2NvZGU=?=" {
		t.Errorf("stored metadata = %v", raw)
	}
	base, _ := st.Read(ctx)
	if err := st.Write(ctx, &envsync.WriteRequest{Base: base, Vars: map[string]string{"FEATURE_X": "on"}, Meta: map[string]string{"envsync-reason": "envsync import", "envsync-by": "maintainers@acme.com"}}); err != nil {
		t.Fatal(err)
	}
	if raw := rawMeta(t, st.(*Store)); raw["envsync-reason"] != "envsync import" || raw["envsync-by"] != "maintainers@acme.com" {
		t.Errorf("stored metadata = %v; want it readable", raw)
	}
	vs, enabled, err := st.(*Store).Versions(ctx)
	if err != nil || !enabled || len(vs) != 3 || !vs[0].Latest {
		t.Fatalf("versions = %+v, %v, %v", vs, enabled, err)
	}
	old, err := st.(*Store).ReadVersion(ctx, vs[2].ID)
	if err != nil || old.Vars["FEATURE_X"] != "on" {
		t.Fatalf("old version = %v, %v", old, err)
	}
}

func TestErrors(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	st, _ := envsync.Open(ctx, "s3://no-such-bucket-envsync/x.env", envsync.OpenOptions{})
	if _, err := st.Read(ctx); !errors.Is(err, envsync.ErrNotFound) || envsync.Hint(err) == "" {
		t.Fatalf("missing bucket: err = %v", err)
	}
	if _, err := envsync.Open(ctx, "s3://b/x.txt", envsync.OpenOptions{}); !errors.Is(err, envsync.ErrInvalid) {
		t.Fatalf("key without .env: err = %v", err)
	}
	if _, err := envsync.Open(ctx, "s3://b/x.env?acl=public", envsync.OpenOptions{}); !errors.Is(err, envsync.ErrInvalid) {
		t.Fatalf("unknown parameter: err = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	sinktest.AWS(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens on port 1
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c := &envsync.CallCounter{}
	st, _ := envsync.Open(ctx, "s3://b/x.env", envsync.OpenOptions{HTTPClient: c.Client()})
	_, err := st.Read(ctx)
	if !errors.Is(err, envsync.ErrUnreachable) {
		t.Fatalf("err = %v; want ErrUnreachable", err)
	}
	if n := c.Total(); n > awscfg.MaxAttempts {
		t.Fatalf("%d attempts; want at most %d", n, awscfg.MaxAttempts)
	}
}

// S3's documented limits are checked before any call: a key over 1,024
// bytes when the URL is opened, user metadata over 2 KB before the PUT.
func TestLimits(t *testing.T) {
	long := "s3://b/" + strings.Repeat("k", 1021) + ".env"
	if _, err := envsync.Open(t.Context(), long, envsync.OpenOptions{}); !errors.Is(err, envsync.ErrInvalid) || !strings.Contains(err.Error(), "at most 1024 bytes") {
		t.Fatalf("long key: err = %v", err)
	}
	c := &envsync.CallCounter{}
	st, err := envsync.Open(t.Context(), "s3://b/prod/feature.env", envsync.OpenOptions{HTTPClient: c.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(t.Context(), &envsync.WriteRequest{Base: envsync.EmptySnapshot(), Vars: map[string]string{"A": "1"}, Meta: map[string]string{"envsync-reason": strings.Repeat("why ", 600)}})
	if !errors.Is(err, envsync.ErrUnrepresentable) || envsync.Hint(err) != "shorten --reason" || c.Writes()+c.Reads() != 0 {
		t.Fatalf("big metadata: err = %v, %d calls", err, c.Writes()+c.Reads())
	}
}

// rawMeta is the object's user metadata as S3 holds it (HeadObject).
func rawMeta(t *testing.T, st *Store) map[string]string {
	t.Helper()
	c, err := st.api(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &st.bucket, Key: &st.key})
	if err != nil {
		t.Fatal(err)
	}
	return out.Metadata
}
