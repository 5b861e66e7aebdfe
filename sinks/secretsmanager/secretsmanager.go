// Package secretsmanager keeps variables in AWS Secrets Manager.
//
// secretsmanager://NAME (the default layout) is one secret holding a JSON
// object of all routed keys: one secret per app costs the same as one key
// and is read in one call. secretsmanager://PREFIX?layout=per-key is one
// secret per key, named PREFIX/KEY. Secrets are created tagged
// managed-by=envsync, written only when the content differs, with a
// ClientRequestToken derived from the content so that retries are idempotent.
package secretsmanager

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
)

func init() { envsync.Register("secretsmanager", Open) }

// api lists the only Secrets Manager calls this store makes.
type api interface {
	GetSecretValue(context.Context, *sm.GetSecretValueInput, ...func(*sm.Options)) (*sm.GetSecretValueOutput, error)
	BatchGetSecretValue(context.Context, *sm.BatchGetSecretValueInput, ...func(*sm.Options)) (*sm.BatchGetSecretValueOutput, error)
	ListSecrets(context.Context, *sm.ListSecretsInput, ...func(*sm.Options)) (*sm.ListSecretsOutput, error)
	CreateSecret(context.Context, *sm.CreateSecretInput, ...func(*sm.Options)) (*sm.CreateSecretOutput, error)
	PutSecretValue(context.Context, *sm.PutSecretValueInput, ...func(*sm.Options)) (*sm.PutSecretValueOutput, error)
	DeleteSecret(context.Context, *sm.DeleteSecretInput, ...func(*sm.Options)) (*sm.DeleteSecretOutput, error)
}

// Store is one JSON secret, or a prefix of per-key secrets.
type Store struct {
	url, name string
	perKey    bool
	kmsKey    string
	recovery  int64
	opts      envsync.OpenOptions
	client    api
}

// Open parses secretsmanager://NAME[?kms=KEY][&layout=per-key][&recovery=DAYS]. It makes no call.
func Open(_ context.Context, u *url.URL, opts envsync.OpenOptions) (envsync.Store, error) {
	name := strings.Trim(u.Host+u.Path, "/")
	if name == "" {
		return nil, fmt.Errorf("%w: %q: want secretsmanager://NAME", envsync.ErrInvalid, u.String())
	}
	s := &Store{url: u.String(), name: name, opts: opts, recovery: 30}
	for k, v := range u.Query() {
		switch k {
		case "layout":
			switch v[0] {
			case "per-key":
				s.perKey = true
			case "json":
			default:
				return nil, fmt.Errorf("%w: %q: layout=%s: want json or per-key", envsync.ErrInvalid, u.String(), v[0])
			}
		case "kms":
			s.kmsKey = v[0]
		case "recovery":
			n, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil || n < 7 || n > 30 {
				return nil, fmt.Errorf("%w: %q: recovery=%s: want 7 to 30 days", envsync.ErrInvalid, u.String(), v[0])
			}
			s.recovery = n
		default:
			return nil, fmt.Errorf("%w: %q: unknown parameter %q (want layout, kms, recovery)", envsync.ErrInvalid, u.String(), k)
		}
	}
	return s, nil
}

// HoldsSecrets: this is where secrets belong.
func (s *Store) HoldsSecrets() bool { return true }

func (s *Store) api(ctx context.Context) (api, error) {
	if s.client == nil {
		cfg, err := awscfg.Load(ctx, s.opts)
		if err != nil {
			return nil, err
		}
		s.client = sm.NewFromConfig(cfg)
	}
	return s.client, nil
}

// Read returns the secret's keys: one GetSecretValue (JSON layout), or
// ListSecrets then BatchGetSecretValue, 20 ids a call (per-key layout).
func (s *Store) Read(ctx context.Context) (*envsync.Snapshot, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	if s.perKey {
		return s.readPerKey(ctx, c)
	}
	out, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: &s.name})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return envsync.EmptySnapshot(), nil
		}
		return nil, s.wrap("reading", err)
	}
	vars := map[string]string{}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &vars); err != nil {
		return nil, envsync.WithHint(fmt.Errorf("%s: %w: the secret is not a JSON object of strings", s.url, envsync.ErrInvalid),
			"point the route at a secret envsync manages, or use ?layout=per-key")
	}
	return &envsync.Snapshot{Vars: vars, Exists: true, Version: aws.ToString(out.VersionId)}, nil
}

func (s *Store) readPerKey(ctx context.Context, c api) (*envsync.Snapshot, error) {
	prefix := s.name + "/"
	var ids []string
	p := sm.NewListSecretsPaginator(c, &sm.ListSecretsInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("listing", err)
		}
		for _, e := range page.SecretList {
			if n := aws.ToString(e.Name); strings.HasPrefix(n, prefix) && e.DeletedDate == nil {
				ids = append(ids, n)
			}
		}
	}
	snap := envsync.EmptySnapshot()
	snap.Exists = len(ids) > 0
	// The chunks are read side by side, within BatchGetSecretValue's quota.
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for chunk := range slices.Chunk(ids, 20) {
		g.Go(func() error {
			if err := batchGetRate.Wait(gctx); err != nil {
				return err
			}
			out, err := c.BatchGetSecretValue(gctx, &sm.BatchGetSecretValueInput{SecretIdList: chunk})
			if err != nil {
				return s.wrap("reading", err)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("reading %s: %s: %s", s.url, aws.ToString(e.SecretId), aws.ToString(e.ErrorCode))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, v := range out.SecretValues {
				snap.Vars[strings.TrimPrefix(aws.ToString(v.Name), prefix)] = aws.ToString(v.SecretString)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return snap, nil
}

// token derives a ClientRequestToken from the secret's name, the new content
// and what it replaces, so an SDK retry of the same write is idempotent,
// while going back to an earlier value is a new version (Secrets Manager
// silently ignores a token it has seen, even if that version is no longer
// current).
func token(name, content, replaces string) *string {
	sum := sha256.Sum256([]byte(name + "\x00" + content + "\x00" + replaces))
	return aws.String(uuid.NewHash(sha256.New(), uuid.NameSpaceURL, sum[:], 5).String())
}

// Write stores req.Vars: one CreateSecret or PutSecretValue in the JSON
// layout; per key, only the keys that changed.
func (s *Store) Write(ctx context.Context, req *envsync.WriteRequest) error {
	if envsync.Unchanged(req.Base, req.Vars) {
		return nil
	}
	c, err := s.api(ctx)
	if err != nil {
		return err
	}
	if s.perKey {
		if err := s.Validate(req.Vars); err != nil {
			return err
		}
		return s.writePerKey(ctx, c, req)
	}
	data, err := json.Marshal(req.Vars) // encoding/json sorts map keys
	if err != nil {
		return err
	}
	return s.put(ctx, c, s.name, string(data), req.Base.Exists, req.Base.Version)
}

// put creates or updates one secret; replaces identifies what it replaces
// (the version id, or the old value's hash).
func (s *Store) put(ctx context.Context, c api, name, content string, exists bool, replaces string) error {
	if !exists {
		in := &sm.CreateSecretInput{
			Name: &name, SecretString: &content, ClientRequestToken: token(name, content, replaces),
			Description: aws.String("managed by envsync"),
			Tags:        []types.Tag{{Key: aws.String("managed-by"), Value: aws.String("envsync")}},
		}
		if s.kmsKey != "" {
			in.KmsKeyId = &s.kmsKey
		}
		_, err := c.CreateSecret(ctx, in)
		var exists *types.ResourceExistsException
		if errors.As(err, &exists) {
			return fmt.Errorf("creating %s: %w", name, envsync.ErrConflict)
		}
		if err != nil {
			return s.wrap("creating", err)
		}
		return nil
	}
	_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: &name, SecretString: &content, ClientRequestToken: token(name, content, replaces)})
	if err != nil {
		return s.wrap("writing", err)
	}
	return nil
}

// Validate refuses, in the per-key layout, keys that cannot name a secret
// and empty values (a secret needs a value).
func (s *Store) Validate(vars map[string]string) error {
	if !s.perKey {
		return nil
	}
	e := &envsync.UnrepresentableError{Store: s.url}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		switch {
		case vars[k] == "":
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "empty value: a secret needs a value; remove it or use the JSON layout"})
		case strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-") != "":
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "a secret name may only hold letters, digits and /_+=.@-"})
		}
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

// writePerKey creates or updates the keys that changed, side by side within
// the write quota, then deletes the keys that went (with --prune).
func (s *Store) writePerKey(ctx context.Context, c api, req *envsync.WriteRequest) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for _, k := range slices.Sorted(maps.Keys(req.Vars)) {
		old, had := req.Base.Vars[k]
		if had && old == req.Vars[k] {
			continue
		}
		g.Go(func() error {
			if err := writeRate.Wait(gctx); err != nil {
				return err
			}
			sum := sha256.Sum256([]byte(old))
			return s.put(gctx, c, s.name+"/"+k, req.Vars[k], had, string(sum[:]))
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(maxInFlight)
	for _, k := range slices.Sorted(maps.Keys(req.Base.Vars)) {
		if _, keep := req.Vars[k]; keep {
			continue
		}
		g.Go(func() error {
			if err := writeRate.Wait(gctx); err != nil {
				return err
			}
			_, err := c.DeleteSecret(gctx, &sm.DeleteSecretInput{SecretId: aws.String(s.name + "/" + k), RecoveryWindowInDays: &s.recovery})
			if err != nil {
				return s.wrap("deleting", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// Per-key reads and writes go side by side, within Secrets Manager's
// documented request quotas, per account and region
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html):
// BatchGetSecretValue 100 a second; PutSecretValue 50 a second. envsync
// holds all its writes (CreateSecret, PutSecretValue, DeleteSecret) together
// to 50 a second, evenly spaced, shared by every app of the process.
var (
	writeRate    = rate.NewLimiter(50, 1)
	batchGetRate = rate.NewLimiter(100, 1)
)

// maxInFlight bounds one store's requests in flight: at 50 writes a second
// and a round trip of up to about 150 ms, 8 keep the quota busy.
const maxInFlight = 8

func (s *Store) wrap(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException":
			return envsync.WithHint(fmt.Errorf("%s %s: %w", what, s.url, envsync.ErrAccessDenied),
				"the role needs secretsmanager:GetSecretValue (and CreateSecret, PutSecretValue, TagResource to import) on "+s.name)
		case "InvalidRequestException":
			if strings.Contains(strings.ToLower(ae.ErrorMessage()), "deletion") {
				return envsync.WithHint(fmt.Errorf("%s %s: the secret is scheduled for deletion: %w", what, s.url, envsync.ErrConflict),
					"restore it with: aws secretsmanager restore-secret --secret-id "+s.name)
			}
		}
	}
	return fmt.Errorf("%s %s: %w", what, s.url, awscfg.Translate(err))
}
