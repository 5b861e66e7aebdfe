package envsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Stores answer questions about themselves, for wiring an ECS task
// definition and checking what a container really sees, through the
// optional one-method interfaces below: the engine never parses a store URL.

// EnvFileRef is how an ECS task definition loads an env-file store.
type EnvFileRef struct {
	// Location is the file as sinks/ecs reports a task definition's
	// environmentFiles entry: s3://BUCKET/KEY (no query).
	Location string
	// ObjectARN is the environmentFiles value: arn:PARTITION:s3:::BUCKET/KEY.
	ObjectARN string
	// BucketARN is the bucket, for s3:GetBucketLocation.
	BucketARN string
	// KMSKey is the key the object is encrypted with, or "" (then no
	// kms:Decrypt is needed).
	KMSKey string
	// Partition and Region are where the object lives.
	Partition, Region string
}

// EnvFileLocator is implemented by stores an ECS task can load with
// environmentFiles (sinks/s3). It makes no network call; errors wrap
// ErrInvalid when the AWS configuration has no region.
type EnvFileLocator interface {
	ECSEnvFile(ctx context.Context) (*EnvFileRef, error)
}

// SecretRef is how an ECS task definition's secrets entry reads one variable.
type SecretRef struct {
	Key string // the variable
	// SecretARN is the full ARN of the secret that holds it (with the random
	// suffix Secrets Manager adds), as DescribeSecret returns it.
	SecretARN string
	// JSONKey is the key inside a JSON secret, or "" when the secret holds the value.
	JSONKey string
	// ValueFrom is what the secrets entry's valueFrom must say: SecretARN, then
	// ":JSONKEY::" for a JSON secret.
	ValueFrom string
	// KMSKey is the secret's customer managed key (an ARN where known), or "".
	KMSKey string
}

// SecretLocator is implemented by stores whose secrets an ECS task
// definition can reference (sinks/secretsmanager). It returns one SecretRef
// per key, in keys' order, with one call per secret. A secret that does not
// exist yet is an error wrapping ErrNotFound.
type SecretLocator interface {
	ECSSecrets(ctx context.Context, keys []string) ([]SecretRef, error)
}

// SecretValue is what one secrets entry gives a container.
type SecretValue struct {
	Value string
	// Err says why ECS could not resolve it (wrapping ErrNotFound for a
	// missing secret or JSON key: the task would fail to start), or nil.
	Err error
}

// ValueFromResolver is implemented by stores that can read what a task
// definition's secrets entries give a container, the way ECS resolves them
// (sinks/secretsmanager: GetSecretValue with the version stage or id, then
// the JSON key). The result is keyed by valueFrom; a valueFrom it cannot read
// (an SSM parameter) is left out. Errors are for the whole call (access
// denied, unreachable).
type ValueFromResolver interface {
	ResolveValueFrom(ctx context.Context, valueFroms []string) (map[string]SecretValue, error)
}

// TerraformVariabler is implemented by stores kept as one Terraform map
// variable (sinks/tfvars): it returns the variable's name.
type TerraformVariabler interface {
	TerraformVariable() string
}

// Wiring is what an app's container needs in its task definition to see its
// variables, and what the task execution role must be allowed to read.
type Wiring struct {
	App       *App
	Container string // the container it is for (the config's container:, or "")
	EnvFiles  []EnvFileRef
	Secrets   []SecretRef
	// Environment holds the static and dynamic variables (never secrets).
	Environment map[string]string
	// TFVariables are the tfvars map variables the environment comes from,
	// in class order (static, dynamic), for the Terraform form.
	TFVariables []string
	// Policy is the least-privilege policy for the task execution role.
	Policy *Policy
	// Warnings are things to fix before the task definition works.
	Warnings []string

	literal []string // environment keys that come from no tfvars map
}

// RenderECS works out how the app's container loads every routed variable:
// the feature env file in environmentFiles, one secrets entry per secret
// (with the secret's full ARN, looked up with DescribeSecret), the static and
// dynamic variables as environment entries, and the execution role's policy.
// It reads the source and the stores (as plan does) and writes nothing.
func (e *Engine) RenderECS(ctx context.Context, cfg *Config, app *App) (*Wiring, error) {
	p, err := e.Plan(ctx, cfg, app)
	if err != nil {
		return nil, err
	}
	w := &Wiring{App: app, Container: app.Container, Environment: map[string]string{}}
	byClass := map[Class][]string{}
	value := map[string]string{}
	for _, en := range p.Entries {
		if en.Route != "" {
			byClass[en.Class] = append(byClass[en.Class], en.Name)
			value[en.Name] = en.Value
		}
	}
	wrap := func(err error) error { return fmt.Errorf("app %q: %w", app.Name, err) }

	// Feature, static and dynamic: an env-file store is loaded with
	// environmentFiles; a tfvars map becomes environment entries (in HCL, an
	// expression over the variable); anything else (a local file) becomes
	// literal environment entries.
	for _, class := range []Class{Feature, Static, Dynamic} {
		url, ok := app.Routes[class]
		if !ok {
			continue
		}
		switch st := p.Store(url).(type) {
		case EnvFileLocator:
			ref, err := st.ECSEnvFile(ctx)
			if err != nil {
				return nil, wrap(err)
			}
			if !slices.ContainsFunc(w.EnvFiles, func(f EnvFileRef) bool { return f.Location == ref.Location }) {
				w.EnvFiles = append(w.EnvFiles, *ref)
			}
			if snap := p.Snapshot(url); len(byClass[class]) > 0 && snap != nil && !snap.Exists {
				w.Warnings = append(w.Warnings, fmt.Sprintf("%s does not exist yet: a task fails to start without it; run envsync import first", url))
			}
		case TerraformVariabler:
			for _, k := range byClass[class] {
				w.Environment[k] = value[k]
			}
			if !slices.Contains(w.TFVariables, st.TerraformVariable()) {
				w.TFVariables = append(w.TFVariables, st.TerraformVariable())
			}
		default:
			if len(byClass[class]) == 0 {
				continue
			}
			for _, k := range byClass[class] {
				w.Environment[k] = value[k]
				w.literal = append(w.literal, k)
			}
			if class == Feature {
				w.Warnings = append(w.Warnings, fmt.Sprintf("feature → %s: ECS cannot load it, so its flags are rendered as environment entries (a change needs a new task definition); route feature to s3://BUCKET/KEY.env", url))
			}
		}
	}
	if keys := byClass[Secret]; len(keys) > 0 {
		url := app.Routes[Secret]
		loc, ok := p.Store(url).(SecretLocator)
		if !ok {
			return nil, WithHint(wrap(fmt.Errorf("secret → %s: %w: ECS cannot read secrets from it", url, ErrInvalid)),
				"route secret to secretsmanager://NAME")
		}
		refs, err := loc.ECSSecrets(ctx, keys)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				err = WithHint(err, "the task definition needs the secret's full ARN: run envsync import first")
			}
			return nil, wrap(err)
		}
		w.Secrets = refs
		if snap := p.Snapshot(url); snap != nil {
			var missing []string
			for _, k := range keys {
				if _, ok := snap.Vars[k]; !ok {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				w.Warnings = append(w.Warnings, fmt.Sprintf("%s lacks %s: ECS fails to start a task whose secret lacks a key; run envsync import first", url, strings.Join(missing, ", ")))
			}
		}
	}
	for _, k := range w.kmsKeys() {
		if !strings.HasPrefix(k, "arn:") {
			w.Warnings = append(w.Warnings, fmt.Sprintf("KMS key %q is not a key ARN: add kms:Decrypt on the key's ARN to the execution role's policy yourself", k))
		}
	}
	w.Policy = executionPolicy(w)
	return w, nil
}

// executionPolicy is the least the task execution role needs to start the
// container: s3:GetObject on each env file and s3:GetBucketLocation on its
// bucket (what the ECS developer guide lists for environmentFiles),
// secretsmanager:GetSecretValue on exactly the secrets referenced, and
// kms:Decrypt on customer managed keys.
func executionPolicy(w *Wiring) *Policy {
	doc := &Policy{Version: "2012-10-17", Statement: []Statement{}}
	var objects, buckets, secrets, keys []string
	add := func(list *[]string, v string) {
		// A KMS key that is not an ARN (an alias) cannot be a Resource: RenderECS warns about it.
		if strings.HasPrefix(v, "arn:") && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, f := range w.EnvFiles {
		add(&objects, f.ObjectARN)
		add(&buckets, f.BucketARN)
		add(&keys, f.KMSKey)
	}
	for _, s := range w.Secrets {
		add(&secrets, s.SecretARN)
		add(&keys, s.KMSKey)
	}
	if len(objects) > 0 {
		doc.Statement = append(doc.Statement,
			Statement{Sid: "ReadEnvFiles", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: objects},
			Statement{Sid: "LocateEnvFileBuckets", Effect: "Allow", Action: []string{"s3:GetBucketLocation"}, Resource: buckets})
	}
	if len(secrets) > 0 {
		slices.Sort(secrets)
		doc.Statement = append(doc.Statement, Statement{Sid: "ReadSecrets", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: secrets})
	}
	if len(keys) > 0 {
		doc.Statement = append(doc.Statement, Statement{Sid: "DecryptWithCustomerKeys", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: keys})
	}
	return doc
}

func (w *Wiring) kmsKeys() []string {
	var keys []string
	for _, f := range w.EnvFiles {
		keys = append(keys, f.KMSKey)
	}
	for _, s := range w.Secrets {
		keys = append(keys, s.KMSKey)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return k == "" })
}

// EnvironmentKeys lists the environment's keys, sorted.
func (w *Wiring) EnvironmentKeys() []string { return slices.Sorted(maps.Keys(w.Environment)) }
