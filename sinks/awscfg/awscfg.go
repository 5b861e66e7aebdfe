// Package awscfg loads the AWS SDK configuration the stores share: the
// standard credential chain (env, profile, web identity, SSO, instance
// role), AWS_REGION, AWS_ENDPOINT_URL (honoured by the SDK itself), bounded
// retries, and the caller's HTTP client (which counts calls).
package awscfg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/envsync/envsync"
)

var (
	mu    sync.Mutex
	cache = map[cacheKey]aws.Config{}
)

type cacheKey struct {
	client   *http.Client
	parallel int
	env      string // the settings LoadDefaultConfig reads from the environment
}

// configEnv lists the environment variables that decide the loaded
// configuration (endpoint, region, profile, credentials), so a process whose
// environment changes (a test, a long-lived caller) never gets a stale one.
var configEnv = []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
	"AWS_ACCESS_KEY_ID", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE"}

// MaxAttempts bounds each call's attempts (the SDK's standard retryer with
// jittered backoff), so an unreachable endpoint fails in seconds, not minutes.
const MaxAttempts = 3

// Load returns the shared configuration for opts, loading it once per HTTP
// client and parallelism: every AWS client of a run shares its transport.
func Load(ctx context.Context, opts envsync.OpenOptions) (aws.Config, error) {
	mu.Lock()
	defer mu.Unlock()
	var env strings.Builder
	for _, k := range configEnv {
		env.WriteString(os.Getenv(k))
		env.WriteByte(0)
	}
	key := cacheKey{opts.HTTPClient, opts.Parallel, env.String()}
	if cfg, ok := cache[key]; ok {
		return cfg, nil
	}
	// The SDK's own client, so AWS_CA_BUNDLE and proxies work; calls are
	// counted in the middleware (each attempt) rather than in the transport.
	// One transport for every AWS client of the run (the config is cached per
	// run), with room to keep a connection per request in flight: the SDK's
	// default of 10 idle connections per host makes a run at --parallel 64
	// open hundreds of new connections (each a TCP+TLS handshake).
	client := awshttp.NewBuildableClient().
		WithTimeout(30 * time.Second).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) { SizeTransport(tr, opts.Parallel) })
	var apiOptions []func(*middleware.Stack) error
	if opts.HTTPClient != nil {
		if counter, ok := opts.HTTPClient.Transport.(*envsync.CallCounter); ok {
			apiOptions = append(apiOptions, countCalls(counter))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithHTTPClient(client),
		config.WithAPIOptions(apiOptions),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = 2 * time.Second
			})
		}),
	)
	if err != nil {
		return aws.Config{}, envsync.WithHint(fmt.Errorf("loading AWS configuration: %w", err),
			"check AWS_PROFILE, AWS_REGION and ~/.aws/config")
	}
	if cfg.Region == "" {
		return aws.Config{}, envsync.WithHint(errors.New("no AWS region"), "set AWS_REGION (or region in ~/.aws/config)")
	}
	cache[key] = cfg
	return cfg, nil
}

// SizeTransport sizes tr's pool of idle connections for a run working on
// parallel apps at once: each app has up to about four requests in flight
// (its source and its stores are read side by side).
func SizeTransport(tr *http.Transport, parallel int) {
	n := max(4*parallel, 32)
	tr.MaxIdleConns = max(tr.MaxIdleConns, 2*n)
	tr.MaxIdleConnsPerHost = n
}

// countCalls counts every attempt of every operation, by operation name.
func countCalls(c *envsync.CallCounter) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("envsyncCountCalls",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				c.Count(middleware.GetOperationName(ctx))
				return next.HandleDeserialize(ctx, in)
			}), middleware.After)
	}
}

// CustomEndpoint reports whether an endpoint URL is set (moto, LocalStack,
// MinIO): S3 then uses path-style addressing.
func CustomEndpoint(cfg aws.Config) bool {
	return cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
}

// Translate maps SDK errors onto envsync's sentinels, once, at the adapter.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "Forbidden", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId":
			return fmt.Errorf("%w: %s", envsync.ErrAccessDenied, ae.ErrorCode())
		}
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	var ne net.Error
	var oe *net.OpError
	var re *retry.MaxAttemptsError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.As(err, &re) || errors.Is(err, context.DeadlineExceeded) {
		return envsync.WithHint(fmt.Errorf("%w: %v", envsync.ErrUnreachable, err), "check the network and AWS_ENDPOINT_URL")
	}
	if strings.Contains(err.Error(), "retrieve credentials") || strings.Contains(err.Error(), "refresh cached credentials") {
		return envsync.WithHint(fmt.Errorf("%w: no AWS credentials", envsync.ErrAccessDenied), "set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run aws sso login")
	}
	return err
}
