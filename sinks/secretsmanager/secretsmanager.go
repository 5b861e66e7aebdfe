// Package secretsmanager keeps variables in AWS Secrets Manager.
//
// secretsmanager://NAME (the default layout) is one secret holding a JSON
// object of all routed keys: one secret per app costs the same as one key
// and is read in one call. secretsmanager://PREFIX?layout=per-key is one
// secret per key, named PREFIX/KEY. Secrets are created tagged
// managed-by=envsync, written only when the content differs, with a fresh
// ClientRequestToken per write (the SDK's retries of that write reuse it, so
// they are idempotent; see token).
package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

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
	RestoreSecret(context.Context, *sm.RestoreSecretInput, ...func(*sm.Options)) (*sm.RestoreSecretOutput, error)
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
	if strings.Trim(name, secretNameChars) != "" || len(name) > maxNameLen {
		return nil, fmt.Errorf("%w: %q: a secret name is at most %d characters of letters, digits and /_+=.@-", envsync.ErrInvalid, u.String(), maxNameLen)
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

// listPerKey lists the live secrets of the per-key layout (PREFIX/KEY), by
// KEY; secrets scheduled for deletion are left out.
func (s *Store) listPerKey(ctx context.Context, c api) (map[string]types.SecretListEntry, error) {
	prefix := s.name + "/"
	found := map[string]types.SecretListEntry{}
	p := sm.NewListSecretsPaginator(c, &sm.ListSecretsInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("listing", err)
		}
		for _, e := range page.SecretList {
			if n := aws.ToString(e.Name); strings.HasPrefix(n, prefix) && e.DeletedDate == nil {
				found[strings.TrimPrefix(n, prefix)] = e
			}
		}
	}
	return found, nil
}

func (s *Store) readPerKey(ctx context.Context, c api) (*envsync.Snapshot, error) {
	found, err := s.listPerKey(ctx, c)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(found))
	for _, k := range slices.Sorted(maps.Keys(found)) {
		ids = append(ids, s.name+"/"+k)
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
				snap.Vars[strings.TrimPrefix(aws.ToString(v.Name), s.name+"/")] = aws.ToString(v.SecretString)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return snap, nil
}

// token is a fresh ClientRequestToken for one write. The SDK sends the same
// input on each retry, so a retried call (a lost reply) carries the same
// token and Secrets Manager carries it out once; a new write gets a new
// token. (A token derived from the content was reused when a pruned key came
// back with its old value, and Secrets Manager ignored the write.)
func token() *string { return aws.String(uuid.NewString()) }

// Limits documented by AWS (Secrets Manager quotas,
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html):
// a secret value holds at most 65,536 bytes; a secret name at most 512 characters.
const (
	maxSecretBytes  = 65536
	maxNameLen      = 512
	secretNameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-"
)

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
	if err := s.Validate(req.Vars); err != nil {
		return err
	}
	if s.perKey {
		return s.writePerKey(ctx, c, req)
	}
	data, err := json.Marshal(req.Vars) // encoding/json sorts map keys
	if err != nil {
		return err
	}
	return s.put(ctx, c, s.name, string(data), req.Base.Exists)
}

// put creates or updates one secret.
func (s *Store) put(ctx context.Context, c api, name, content string, exists bool) error {
	if !exists {
		in := &sm.CreateSecretInput{
			Name: &name, SecretString: &content, ClientRequestToken: token(),
			Description: aws.String("managed by envsync"),
			Tags:        []types.Tag{{Key: aws.String("managed-by"), Value: aws.String("envsync")}},
		}
		if s.kmsKey != "" {
			in.KmsKeyId = &s.kmsKey
		}
		_, err := c.CreateSecret(ctx, in)
		var exists *types.ResourceExistsException
		if errors.As(err, &exists) {
			// A retry whose first try created the secret (the reply was
			// lost) meets it: if it holds exactly this content, the write
			// is done; anything else is someone else's.
			out, gerr := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: &name})
			if gerr == nil && aws.ToString(out.SecretString) == content {
				return nil
			}
			if !scheduledForDeletion(gerr) {
				return fmt.Errorf("creating %s: %w", name, envsync.ErrConflict)
			}
			err = gerr // it exists, scheduled for deletion (moto answers so)
		}
		if scheduledForDeletion(err) {
			// A key pruned earlier comes back: the secret is still there,
			// scheduled for deletion. Restore it and write the new value.
			if _, err := c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: &name}); err != nil {
				return s.wrap("restoring", err)
			}
			return s.put(ctx, c, name, content, true)
		}
		if err != nil {
			return s.wrap("creating", err)
		}
		return nil
	}
	_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: &name, SecretString: &content, ClientRequestToken: token()})
	if err != nil {
		return s.wrap("writing", err)
	}
	return nil
}

// Validate refuses, before any write, what Secrets Manager would refuse or
// change: a value that is not valid UTF-8 (SecretString is UTF-8; the JSON
// encoder would replace the bytes), a secret over 65,536 bytes, and in the
// per-key layout keys that cannot name a secret and empty values.
func (s *Store) Validate(vars map[string]string) error {
	e := &envsync.UnrepresentableError{Store: s.url, In: "Secrets Manager"}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		v := vars[k]
		switch {
		case !utf8.ValidString(k):
			e.Problems = append(e.Problems, envsync.Problem{Key: strconv.QuoteToASCII(k), Reason: "the name is not valid UTF-8"})
		case !utf8.ValidString(v):
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "the value is not valid UTF-8 (Secrets Manager stores text): fix the bytes at the source"})
		case !s.perKey:
		case v == "":
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "empty value: a secret needs a value; remove it or use the JSON layout"})
		case strings.Trim(k, secretNameChars) != "":
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: "a secret name may only hold letters, digits and /_+=.@-"})
		case len(s.name)+1+len(k) > maxNameLen:
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: fmt.Sprintf("the secret name %s/%s is longer than Secrets Manager's %d characters", s.name, k, maxNameLen)})
		case len(v) > maxSecretBytes:
			e.Problems = append(e.Problems, envsync.Problem{Key: k, Reason: fmt.Sprintf("the value is %d bytes; a secret holds at most %d (Secrets Manager quota)", len(v), maxSecretBytes)})
		}
	}
	if !s.perKey && len(e.Problems) == 0 {
		if data, err := json.Marshal(vars); err == nil && len(data) > maxSecretBytes {
			e.Problems = append(e.Problems, envsync.Problem{Key: "(all keys)", Reason: fmt.Sprintf("the secret would be %d bytes of JSON; a secret holds at most %d (Secrets Manager quota): split the keys with ?layout=per-key or over two routes", len(data), maxSecretBytes)})
		}
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

// Claim says which secrets this store owns: one name, or in the per-key
// layout every name under PREFIX/. The plan refuses two routes whose claims
// overlap (acme/prod?layout=per-key and acme/prod/web?layout=per-key): a
// prune of the first would delete the second's secrets.
func (s *Store) Claim() envsync.Claim {
	return envsync.Claim{Space: "secretsmanager", Name: s.name, Prefix: s.perKey}
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
			return s.put(gctx, c, s.name+"/"+k, req.Vars[k], had)
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
			var nf *types.ResourceNotFoundException
			if err != nil && !errors.As(err, &nf) && !scheduledForDeletion(err) {
				// A retry of a delete whose reply was lost meets a secret
				// already scheduled for deletion (or gone): that is done.
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
				"the role needs secretsmanager:GetSecretValue (and CreateSecret, PutSecretValue, TagResource to import; DeleteSecret, RestoreSecret with --prune) on "+s.name)
		case "InvalidRequestException":
			if scheduledForDeletion(err) {
				return envsync.WithHint(fmt.Errorf("%s %s: the secret is scheduled for deletion: %w", what, s.url, envsync.ErrConflict),
					"restore it with: aws secretsmanager restore-secret --secret-id "+s.name)
			}
		}
	}
	return fmt.Errorf("%s %s: %w", what, s.url, awscfg.Translate(err))
}

// scheduledForDeletion reports whether err says the secret is scheduled for deletion.
func scheduledForDeletion(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidRequestException" {
		return false
	}
	msg := strings.ToLower(ae.ErrorMessage()) // AWS: "scheduled for deletion"; moto: "marked deleted"
	return strings.Contains(msg, "deletion") || strings.Contains(msg, "deleted")
}
