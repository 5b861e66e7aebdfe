package secretsmanager

import (
	"errors"
	"strings"
	"testing"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/sinktest"
)

func TestParseValueFrom(t *testing.T) {
	for in, want := range map[string]valueFrom{
		"arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf:DATABASE_URL::":           {"arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf", "DATABASE_URL", "", ""},
		"arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf":                          {secretID: "arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf"},
		"arn:aws:secretsmanager:us-east-1:1:secret:acme/prod/KEY-AbCdEf":                      {secretID: "arn:aws:secretsmanager:us-east-1:1:secret:acme/prod/KEY-AbCdEf"},
		"arn:aws-cn:secretsmanager:cn-north-1:1:secret:x-AbCdEf:K:AWSPREVIOUS:":               {"arn:aws-cn:secretsmanager:cn-north-1:1:secret:x-AbCdEf", "K", "AWSPREVIOUS", ""},
		"arn:aws:secretsmanager:us-east-1:1:secret:x-AbCdEf::AWSCURRENT:0123-abcd":            {"arn:aws:secretsmanager:us-east-1:1:secret:x-AbCdEf", "", "AWSCURRENT", "0123-abcd"},
		"arn:aws:secretsmanager:us-east-1:1:secret:x-AbCdEf:K:AWSCURRENT:0123-abcd:extra:bit": {"arn:aws:secretsmanager:us-east-1:1:secret:x-AbCdEf", "K", "AWSCURRENT", "0123-abcd:extra:bit"},
	} {
		got, ok := parseValueFrom(in)
		if !ok || got != want {
			t.Errorf("parseValueFrom(%q) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "acme/prod:KEY::", "arn:aws:ssm:us-east-1:1:parameter/x", "arn:aws:secretsmanager:us-east-1:1:secret:", "arn:aws:secretsmanager:us-east-1"} {
		if got, ok := parseValueFrom(in); ok {
			t.Errorf("parseValueFrom(%q) = %+v; want not a Secrets Manager ARN", in, got)
		}
	}
}

func FuzzParseValueFrom(f *testing.F) {
	f.Add("arn:aws:secretsmanager:us-east-1:1:secret:acme/prod-AbCdEf:DATABASE_URL::")
	f.Add("arn:aws:ssm:us-east-1:1:parameter/x")
	f.Add("name:KEY::")
	f.Fuzz(func(t *testing.T, s string) {
		vf, ok := parseValueFrom(s)
		if ok && !strings.HasPrefix(s, vf.secretID) {
			t.Fatalf("secret id %q is not a prefix of %q", vf.secretID, s)
		}
	})
}

func TestECSSecretsAndResolve(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	for _, layout := range []string{"", "?layout=per-key"} {
		name := sinktest.Name("acme/ecs")
		st := open(t, "secretsmanager://"+name+layout, envsync.OpenOptions{})
		if _, err := st.(envsync.SecretLocator).ECSSecrets(ctx, []string{"DATABASE_URL"}); !errors.Is(err, envsync.ErrNotFound) {
			t.Fatalf("%s: before import: err = %v; want ErrNotFound", layout, err)
		}
		vars := map[string]string{"DATABASE_URL": "postgres://u:s3cr3t@h/db", "API_KEY": "k-123"}
		if err := st.Write(ctx, &envsync.WriteRequest{Base: envsync.EmptySnapshot(), Vars: vars}); err != nil {
			t.Fatal(err)
		}
		refs, err := st.(envsync.SecretLocator).ECSSecrets(ctx, []string{"DATABASE_URL", "API_KEY"})
		if err != nil || len(refs) != 2 {
			t.Fatalf("%s: refs = %+v, %v", layout, refs, err)
		}
		for _, r := range refs {
			want := name
			if layout != "" {
				want += "/" + r.Key
			}
			if !strings.HasPrefix(r.SecretARN, "arn:aws:secretsmanager:us-east-1:") || !strings.Contains(r.SecretARN, ":secret:"+want+"-") {
				t.Errorf("%s: %s: ARN %q; want the full ARN of %s", layout, r.Key, r.SecretARN, want)
			}
			if layout == "" && (r.JSONKey != r.Key || r.ValueFrom != r.SecretARN+":"+r.Key+"::") || layout != "" && r.ValueFrom != r.SecretARN {
				t.Errorf("%s: ref %+v", layout, r)
			}
		}
		vfs := []string{refs[0].ValueFrom, refs[1].ValueFrom, "arn:aws:ssm:us-east-1:1:parameter/x"}
		if layout == "" {
			vfs = append(vfs, refs[0].SecretARN+":NO_SUCH_KEY::", refs[0].SecretARN+":API_KEY:AWSCURRENT:")
		}
		got, err := st.(envsync.ValueFromResolver).ResolveValueFrom(ctx, vfs)
		if err != nil {
			t.Fatal(err)
		}
		if got[vfs[0]].Value != vars["DATABASE_URL"] || got[vfs[1]].Value != vars["API_KEY"] {
			t.Errorf("%s: resolved wrong values for %v", layout, vfs[:2])
		}
		if _, ok := got[vfs[2]]; ok {
			t.Errorf("%s: an SSM parameter was resolved", layout)
		}
		if layout == "" {
			if !errors.Is(got[vfs[3]].Err, envsync.ErrNotFound) {
				t.Errorf("missing JSON key: %+v", got[vfs[3]])
			}
			if got[vfs[4]].Value != "k-123" {
				t.Errorf("version stage AWSCURRENT: %+v", got[vfs[4]].Err)
			}
		}
	}
	// A secret that does not exist resolves to ErrNotFound, not an error for the call.
	st := open(t, "secretsmanager://"+sinktest.Name("acme/none"), envsync.OpenOptions{})
	vf := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + sinktest.Name("gone") + "-AbCdEf:K::"
	got, err := st.(envsync.ValueFromResolver).ResolveValueFrom(ctx, []string{vf})
	if err != nil || !errors.Is(got[vf].Err, envsync.ErrNotFound) {
		t.Fatalf("missing secret: %+v, %v", got[vf], err)
	}
}

func TestECSSecretsKMS(t *testing.T) {
	sinktest.AWS(t)
	ctx := t.Context()
	const key = "1234abcd-12ab-34cd-56ef-1234567890ab"
	st := open(t, "secretsmanager://"+sinktest.Name("acme/kms")+"?kms="+key, envsync.OpenOptions{})
	if err := st.Write(ctx, &envsync.WriteRequest{Base: envsync.EmptySnapshot(), Vars: map[string]string{"K": "v"}}); err != nil {
		t.Fatal(err)
	}
	refs, err := st.(envsync.SecretLocator).ECSSecrets(ctx, []string{"K"})
	if err != nil {
		t.Fatal(err)
	}
	account := strings.Split(refs[0].SecretARN, ":")[4]
	if want := "arn:aws:kms:us-east-1:" + account + ":key/" + key; refs[0].KMSKey != want {
		t.Errorf("KMS key %q; want %q", refs[0].KMSKey, want)
	}
}
