package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
)

// How an ECS task definition names a secret (the ECS developer guide, "Pass
// Secrets Manager secrets through Amazon ECS environment variables"):
//
//	arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf:JSON-KEY:VERSION-STAGE:VERSION-ID
//
// The guide asks for the secret's full ARN (its "Specifying sensitive data"
// page: a bare name is accepted only for SSM parameters in the task's
// Region). Secrets Manager adds a hyphen and six random characters to every
// secret's ARN; its API accepts a partial ARN without them only when it
// matches exactly one secret, and a name that itself ends in "-" and six
// characters is then read as a full ARN (GetSecretValue/DescribeSecret,
// SecretId). So envsync never guesses: it asks DescribeSecret (ListSecrets for
// the per-key layout) for the full ARN, and renders that.

// describer is the call ECSSecrets adds to the store's api.
type describer interface {
	DescribeSecret(context.Context, *sm.DescribeSecretInput, ...func(*sm.Options)) (*sm.DescribeSecretOutput, error)
}

// ECSSecrets returns the secrets entry for each key: one DescribeSecret in
// the JSON layout (valueFrom ARN:KEY::), one paginated ListSecrets in the
// per-key layout (valueFrom the key's own secret ARN).
func (s *Store) ECSSecrets(ctx context.Context, keys []string) ([]envsync.SecretRef, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := awscfg.Load(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	refs := make([]envsync.SecretRef, 0, len(keys))
	if !s.perKey {
		d, ok := c.(describer)
		if !ok {
			return nil, fmt.Errorf("%s: the client cannot describe secrets", s.url)
		}
		out, err := d.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: &s.name})
		if err != nil {
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("%s: secret %q: %w", s.url, s.name, envsync.ErrNotFound)
			}
			return nil, s.wrap("describing", err)
		}
		arn := aws.ToString(out.ARN)
		kms := s.kmsARN(aws.ToString(out.KmsKeyId), arn, cfg.Region)
		for _, k := range keys {
			refs = append(refs, envsync.SecretRef{Key: k, SecretARN: arn, JSONKey: k, ValueFrom: arn + ":" + k + "::", KMSKey: kms})
		}
		return refs, nil
	}
	prefix := s.name + "/"
	found, err := s.listPerKey(ctx, c)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range keys {
		e, ok := found[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		arn := aws.ToString(e.ARN)
		refs = append(refs, envsync.SecretRef{Key: k, SecretARN: arn, ValueFrom: arn, KMSKey: s.kmsARN(aws.ToString(e.KmsKeyId), arn, cfg.Region)})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no secret %s%s: %w", s.url, prefix, strings.Join(missing, ", "+prefix), envsync.ErrNotFound)
	}
	return refs, nil
}

// kmsARN is the secret's customer managed key as an ARN, or "" for the
// default aws/secretsmanager key (which needs no kms:Decrypt grant).
func (s *Store) kmsARN(described, secretARN, region string) string {
	key := described
	if key == "" {
		key = s.kmsKey
	}
	if key == "" || key == "alias/aws/secretsmanager" {
		return ""
	}
	parts := strings.Split(secretARN, ":")
	if len(parts) < 5 {
		return key
	}
	return awscfg.KMSKeyARN(key, parts[1], parts[3], parts[4])
}

// valueFrom is one parsed secrets entry.
type valueFrom struct {
	secretID, jsonKey, stage, version string
}

// parseValueFrom splits a Secrets Manager valueFrom ARN; ok is false for
// anything else (an SSM parameter ARN or name).
func parseValueFrom(v string) (valueFrom, bool) {
	parts := strings.SplitN(v, ":", 10)
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
		return valueFrom{}, false
	}
	out := valueFrom{secretID: strings.Join(parts[:7], ":")}
	rest := append(parts[7:], "", "", "")
	out.jsonKey, out.stage, out.version = rest[0], rest[1], rest[2]
	return out, true
}

// ResolveValueFrom reads what each Secrets Manager valueFrom gives a
// container, as the ECS agent does: GetSecretValue of the secret (at the
// version stage or id, if given), then the JSON key, if given. One call per
// distinct secret and version.
func (s *Store) ResolveValueFrom(ctx context.Context, valueFroms []string) (map[string]envsync.SecretValue, error) {
	c, err := s.api(ctx)
	if err != nil {
		return nil, err
	}
	type got struct {
		value string
		err   error
	}
	cache := map[valueFrom]got{}
	out := map[string]envsync.SecretValue{}
	for _, raw := range valueFroms {
		vf, ok := parseValueFrom(raw)
		if !ok {
			continue
		}
		id := valueFrom{secretID: vf.secretID, stage: vf.stage, version: vf.version}
		g, seen := cache[id]
		if !seen {
			in := &sm.GetSecretValueInput{SecretId: aws.String(vf.secretID)}
			if vf.stage != "" {
				in.VersionStage = aws.String(vf.stage)
			}
			if vf.version != "" {
				in.VersionId = aws.String(vf.version)
			}
			res, err := c.GetSecretValue(ctx, in)
			var nf *types.ResourceNotFoundException
			switch {
			case errors.As(err, &nf):
				g.err = fmt.Errorf("secret %s: %w", vf.secretID, envsync.ErrNotFound)
			case err != nil:
				return nil, s.wrap("reading", err)
			default:
				g.value = aws.ToString(res.SecretString)
			}
			cache[id] = g
		}
		if g.err != nil || vf.jsonKey == "" {
			out[raw] = envsync.SecretValue{Value: g.value, Err: g.err}
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(g.value), &obj); err != nil {
			out[raw] = envsync.SecretValue{Err: fmt.Errorf("secret %s is not a JSON object, so it has no key %q: %w", vf.secretID, vf.jsonKey, envsync.ErrNotFound)}
			continue
		}
		field, ok := obj[vf.jsonKey]
		if !ok {
			out[raw] = envsync.SecretValue{Err: fmt.Errorf("secret %s has no key %q: %w", vf.secretID, vf.jsonKey, envsync.ErrNotFound)}
			continue
		}
		var str string
		if json.Unmarshal(field, &str) != nil {
			str = string(field)
		}
		out[raw] = envsync.SecretValue{Value: str}
	}
	return out, nil
}

var (
	_ envsync.SecretLocator     = (*Store)(nil)
	_ envsync.ValueFromResolver = (*Store)(nil)
)
