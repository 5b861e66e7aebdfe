package envsync

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Policy is an AWS IAM policy document: the least privilege a command needs
// for a config's routes (IAMPolicy).
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Policy. Every statement envsync writes
// allows.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// IAMUse is what a policy is for.
type IAMUse struct {
	// Command is "import" (also covers plan), "drift", "watch" (same as
	// drift) or "flags" (list, get, set, unset, history, rollback, apply).
	Command string
	// Restart: flags with --restart [--wait] (ecs:UpdateService, DescribeServices).
	Restart bool
	// Prune: import --prune may delete per-key secrets.
	Prune bool
}

// IAMCommands lists the commands IAMPolicy knows.
var IAMCommands = []string{"import", "drift", "watch", "flags"}

// IAMPolicy returns the least-privilege policy for running use.Command on
// apps: only the S3 keys, secrets, ECS services and KMS keys their routes
// name, only the calls the stores make. Heroku needs no AWS permission
// (flags --heroku uses the Heroku token), tfvars and file: stores are local.
// Account and region are left as * so one document serves every stage.
func IAMPolicy(apps []*App, use IAMUse) (*Policy, error) {
	if !slices.Contains(IAMCommands, use.Command) {
		return nil, fmt.Errorf("%w: no IAM policy for %q (want %s)", ErrInvalid, use.Command, strings.Join(IAMCommands, ", "))
	}
	write := use.Command == "import" || use.Command == "flags"
	b := &policyBuilder{stmts: map[string]*Statement{}}
	for _, app := range apps {
		for _, class := range RoutedClasses {
			raw, ok := app.Routes[class]
			if !ok {
				continue
			}
			if use.Command == "flags" && class != Feature {
				continue // flags only touches the feature env file
			}
			u, err := url.Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("app %q: %w: %q", app.Name, ErrInvalid, raw)
			}
			switch u.Scheme {
			case "s3":
				b.s3(u, use, write, class == Feature)
			case "secretsmanager":
				b.secrets(u, use, write)
			}
		}
		if app.Restart != "" && (use.Command == "drift" || use.Command == "watch" || use.Restart) {
			cluster, service, err := ParseECSURL(app.Restart)
			if err != nil {
				return nil, fmt.Errorf("app %q: %w", app.Name, err)
			}
			arn := fmt.Sprintf("arn:aws:ecs:*:*:service/%s/%s", cluster, service)
			b.add("ECSDescribeServices", []string{"ecs:DescribeServices"}, arn, nil)
			if use.Restart {
				b.add("ECSRestartServices", []string{"ecs:UpdateService"}, arn, nil)
			} else {
				// DescribeTaskDefinition has no resource-level permissions.
				b.add("ECSDescribeTaskDefinitions", []string{"ecs:DescribeTaskDefinition"}, "*", nil)
			}
		}
	}
	p := &Policy{Version: "2012-10-17"}
	for _, sid := range slices.Sorted(maps.Keys(b.stmts)) {
		st := b.stmts[sid]
		slices.Sort(st.Resource)
		for _, values := range st.Condition {
			for k, v := range values {
				slices.Sort(v)
				values[k] = slices.Compact(v)
			}
		}
		p.Statement = append(p.Statement, *st)
	}
	if len(p.Statement) == 0 {
		return nil, WithHint(fmt.Errorf("%w: %s needs no AWS permission for these apps (no s3://, secretsmanager:// or ecs:// in their routes)", ErrNotFound, use.Command),
			"tfvars: and file: stores are local files; Heroku uses HEROKU_API_KEY")
	}
	return p, nil
}

type policyBuilder struct{ stmts map[string]*Statement }

// add allows actions on resource in the statement sid, or in a numbered
// variant of it when sid already allows a different set of actions.
func (b *policyBuilder) add(sid string, actions []string, resource string, cond map[string]map[string][]string) {
	st := b.stmts[sid]
	for n := 2; st != nil && !slices.Equal(st.Action, actions); n++ {
		st = b.stmts[fmt.Sprintf("%s%d", sid, n)]
		if st == nil {
			sid = fmt.Sprintf("%s%d", sid, n)
		}
	}
	if st == nil {
		st = &Statement{Sid: sid, Effect: "Allow", Action: actions, Condition: cond}
		b.stmts[sid] = st
	} else {
		for op, values := range cond {
			for k, v := range values {
				st.Condition[op][k] = append(st.Condition[op][k], v...)
			}
		}
	}
	if !slices.Contains(st.Resource, resource) {
		st.Resource = append(st.Resource, resource)
	}
}

func (b *policyBuilder) s3(u *url.URL, use IAMUse, write, feature bool) {
	bucket, key := u.Host, strings.TrimPrefix(u.Path, "/")
	object := "arn:aws:s3:::" + bucket + "/" + key
	actions := []string{"s3:GetObject"}
	if write {
		actions = append(actions, "s3:PutObject")
	}
	// history and rollback read earlier versions, and so does every command
	// that asks who changed a flag (plan, import and drift hold or name a
	// change made with envsync flags; see Provenances) — only when a key
	// of the feature env file differs.
	versions := use.Command == "flags" || feature
	if versions {
		actions = append(actions, "s3:GetObjectVersion")
	}
	b.add(statementID("S3EnvFiles", actions), actions, object, nil)
	// Without s3:ListBucket a missing object (before the first import)
	// answers 403, not 404. It lists key names, never content; S3 checks it
	// without a prefix, so it cannot be narrowed to the key.
	list := []string{"s3:ListBucket"}
	if versions {
		// history and provenance list the key's versions and see whether versioning is on.
		list = append(list, "s3:ListBucketVersions", "s3:GetBucketVersioning")
	}
	b.add("S3Buckets", list, "arn:aws:s3:::"+bucket, nil)
	if k := u.Query().Get("kms"); k != "" {
		kms := []string{"kms:Decrypt"}
		if write {
			kms = append(kms, "kms:GenerateDataKey")
		}
		b.kms(statementID("KMSForS3", kms), kms, k, "s3.*.amazonaws.com")
	}
}

func (b *policyBuilder) secrets(u *url.URL, use IAMUse, write bool) {
	name := strings.Trim(u.Host+u.Path, "/")
	perKey := u.Query().Get("layout") == "per-key"
	arn := "arn:aws:secretsmanager:*:*:secret:" + name + "-??????" // Secrets Manager adds 6 characters
	if perKey {
		arn = "arn:aws:secretsmanager:*:*:secret:" + name + "/*"
		// ListSecrets and BatchGetSecretValue have no resource-level
		// permissions; BatchGetSecretValue still needs GetSecretValue on each.
		b.add("SecretsManagerList", []string{"secretsmanager:BatchGetSecretValue", "secretsmanager:ListSecrets"}, "*", nil)
	}
	actions := []string{"secretsmanager:GetSecretValue"}
	if write {
		// CreateSecret tags the secret managed-by=envsync: TagResource.
		actions = append(actions, "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:TagResource")
		if perKey && use.Prune {
			actions = append(actions, "secretsmanager:DeleteSecret")
		}
	}
	b.add(statementID("SecretsManager", actions), actions, arn, nil)
	if k := u.Query().Get("kms"); k != "" {
		kms := []string{"kms:Decrypt"}
		if write {
			kms = append(kms, "kms:GenerateDataKey")
		}
		b.kms(statementID("KMSForSecretsManager", kms), kms, k, "secretsmanager.*.amazonaws.com")
	}
}

// kms allows actions on a key (id or ARN), or on the key an alias names,
// only through the service that stores the data.
func (b *policyBuilder) kms(sid string, actions []string, key, via string) {
	cond := map[string]map[string][]string{"StringLike": {"kms:ViaService": {via}}}
	resource := key
	switch {
	case strings.HasPrefix(key, "arn:"):
	case strings.HasPrefix(key, "alias/"):
		// KMS authorizes the key, not the alias: match the alias by condition.
		resource = "*"
		cond["ForAnyValue:StringEquals"] = map[string][]string{"kms:ResourceAliases": {key}}
		sid += "Alias" + sidSafe(strings.TrimPrefix(key, "alias/"))
	default:
		resource = "arn:aws:kms:*:*:key/" + key
	}
	b.add(sid, actions, resource, cond)
}

// statementID names a statement by what it allows: read-only statements
// get a "Read" suffix so one policy never merges reads and writes.
func statementID(base string, actions []string) string {
	for _, a := range actions {
		if strings.Contains(a, "Put") || strings.Contains(a, "Create") || strings.Contains(a, "GenerateDataKey") {
			return base
		}
	}
	return base + "Read"
}

func sidSafe(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

// JSON is the policy document with one statement per line, as the README
// and envsync init print it; it is valid JSON that IAM accepts as is.
func (p *Policy) JSON() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  \"Version\": %q,\n  \"Statement\": [\n", p.Version)
	for i, st := range p.Statement {
		line, _ := json.Marshal(st)
		s := strings.NewReplacer(`":`, `": `, `,"`, `, "`).Replace(string(line))
		b.WriteString("    " + s)
		if i < len(p.Statement)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("  ]\n}\n")
	return []byte(b.String())
}
