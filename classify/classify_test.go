package classify

import (
	"encoding/base64"
	"math/rand/v2"
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
		"url-token-path":        "https://hooks.example.com/catch/Zx9Qw2Lk8Vb3Nm7Rt5Yp1Hs4",
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
		"abcdefghkmnpqrstuvwxyzABCDEFGHKLMNPQRSTUVWXYZ23456789", // an id alphabet written out
		"/opt/documenso/cert.p12", "projects/acme-prod/locations/us-east1/keyRings/signing/cryptoKeys/doc",
		"https://storage.gra.cloud.ovh.net/v1/AUTH_a92d91b0dca976940894e277504bd1a7/media", // an account id inside the path
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
  STRIPE_PRICE_ID: feature
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
		{"LEGACY_LIMIT", "10", envsync.Dynamic, "override"},                        // override beats user rules
		{"STRIPE_PRICE_ID", "price_1NqXyZAbCdEfGhIj", envsync.Feature, "override"}, // an override beats a public format
		{"STRIPE_PRICE", "price_1NqXyZAbCdEfGhIj", envsync.Static, "public:stripe-object-id"},
		{"LEGACY_CHECKOUT", "on", envsync.Feature, "rule:legacy"}, // user rules beat built-ins
		{"SENTRY_DSN_BROWSER", dsn, envsync.Static, "allow"},
		{"SENTRY_DSN", dsn, envsync.Secret, "detector:url-key"},
		{"WEB_CONCURRENCY", "3", envsync.Dynamic, "builtin:concurrency"},
		{"HEROKU_SLUG_COMMIT", "0123456789abcdef0123456789abcdef01234567", envsync.Ignore, "builtin:heroku-dyno-metadata"}, // allowed by the built-in rules
		{"NEW_RELIC_LICENSE_KEY", "8c3f0e51d9a27b46e0f1c9a8d27e5b3f6a4c1d09", envsync.Secret, "detector:high-entropy"},
		{"HEROKU_APP_NAME", "acme", envsync.Ignore, "builtin:heroku-dyno-metadata"},
		{"XYZZY", "Q9#zz", envsync.Secret, "default"},
		{"PGPASSWORD", "hunter2", envsync.Secret, "builtin:glued-secret-words"},
		{"TOKENIZER_MODEL", "bert", envsync.Static, "builtin:images-and-versions"},
		{"AWS_ACCESS_KEY_ID", "not-an-aws-format-id", envsync.Secret, "builtin:api-key"},
		{"NEXT_PUBLIC_DISABLE_SIGNUP", "true", envsync.Feature, "builtin:leading-switch"}, // the framework prefix is dropped first
		{"MAX_TOOT_CHARS", "500", envsync.Feature, "builtin:product-max-min"},
		{"GOOGLE_CLIENT_ID", "209780879616-csuqsqzmv08hdg6shmi8k0qi0p1e5279.apps.googleusercontent.com", envsync.Static, "public:google-oauth-client-id"},
		{"STRIPE_SECRET_KEY", "pk_live_abcdefghijklmnopqrstuvwx", envsync.Secret, "detector:stripe-publishable-key"}, // conflict: secret wins
		{"LINEAR_CLIENT_ID", "d709548d98358b889b325e37fb8fc068", envsync.Static, "public:client-id"},
		{"CLOUDFLARE_ACCOUNT_ID", "f5282d96aac0a678c0422fd8edd9f5cf", envsync.Static, "public:id"},
		{"TWITTER_APP_ID", "QBEDaB8VWURfkVsfqZea7PjH5xY2", envsync.Secret, "detector:high-entropy"}, // a key's alphabet under an id name
		{"AWS_ACCESS_KEY_ID", "8c3f0e51d9a27b46e0f1c9a8d27e5b3f6a4c1d09", envsync.Secret, "detector:high-entropy"},
		{"TOKEN_EXPIRY_DAYS", "30", envsync.Feature, "builtin:credential-setting-duration"},
		{"RESET_PASSWORD_WITHIN", "6.hours", envsync.Feature, "builtin:credential-setting-duration"},
		{"PASSWORD_MIN_LENGTH", "12", envsync.Feature, "builtin:credential-setting-duration"},
		{"LDAP_MAIL_KEY", "mail", envsync.Static, "builtin:key-attribute-name"},
		{"SIGNING_KEY", "mail", envsync.Secret, "builtin:private-key"},
		{"HEARTBEAT_URL", "https://hc-ping.com/1745dcc5-7d57-405e-a424-06f08a5745f3", envsync.Secret, "builtin:heartbeat-url"},
		{"HCTI_API_USER_ID", "1745dcc5-7d57-405e-a424-06f08a5745f3", envsync.Secret, "builtin:api-key"},
		{"SEATS_PER_PLAN", "5", envsync.Feature, "builtin:product-numbers"},
		{"DB_POOL", "10", envsync.Dynamic, "builtin:concurrency"},
		{"USE_S3_STORAGE", "true", envsync.Static, "builtin:service-wiring-switches"},
		{"ALLOW_GUEST_CHECKOUT", "1", envsync.Feature, "builtin:leading-switch"},
		{"CACHE_DRIVER", "redis", envsync.Static, "builtin:drivers-and-providers"},
		{"REGISTRATION_MODE", "approved", envsync.Feature, "builtin:product-modes"},
		{"ADMIN_EMAILS", "a@acme.example,b@acme.example", envsync.Feature, "builtin:product-lists"},
		{"OFFICE_NETWORKS", "10.0.0.0/8,172.16.0.0/12", envsync.Static, "builtin:value-word-list"},
		{"PRIMARY_COLOR", "#ff6600", envsync.Feature, "builtin:value-colour"},
		{"SIDECAR", "ghcr.io/acme/worker:1.4.2", envsync.Static, "builtin:value-image"},
		{"SAML_CERT", "-----BEGIN CERTIFICATE----- MIIDDjCCAfagAwIBAgIUT04z", envsync.Static, "public:pem-certificate"},
		{"SSL_KEY", "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2Z0lCQURBTkJna3Fo", envsync.Secret, "detector:pem-private-key"},
		{"DATABASE_URL_TEST", "postgres://localhost:5432/app_test", envsync.Ignore, "builtin:test-only"},
		{"JWT_EXPIRES_IN", "7d", envsync.Feature, "builtin:credential-setting-duration"},
		{"OTP_ISSUER", "Acme", envsync.Static, "builtin:credential-name"},
		{"DB_MAX_CONN_LIFETIME", "30m", envsync.Dynamic, "builtin:timeouts-and-retries"},
		{"MAX_BODY_SIZE", "10mb", envsync.Dynamic, "builtin:memory-and-batches"},
		{"CRONITOR_URL", "https://cronitor.link/p/abc123def456ghi789/nightly", envsync.Secret, "builtin:heartbeat-url"},
		{"RECAPTCHA_SITE_KEY", "6LcAbCdEfGhIjKlMnOpQrStUvWxYz0123456789AB", envsync.Static, "public:public-key"},
		{"SWIFT_URL", "https://storage.example.net/v1/AUTH_a92d91b0dca976940894e277504bd1a7/media", envsync.Static, "builtin:hosts-urls-endpoints"},
		{"FORCE_SSL_REDIRECT", "true", envsync.Static, "builtin:transport-security"},
		{"SESSION_KEY", "_acme_session", envsync.Static, "builtin:cookie-name"},
		{"SESSION_KEY", "keyboardcat", envsync.Secret, "builtin:private-key"},
		{"ATTR_ENCRYPTED_KEY", "changeme", envsync.Secret, "builtin:key-suffix"},
		{"MAGIC_LINK_EXPIRY", "15m", envsync.Feature, "builtin:lifetime-policy"},
		{"THROTTLE_ANON", "100/day", envsync.Dynamic, "builtin:rates"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=abc123", envsync.Secret, "builtin:auth-headers"},
		{"PROXY_HEADERS_TRUSTED", "true", envsync.Static, "builtin:transport-security"},                                        // a switch is not a header
		{"RECAPTCHA_SECRET_KEY_V3", "6LfqEO6JAAAAAbvjDaAnTRnWJ-V9hIwbKaVhVH5n", envsync.Secret, "detector:recaptcha-site-key"}, // reCAPTCHA secrets share the format
		{"OBAN_QUEUES", "default:10,mailers:20", envsync.Dynamic, "builtin:queue-weights"},
		{"CELERY_TASK_TIME_LIMIT", "300", envsync.Dynamic, "builtin:timeouts-and-retries"},
		{"BODY_PARSER_LIMIT", "10mb", envsync.Dynamic, "builtin:memory-and-batches"},
		{"MAINTENANCE_MODE", "true", envsync.Feature, "builtin:feature-flag-words"},
		{"SMTP_AUTH", "login", envsync.Static, "builtin:auth-mechanism"},
		{"HTTP_BASIC", "admin:hunter2", envsync.Secret, "default"},                        // user:password is not an image
		{"POSTGRES_IMAGE", "postgres:16", envsync.Static, "builtin:images-and-versions"},  // by name
		{"SIDECAR", "postgres:16.2", envsync.Static, "builtin:value-image"},               // by shape
		{"SMTP_SETTINGS", `{"user":"a","password":"hunter2"}`, envsync.Secret, "default"}, // JSON holding a credential
		{"UI_SETTINGS", `{"theme":"dark","density":"compact"}`, envsync.Static, "builtin:value-json"},
		{"FOO_API_KEY_TEST", "x7", envsync.Secret, "builtin:api-key"}, // a test credential is still a credential
		{"MYSQL_ROOT_PW", "hunter2", envsync.Secret, "builtin:password"},
		{"B2_APPLICATION_KEY_ID", "0025a3b4c5d6e7f0000000001", envsync.Secret, "builtin:api-key"}, // pairs with a key
		{"KMS_KEY_ID", "1234abcd-12ab-34cd-56ef-1234567890ab", envsync.Static, "builtin:public-ids"},
		{"DROPBOX_APP", "m254foq25rf4bz4", envsync.Secret, "default"}, // letters and digits mixed: not a word
		{"WALLET_SEED", "correct horse battery staple", envsync.Secret, "builtin:seed-phrase"},
		{"SEED_DATABASE", "false", envsync.Static, "builtin:service-wiring-switches"},
		{"ENABLE_REFERRALS", "true", envsync.Feature, "builtin:leading-switch"},
		{"PASSWORD_REQUIRE_SYMBOLS", "true", envsync.Feature, "builtin:switch-words"}, // a credential word that only modifies
		{"DB_PASSWORD", "true", envsync.Secret, "builtin:password"},                   // the head decides whatever the value
		{"SECRETS_MANAGER_REGION", "eu-west-1", envsync.Static, "builtin:credential-name"},
		{"SINGLE_TENANT", "true", envsync.Static, "builtin:service-wiring-switches"},
		{"ORDER_MIN_AMOUNT", "10.00", envsync.Feature, "builtin:product-numbers"},
		{"DEFAULT_USER_ROLE", "member", envsync.Feature, "builtin:default-role"},
		{"FREE_MEMORY_MB", "512", envsync.Dynamic, "builtin:memory-and-batches"},
		{"MAILER_AUTH_METHOD", "plain", envsync.Static, "builtin:auth-mechanism"},
		{"LICENSE_KEY", "6f0c9d6e-1b2a-4c3d-8e9f-0a1b2c3d4e5f", envsync.Secret, "builtin:private-key"},
		{"TWILIO_MESSAGING_SERVICE_SID", "MG9752274e9e519418a7406176694466fa", envsync.Static, "public:twilio-messaging-service-sid"},
		{"SSL_CERT_PATH", "/etc/ssl/certs/app.pem", envsync.Static, "builtin:credential-file-path"},
		{"STRIPE_PRICE_PRO", "price_1NqXyZAbCdEfGhIj", envsync.Static, "public:stripe-object-id"},
		{"LOCKOUT_DURATION", "15m", envsync.Feature, "builtin:credential-setting-duration"},
		{"UPLOAD_BATCH_SIZE", "500", envsync.Dynamic, "builtin:memory-and-batches"},
		{"LISTEN_BACKLOG", "1024", envsync.Dynamic, "builtin:concurrency"},
		{"HEROKU_PARENT_APP_NAME", "acme-staging", envsync.Ignore, "builtin:test-and-platform"},
		{"DEFAULT_PLAN", "free", envsync.Feature, "builtin:product-modes"},
		{"SMTP_AUTH", "hunter2", envsync.Secret, "builtin:key-suffix"},
		{"NOTIFICATIONS_FROM_EMAIL", "noreply@acme.example", envsync.Static, "builtin:senders"},
		{"ALERT_RECIPIENTS", "ops@acme.example", envsync.Feature, "builtin:notification-targets"},
		{"JWT_EXPIRATION_TIME", "3600s", envsync.Feature, "builtin:credential-setting-duration"},
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

// A name-identified secret moves to another class only through allow:.
func TestNameSecretNeedsAllow(t *testing.T) {
	user, err := rules.Parse("rules.yaml", []byte(`
rules:
  - {name: everything, match: "*", class: static, reason: we route it all to tfvars}
overrides:
  STRIPE_SECRET_KEY: feature
allow:
  SMTP_PASSWORD: the relay is open on our VPC; this is a placeholder
`))
	if err != nil {
		t.Fatal(err)
	}
	c := New(user)
	for _, tt := range []struct {
		name, value string
		class       envsync.Class
		rule        string
	}{
		{"DB_PASSWORD", "hunter2", envsync.Secret, "builtin:password"},      // the user rule may not move it
		{"STRIPE_SECRET_KEY", "changeme", envsync.Secret, "builtin:secret"}, // nor the override
		{"SMTP_PASSWORD", "none", envsync.Static, "rule:everything"},        // allow: lets the rule apply
		{"APP_NAME", "acme", envsync.Static, "rule:everything"},             // not a secret by name: the rule applies
		{"XYZZY", "Q9#zz", envsync.Static, "rule:everything"},               // the fail-safe is not a name: the rule applies
	} {
		d := c.Classify(envsync.Var{Name: tt.name, Value: tt.value})
		if d.Class != tt.class || d.Rule != tt.rule {
			t.Errorf("%s: got %s by %s (%s); want %s by %s", tt.name, d.Class, d.Rule, d.Reason, tt.class, tt.rule)
		}
		if d.Class == envsync.Secret && !strings.Contains(d.Reason, "allow:") {
			t.Errorf("%s: the reason %q does not say how to move it (allow:)", tt.name, d.Reason)
		}
	}
}

// Every decision says whether it rests on strong evidence or a fallback.
func TestConfidence(t *testing.T) {
	c := New(nil)
	for _, tt := range []struct {
		name, value string
		want        envsync.Confidence
	}{
		{"STRIPE_SECRET_KEY", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", envsync.Strong}, // a token format
		{"RAILS_ENV", "production", envsync.Strong},                               // an exact convention
		{"WEB_CONCURRENCY", "3", envsync.Strong},
		{"XYZZY", "Q9#zz", envsync.Weak},     // nothing matched
		{"FROBNICATE", "true", envsync.Weak}, // the value's shape alone
		{"WIDGETS", "42", envsync.Weak},
		{"STRIPE_SECRET_KEY", "pk_live_abcdefghijklmnopqrstuvwx", envsync.Weak}, // conflicting evidence
	} {
		d := c.Classify(envsync.Var{Name: tt.name, Value: tt.value})
		if d.Confidence != tt.want {
			t.Errorf("%s=%q: %s by %s is %q; want %q", tt.name, tt.value, d.Class, d.Rule, d.Confidence, tt.want)
		}
		if d.NeedsReview() != (tt.want == envsync.Weak) {
			t.Errorf("%s: NeedsReview = %v", tt.name, d.NeedsReview())
		}
	}
}

func TestPublicValue(t *testing.T) {
	public := map[string]string{
		"stripe-publishable-key":       "pk_live_5025924b2cb515ef6b408051",
		"stripe-object-id":             "price_1OaBcDeFgHiJkLmN",
		"google-oauth-client-id":       "706354008683-ftb2aypg7xn1qn61xlqmdbs4so4zquyb.apps.googleusercontent.com",
		"github-client-id":             "Iv1.c997a5ec1529409c",
		"recaptcha-site-key":           "6LfqEO6JAAAAAbvjDaAnTRnWJ-V9hIwbKaVhVH5n",
		"okta-client-id":               "0oaGAJxCoKHudUTEpRK2",
		"twilio-messaging-service-sid": "MG9752274e9e519418a7406176694466fa",
		"analytics-id":                 "G-4XZ1K2C3D4",
		"pem-certificate":              "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURXekNDQWtPZ0F3SUJB",
	}
	for want, v := range public {
		if id, _, ok := PublicValue(v); !ok || id != want {
			t.Errorf("PublicValue(%q) = %q, %v; want %q", v, id, ok, want)
		}
	}
	for _, v := range []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2Z0lCQURBTkJna3Fo", "hunter2", ""} {
		if id, _, ok := PublicValue(v); ok {
			t.Errorf("PublicValue(%q) = %s; want not public", v, id)
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
		if d.Confidence != envsync.Strong && d.Confidence != envsync.Weak {
			t.Fatalf("decision without a confidence: %q", d.Confidence)
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

// A name that says key material (SECRET_KEY, PRIVATE_KEY, SSL_KEY) moves off
// secret only when its value is unmistakably a file path; a value that merely
// contains "/" (base64 has it, so do passwords) stays secret.
func TestKeyNameWithSlashStaysSecret(t *testing.T) {
	c := New(nil)
	names := []string{"SECRET_KEY", "PRIVATE_KEY", "JWT_SECRET_KEY", "MASTER_KEY", "DJANGO_SECRET_KEY", "SSL_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "SECRET_KEY_FILE", "SIGNING_SECRET_PATH"}
	values := []string{
		"w9z2k/8x#q!v@e3m^p",           // punctuation of a password
		"MIIEv/QIBADANBg",              // base64 of a DER key
		"Xk9/mP2q",                     // short base64
		"8f2d/19ac",                    // hex halves
		"django-insecure/4k#9x!mq2",    // a Django key
		"/9j/4AAQSkZJRgABAQ",           // base64 that starts with a slash
		"/Xk9mP2qL8vN3bR7/tY1wZ5c",     // ditto, random segments
		"abc/DEF+ghi=",                 // base64 padding
		"keys/Zx9Qw2Lk8Vb3.pem/oops",   // a random segment in the middle
		"~/$HOME/.ssh/id_rsa",          // shell expansion is not a path literal
		"/run/secrets/key#frag",        // no '#' in a path
		"s3cr3t/pa55.word/with spaces", // spaces
	}
	for _, n := range names {
		for _, v := range values {
			if d := c.Classify(envsync.Var{Name: n, Value: v}); d.Class != envsync.Secret {
				t.Errorf("%s=%q: %s by %s; want secret", n, v, d.Class, d.Rule)
			}
		}
	}
	// Base64 of a key (16 bytes or more), whatever its slashes, is never a
	// path. (A 4- to 12-byte base64 string can spell a word path, /abc/de7,
	// under a *_PATH name about once in ten thousand; no key is that short.)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		b := make([]byte, 16+rng.IntN(48))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		v := base64.StdEncoding.EncodeToString(b)
		if !strings.Contains(v, "/") {
			continue
		}
		for _, n := range []string{"SECRET_KEY", "PRIVATE_KEY", "SSL_KEY", "SECRET_KEY_PATH"} {
			if d := c.Classify(envsync.Var{Name: n, Value: v}); d.Class != envsync.Secret {
				t.Errorf("%s=%q (base64): %s by %s; want secret", n, v, d.Class, d.Rule)
			}
		}
	}
	// Real file locations stay static.
	for _, tt := range []struct{ name, value, rule string }{
		{"SSL_KEY", "/etc/ssl/private/app.key", "builtin:credential-file-location"},
		{"SSL_KEY", "config/ssl/server.key", "builtin:credential-file-location"},
		{"SSL_KEY", "./certs/client-key.pem", "builtin:credential-file-location"},
		{"JWT_PRIVATE_KEY", "~/.keys/jwt_rs256.pem", "builtin:credential-file-location"},
		{"GOOGLE_APPLICATION_CREDENTIALS", "/etc/gcp/service-account.json", "builtin:credential-file-location"},
		{"SECRET_KEY", "/run/secrets/DJANGO_SECRET_KEY", "builtin:credential-file-location"},
		{"APP_CA", "../shared/ca-bundle.crt", "builtin:credential-file-location"},
		{"SECRET_KEY_FILE", "/run/secrets/outline_secret_key", "builtin:credential-file-path"},
		{"SIGNING_SECRET_PATH", "projects/acme/secrets/signing-cert/versions/latest", "builtin:credential-file-path"},
		{"PRIVATE_KEY_DIR", "/var/lib/app/keys/", "builtin:credential-file-path"},
	} {
		if d := c.Classify(envsync.Var{Name: tt.name, Value: tt.value}); d.Class != envsync.Static || d.Rule != tt.rule {
			t.Errorf("%s=%q: %s by %s; want static by %s", tt.name, tt.value, d.Class, d.Rule, tt.rule)
		}
	}
}

// An Authorization header value carries its credential whatever the name:
// Bearer, Basic and Token schemes are secret unless the credential part is a
// placeholder.
func TestAuthHeaderValue(t *testing.T) {
	c := New(nil)
	b64 := base64.StdEncoding.EncodeToString
	for _, v := range []string{
		"Bearer aB3dE5fG7hJ9kL1mN2pQ4rS6",
		"bearer Xk9mP2qL",
		"BEARER abc12345",
		"Basic " + b64([]byte("user:password123")),
		"Basic " + b64([]byte("admin:hunter2")),
		"Basic " + b64([]byte("u:p")), // short, still user:password
		"Basic " + b64([]byte("rk_live_abc:")),
		"Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
		"token ghAbCdEfGh12",
		"Authorization: Bearer Xk9mP2qL8vN3",
		`{"Authorization": "Bearer Xk9mP2qL8vN3"}`,
		"Authorization=Bearer Xk9mP2qL8vN3,X-Trace=on",
	} {
		if id, _, ok := DetectValue(v); !ok {
			t.Errorf("DetectValue(%q): no credential found", v)
		} else if d := c.Classify(envsync.Var{Name: "FEATURE_Y", Value: v}); d.Class != envsync.Secret {
			t.Errorf("FEATURE_Y=%q: %s by %s (detector %s); want secret", v, d.Class, d.Rule, id)
		}
		for _, name := range []string{"FEATURE_W", "API_AUTH_HEADER", "UPSTREAM_AUTH", "X_HEADER"} {
			if d := c.Classify(envsync.Var{Name: name, Value: v}); d.Class != envsync.Secret {
				t.Errorf("%s=%q: %s by %s; want secret", name, v, d.Class, d.Rule)
			}
		}
	}
	for _, v := range []string{
		"Bearer", "bearer", "basic", "Bearer <token>", "Bearer ${TOKEN}", "Bearer $API_TOKEN", "Bearer {{token}}",
		"Bearer %s", "Bearer YOUR_TOKEN_HERE", "Bearer your-token-here", "Bearer YourTokenHere", "Token xxxxxxxx",
		"Basic <base64 of user:password>", "Basic realm", "basic plan for 10 users", "token based login", "Bearer token",
	} {
		if id, _, ok := DetectValue(v); ok {
			t.Errorf("DetectValue(%q) = %s; want no credential (a placeholder or a word)", v, id)
		}
	}
}

// A random string is a key at the same length whether it is the whole value
// or part of one (JSON, a header, a command line).
func TestContainedTokenThreshold(t *testing.T) {
	for _, tok := range []string{"aB3dE5fG7hJ9kL1mN2pQ4rS6", "Zx9Qw2Lk8Vb3Nm7Rt5Yp", "Qm7xT2vR9kLp4Wz8Hs3Nb6Yd1Fc5Gj0"} {
		if id, _, ok := DetectValue(tok); !ok || id != "high-entropy" {
			t.Fatalf("DetectValue(%q) = %q, %v; want high-entropy", tok, id, ok)
		}
		for _, v := range []string{
			`{"api_key": "` + tok + `"}`,
			"X-Api-Key: " + tok,
			"--key " + tok + " --region eu-west-1",
			"ApiKey " + tok,
			"user=alice;key=" + tok,
		} {
			if id, _, ok := DetectValue(v); !ok || id != "high-entropy" {
				t.Errorf("DetectValue(%q) = %q, %v; want high-entropy (it contains a %d-character key)", v, id, ok, len(tok))
			}
		}
	}
}
