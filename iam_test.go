package envsync_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/envsync/envsync"
)

// The config the README's IAM section is written for.
const iamReadmeConfig = `version: 1
apps:
  web-production:
    source: heroku://acme-production
    routes:
      feature: s3://acme-env/production/feature.env
      static:  tfvars:infra/production/app_env.auto.tfvars#app_static_env
      dynamic: tfvars:infra/production/app_env.auto.tfvars#app_dynamic_env
      secret:  secretsmanager://acme/production
    restart: ecs://acme-production/web
`

// A config that uses every option a policy depends on.
const iamFullConfig = `version: 1
defaults:
  source: heroku://{app}
  routes:
    feature: s3://acme-env/{app}/feature.env?sse=aws:kms&kms=1234abcd-12ab-34cd-56ef-1234567890ab
    static:  tfvars:infra/{app}.auto.tfvars#static
    secret:  secretsmanager://acme/{app}?kms=alias/acme-secrets
  restart: ecs://acme/{app}
apps:
  web: {}
  worker:
    routes:
      secret: secretsmanager://acme/worker?layout=per-key
`

var updateReadme = flag.Bool("update-readme-iam", false, "print the README's IAM policies")

// iamUses are the policies the README documents, in its order.
var iamUses = []struct {
	title string
	use   envsync.IAMUse
}{
	{"plan and import", envsync.IAMUse{Command: "import"}},
	{"drift and watch", envsync.IAMUse{Command: "drift"}},
	{"flags (list, get, set, unset, history, rollback, apply; also when set/unset write Heroku)", envsync.IAMUse{Command: "flags"}},
	{"flags with --restart", envsync.IAMUse{Command: "flags", Restart: true}},
}

func mustParse(t *testing.T, in string) *envsync.Config {
	t.Helper()
	cfg, err := envsync.ParseConfig("envsync.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkPolicyShape validates a policy document as IAM reads it: the fields
// IAM knows and no others, version 2012-10-17, unique alphanumeric Sids,
// Allow, actions of the services envsync calls, ARNs or "*", known
// condition operators.
func checkPolicyShape(t *testing.T, doc []byte) *envsync.Policy {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var p envsync.Policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not a policy document: %v\n%s", err, doc)
	}
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		t.Fatalf("version %q, %d statements", p.Version, len(p.Statement))
	}
	action := regexp.MustCompile(`^(s3|secretsmanager|ecs|kms):[A-Z][A-Za-z]+$`)
	arn := regexp.MustCompile(`^arn:aws:(s3:::[a-z0-9.-]+(/\S+)?|secretsmanager:\*:\*:secret:\S+|ecs:\*:\*:service/[\w-]+/[\w-]+|kms:\*:\*:key/[\w-]+)$`)
	sids := map[string]bool{}
	for _, st := range p.Statement {
		if !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(st.Sid) || sids[st.Sid] {
			t.Errorf("Sid %q: want unique letters and digits", st.Sid)
		}
		sids[st.Sid] = true
		if st.Effect != "Allow" || len(st.Action) == 0 || len(st.Resource) == 0 {
			t.Errorf("%s: effect %q, %d actions, %d resources", st.Sid, st.Effect, len(st.Action), len(st.Resource))
		}
		for _, a := range st.Action {
			if !action.MatchString(a) {
				t.Errorf("%s: action %q", st.Sid, a)
			}
		}
		for _, r := range st.Resource {
			if r != "*" && !arn.MatchString(r) {
				t.Errorf("%s: resource %q is not an ARN", st.Sid, r)
			}
		}
		for op := range st.Condition {
			if !slices.Contains([]string{"StringEquals", "StringLike", "ForAnyValue:StringEquals"}, op) {
				t.Errorf("%s: condition operator %q", st.Sid, op)
			}
		}
	}
	return &p
}

// allows reports whether p allows action on resource (exact strings).
func allows(p *envsync.Policy, action, resource string) bool {
	for _, st := range p.Statement {
		if slices.Contains(st.Action, action) && slices.Contains(st.Resource, resource) {
			return true
		}
	}
	return false
}

func actions(p *envsync.Policy) []string {
	var out []string
	for _, st := range p.Statement {
		out = append(out, st.Action...)
	}
	return out
}

func TestIAMPolicy(t *testing.T) {
	cfg := mustParse(t, iamFullConfig)
	policy := func(use envsync.IAMUse) *envsync.Policy {
		p, err := envsync.IAMPolicy(cfg.Apps, use)
		if err != nil {
			t.Fatal(err)
		}
		return checkPolicyShape(t, p.JSON())
	}
	webEnv := "arn:aws:s3:::acme-env/web/feature.env"
	webSecret := "arn:aws:secretsmanager:*:*:secret:acme/web-??????"
	workerSecrets := "arn:aws:secretsmanager:*:*:secret:acme/worker/*"
	webService := "arn:aws:ecs:*:*:service/acme/web"

	imp := policy(envsync.IAMUse{Command: "import"})
	for _, want := range [][2]string{
		{"s3:GetObject", webEnv}, {"s3:PutObject", webEnv}, {"s3:ListBucket", "arn:aws:s3:::acme-env"},
		{"secretsmanager:CreateSecret", webSecret}, {"secretsmanager:PutSecretValue", workerSecrets},
		{"secretsmanager:TagResource", webSecret}, {"secretsmanager:ListSecrets", "*"},
		{"kms:GenerateDataKey", "arn:aws:kms:*:*:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, {"kms:Decrypt", "*"},
	} {
		if !allows(imp, want[0], want[1]) {
			t.Errorf("import: %s on %s is not allowed", want[0], want[1])
		}
	}
	for _, a := range actions(imp) {
		if strings.HasPrefix(a, "ecs:") || a == "secretsmanager:DeleteSecret" {
			t.Errorf("import allows %s", a)
		}
	}
	if !allows(policy(envsync.IAMUse{Command: "import", Prune: true}), "secretsmanager:DeleteSecret", workerSecrets) {
		t.Error("import --prune cannot delete per-key secrets")
	}

	for _, cmd := range []string{"drift", "watch"} {
		p := policy(envsync.IAMUse{Command: cmd})
		for _, a := range actions(p) {
			if regexp.MustCompile(`:(Put|Create|Update|Delete|Tag|GenerateDataKey)`).MatchString(a) {
				t.Errorf("%s is read-only but allows %s", cmd, a)
			}
		}
		if !allows(p, "ecs:DescribeServices", webService) || !allows(p, "ecs:DescribeTaskDefinition", "*") || !allows(p, "secretsmanager:GetSecretValue", webSecret) {
			t.Errorf("%s cannot read what it compares", cmd)
		}
	}

	flags := policy(envsync.IAMUse{Command: "flags"})
	if !allows(flags, "s3:PutObject", webEnv) || !allows(flags, "s3:GetObjectVersion", webEnv) || !allows(flags, "s3:ListBucketVersions", "arn:aws:s3:::acme-env") {
		t.Error("flags cannot write, list or roll back the env file")
	}
	for _, a := range actions(flags) {
		if strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "ecs:") {
			t.Errorf("flags without --restart allows %s", a)
		}
	}
	restart := policy(envsync.IAMUse{Command: "flags", Restart: true})
	if !allows(restart, "ecs:UpdateService", webService) || !allows(restart, "ecs:DescribeServices", webService) {
		t.Error("flags --restart cannot roll the service")
	}
}

func TestIAMPolicyNothingToAllow(t *testing.T) {
	cfg := mustParse(t, "version: 1\napps:\n  a:\n    source: x.json\n    routes:\n      feature: file:f.env\n")
	if _, err := envsync.IAMPolicy(cfg.Apps, envsync.IAMUse{Command: "import"}); err == nil || !strings.Contains(err.Error(), "needs no AWS permission") {
		t.Fatalf("err = %v", err)
	}
	if _, err := envsync.IAMPolicy(cfg.Apps, envsync.IAMUse{Command: "cutover"}); err == nil {
		t.Fatal("an unknown command has a policy")
	}
}

// TestREADMEPolicies: every policy document in the README's IAM section is
// valid and is exactly what IAMPolicy writes for the README's config.
func TestREADMEPolicies(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, iamReadmeConfig)
	var want strings.Builder
	for _, u := range iamUses {
		p, err := envsync.IAMPolicy(cfg.Apps, u.use)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&want, "**%s**:\n\n```json\n%s```\n\n", u.title, p.JSON())
	}
	if *updateReadme {
		fmt.Print(want.String())
	}
	_, section, ok := strings.Cut(string(readme), "\n## Least-privilege IAM\n")
	if !ok {
		t.Fatal("README.md has no \"## Least-privilege IAM\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllStringSubmatch(section, -1)
	if len(blocks) != len(iamUses) {
		t.Fatalf("the IAM section has %d policies, want %d", len(blocks), len(iamUses))
	}
	for _, b := range blocks {
		checkPolicyShape(t, []byte(b[1]))
	}
	if !strings.Contains(section, strings.TrimSpace(want.String())) {
		t.Errorf("the README's policies differ from IAMPolicy's; run go test -run TestREADMEPolicies -update-readme-iam . and paste:\n%s", want.String())
	}
}
