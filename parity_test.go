package envsync

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestEffectiveEnv(t *testing.T) {
	ct := &DeployedContainer{
		EnvFiles:    []string{"s3://b/first.env", "s3://b/second.env"},
		Environment: map[string]string{"RAILS_ENV": "production", "BOTH": "from-environment"},
		Secrets: map[string]string{
			"DATABASE_URL": "arn:db",
			"BOTH":         "arn:both",
			"GONE":         "arn:gone",
			"PARAM":        "arn:aws:ssm:us-east-1:1:parameter/p",
		},
	}
	files := map[string]map[string]string{
		"s3://b/first.env":  {"FLAG": "first", "RAILS_ENV": "staging"},
		"s3://b/second.env": {"FLAG": "second", "ONLY_SECOND": "x"},
	}
	secrets := map[string]SecretValue{
		"arn:db":   {Value: "postgres://u:p@h/db"},
		"arn:both": {Value: "from-secret"},
		"arn:gone": {Err: ErrNotFound},
	}
	env := EffectiveEnv(ct, files, secrets)
	for k, want := range map[string]struct {
		value, kind, from string
		shadowed          []string
	}{
		"FLAG":         {"first", "file", "s3://b/first.env", []string{"s3://b/second.env"}},       // the first file wins
		"ONLY_SECOND":  {"x", "file", "s3://b/second.env", nil},                                    // a later file still adds keys
		"RAILS_ENV":    {"production", "environment", "environment", []string{"s3://b/first.env"}}, // environment beats files
		"BOTH":         {"from-secret", "secret", "arn:both", []string{"environment"}},             // a secret beats environment (the ECS agent)
		"DATABASE_URL": {"postgres://u:p@h/db", "secret", "arn:db", nil},
	} {
		ev := env[k]
		if ev == nil || ev.Value != want.value || ev.Kind != want.kind || ev.From != want.from || !slices.Equal(ev.Shadowed, want.shadowed) {
			t.Errorf("%s = %+v; want %+v", k, ev, want)
		}
	}
	if ev := env["GONE"]; ev == nil || !errors.Is(ev.Err, ErrNotFound) {
		t.Errorf("GONE = %+v; want ErrNotFound", ev)
	}
	if ev := env["PARAM"]; ev == nil || !ev.Unknown {
		t.Errorf("PARAM = %+v; want Unknown (no reader for SSM)", ev)
	}
}

func TestAppContainer(t *testing.T) {
	dep := func(cts ...DeployedContainer) *Deployment {
		return &Deployment{ServiceName: "api", TaskDefinition: "td:1", Containers: cts}
	}
	app := DeployedContainer{Name: "app", Essential: true}
	side := DeployedContainer{Name: "log-router"}
	api := DeployedContainer{Name: "api", Essential: true}
	for _, tc := range []struct {
		name, want string
		dep        *Deployment
	}{
		{"", "app", dep(side, app)},      // the only essential container
		{"", "api", dep(app, api, side)}, // several essential: the one named like the service
		{"", "app", dep(app)},            // the only container
		{"log-router", "log-router", dep(app, side)},
		{"", "", dep(app, DeployedContainer{Name: "worker", Essential: true})}, // ambiguous
		{"nope", "", dep(app, side)},
	} {
		ct, why := AppContainer(tc.dep, tc.name)
		got := ""
		if ct != nil {
			got = ct.Name
		}
		if got != tc.want || (ct == nil) == (why == "") {
			t.Errorf("AppContainer(%q) = %q, %q; want %q", tc.name, got, why, tc.want)
		}
	}
}

func TestExecutionPolicy(t *testing.T) {
	w := &Wiring{
		EnvFiles: []EnvFileRef{{ObjectARN: "arn:aws:s3:::acme/prod/feature.env", BucketARN: "arn:aws:s3:::acme", KMSKey: "arn:aws:kms:us-east-1:1:key/k"}},
		Secrets: []SecretRef{
			{Key: "B", SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf"},
			{Key: "A", SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf"},
		},
	}
	data, err := json.Marshal(executionPolicy(w))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource []string
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != "2012-10-17" || len(doc.Statement) != 4 {
		t.Fatalf("policy = %s (%v)", data, err)
	}
	want := map[string][]string{
		"s3:GetObject":                  {"arn:aws:s3:::acme/prod/feature.env"},
		"s3:GetBucketLocation":          {"arn:aws:s3:::acme"},
		"secretsmanager:GetSecretValue": {"arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf"}, // once, exactly that secret
		"kms:Decrypt":                   {"arn:aws:kms:us-east-1:1:key/k"},
	}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || len(s.Action) != 1 || !slices.Equal(s.Resource, want[s.Action[0]]) {
			t.Errorf("statement %+v; want resources %v", s, want[s.Action[0]])
		}
		for _, r := range s.Resource {
			if !strings.HasPrefix(r, "arn:") || strings.Contains(r, "*") {
				t.Errorf("resource %q is not one exact ARN", r)
			}
		}
	}
	// No customer key, no kms:Decrypt.
	w.EnvFiles[0].KMSKey = ""
	if data, _ := json.Marshal(executionPolicy(w)); strings.Contains(string(data), "kms:") {
		t.Errorf("policy without keys grants kms: %s", data)
	}
}

func TestHerokuReplacement(t *testing.T) {
	if r := HerokuReplacement("DYNO"); !strings.Contains(r, "task metadata endpoint") {
		t.Errorf("DYNO → %q", r)
	}
	if r := HerokuReplacement("HEROKU_APP_NAME"); !strings.Contains(r, "service name") {
		t.Errorf("HEROKU_APP_NAME → %q", r)
	}
	if r := HerokuReplacement("SOMETHING_ELSE"); r == "" {
		t.Error("no generic hint")
	}
}
