package classify

import (
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/rules"
)

func TestDetectValue(t *testing.T) {
	secrets := map[string]string{
		"aws-access-key-id":     "AKIAY7Y44QJPRGVQQJ7M",
		"slack-token":           "xoxb-1234567890-abcdefghijklmnop",
		"slack-webhook":         "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX",
		"stripe-secret-key":     "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
		"stripe-webhook-secret": "whsec_abcdefghijklmnopqrstuvwxyz0123",
		"github-token":          "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"google-api-key":        "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
		"sendgrid-key":          "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		"twilio-key":            "SK0123456789abcdef0123456789abcdef",
		"jwt":                   "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"pem-private-key":       "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
		"url-password":          "postgres://user:s3cr3t@db.example.com:5432/app",
		"url-query-secret":      "https://api.example.com/v1?api_key=abcdef123456",
		"url-key":               "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42",
		"high-entropy":          "b4c82aa5472af86a827be6775d56b03eb9da39ba695f10fbe2c5a7683dbdfcb5",
	}
	for want, v := range secrets {
		t.Run(want, func(t *testing.T) {
			id, reason, ok := DetectValue(v)
			if !ok || id != want {
				t.Fatalf("DetectValue = %q, %v; want %q", id, ok, want)
			}
			if strings.Contains(reason, v) {
				t.Fatalf("reason %q contains the value", reason)
			}
		})
	}
	for _, v := range []string{
		`{"type": "service_account", "token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}`,
		"Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz012345",
		"--api-key=AKIAY7Y44QJPRGVQQJ7M --region us-east-1",
	} {
		if _, reason, ok := DetectValue(v); !ok || !strings.Contains(reason, "inside the value") {
			t.Errorf("a token inside %q was not found (%q)", v, reason)
		}
	}
	public := []string{
		"production", "true", "5", "https://cdn.example.com/assets", "db.internal.example.com",
		"1745dcc5-7d57-405e-a424-06f08a5745f3", "pk_live_abcdefghijklmnopqrstuvwx", "en_US.UTF-8",
		"/app/tmp/cache", "Free shipping this week = yes!", "support@example.com", "v1.2.3-rc.4",
		"redis://localhost:6379/0", "Iv1.6549d5500826c17d", "mc3.dev.ec2.memcachier.com:11211",
		"some_really_long_identifier_name_here", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	}
	for _, v := range public {
		if id, _, ok := DetectValue(v); ok {
			t.Errorf("DetectValue(%q) = %s; want no credential", v, id)
		}
	}
}

func TestPrecedence(t *testing.T) {
	user, err := rules.Parse("rules.yaml", []byte(`
rules:
  - name: legacy
    match: "LEGACY_*"
    class: feature
    reason: legacy switches are flags
overrides:
  DATABASE_URL: static
  LEGACY_LIMIT: dynamic
allow:
  SENTRY_DSN_BROWSER: the browser DSN is public
`))
	if err != nil {
		t.Fatal(err)
	}
	c := New(user)
	dsn := "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"
	tests := []struct {
		name, value string
		class       envsync.Class
		rule        string
	}{
		{"DATABASE_URL", "postgres://u:p@host/db", envsync.Secret, "detector:url-password"}, // a credential beats an override
		{"DATABASE_URL", "postgres://host/db", envsync.Static, "override"},
		{"LEGACY_LIMIT", "10", envsync.Dynamic, "override"},       // override beats user rules
		{"LEGACY_CHECKOUT", "on", envsync.Feature, "rule:legacy"}, // user rules beat built-ins
		{"SENTRY_DSN_BROWSER", dsn, envsync.Static, "allow"},
		{"SENTRY_DSN", dsn, envsync.Secret, "detector:url-key"},
		{"WEB_CONCURRENCY", "3", envsync.Dynamic, "builtin:concurrency"},
		{"HEROKU_SLUG_COMMIT", "0123456789abcdef0123456789abcdef01234567", envsync.Ignore, "builtin:heroku-dyno-metadata"}, // allowed by the built-in rules
		{"NEW_RELIC_LICENSE_KEY", "0123456789abcdef0123456789abcdef01234567", envsync.Secret, "detector:high-entropy"},
		{"HEROKU_APP_NAME", "acme", envsync.Ignore, "builtin:heroku-dyno-metadata"},
		{"XYZZY", "Q9#zz", envsync.Secret, "default"},
		{"PGPASSWORD", "hunter2", envsync.Secret, "builtin:glued-secret-words"},
		{"TOKENIZER_MODEL", "bert", envsync.Static, "builtin:images-and-versions"},
		{"AWS_ACCESS_KEY_ID", "not-an-aws-format-id", envsync.Secret, "builtin:api-key"},
		{"NEXT_PUBLIC_DISABLE_SIGNUP", "true", envsync.Feature, "builtin:leading-switch"}, // the framework prefix is dropped first
		{"MAX_TOOT_CHARS", "500", envsync.Feature, "builtin:product-limits"},
	}
	for _, tt := range tests {
		d := c.Classify(envsync.Var{Name: tt.name, Value: tt.value})
		if d.Class != tt.class || d.Rule != tt.rule {
			t.Errorf("%s=%q: got %s by %s (%s); want %s by %s", tt.name, tt.value, d.Class, d.Rule, d.Reason, tt.class, tt.rule)
		}
		if d.Reason == "" {
			t.Errorf("%s: empty reason", tt.name)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"DATABASE_URL=postgres://u:p@h/d", "WEB_CONCURRENCY=3", "A=", "=", "x=\xff\xfe", "FOO_TOKEN=abc"} {
		f.Add(s)
	}
	c := New(nil)
	f.Fuzz(func(t *testing.T, s string) {
		name, value, _ := strings.Cut(s, "=")
		d := c.Classify(envsync.Var{Name: name, Value: value})
		if _, err := envsync.ParseClass(string(d.Class)); err != nil {
			t.Fatalf("invalid class %q", d.Class)
		}
		if d.Reason == "" || d.Rule == "" {
			t.Fatal("decision without a reason or rule")
		}
		if len(value) >= 8 && strings.Contains(d.Reason, value) {
			t.Fatalf("reason %q contains the value", d.Reason)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	c := New(nil)
	names := []string{"DATABASE_URL", "WEB_CONCURRENCY", "FEATURE_NEW_CHECKOUT", "RAILS_ENV", "STRIPE_SECRET_KEY", "S3_BUCKET", "SLACK_ALERTS_CHANNEL", "SIDEKIQ_CONCURRENCY", "APP_HOST", "LOG_LEVEL"}
	values := []string{"postgres://u:p@host:5432/db", "3", "true", "production", "sk_live_abcdefghijklmnopqrstuvwx", "acme-uploads", "#alerts", "12", "shop.example.com", "info"}
	vars := make([]envsync.Var, 10000)
	for i := range vars {
		vars[i] = envsync.Var{Name: names[i%len(names)] + "_" + string(rune('A'+i%26)), Value: values[i%len(values)]}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vars {
			c.Classify(v)
		}
	}
	b.ReportMetric(float64(len(vars))*float64(b.N)/b.Elapsed().Seconds(), "vars/s")
}
