package envsync

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestWiringHCL(t *testing.T) {
	w := &Wiring{
		App:         &App{Name: "web-production"},
		EnvFiles:    []EnvFileRef{{ObjectARN: "arn:aws:s3:::acme/prod/feature.env", BucketARN: "arn:aws:s3:::acme"}},
		Secrets:     []SecretRef{{Key: "API_KEY", SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:acme-AbCdEf", ValueFrom: "arn:aws:secretsmanager:us-east-1:1:secret:acme-AbCdEf:API_KEY::"}},
		Environment: map[string]string{"RAILS_ENV": "production", "FEATURE_X": "${not_an_interpolation}"},
		TFVariables: []string{"app_static_env"},
		literal:     []string{"FEATURE_X"},
	}
	w.Policy = executionPolicy(w)
	src := w.HCL()
	f, diags := hclsyntax.ParseConfig(src, "envsync_web.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s\n%v", src, diags)
	}
	body := f.Body.(*hclsyntax.Body)
	var locals *hclsyntax.Body
	vars, outputs := 0, 0
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable":
			vars++
		case "output":
			outputs++
		case "locals":
			locals = b.Body
		}
	}
	if vars != 1 || outputs != 4 || locals == nil {
		t.Fatalf("variables %d, outputs %d, locals %v:\n%s", vars, outputs, locals != nil, src)
	}
	for _, name := range []string{"web_production_environment_files", "web_production_secrets", "web_production_environment", "web_production_execution_role_policy"} {
		if locals.Attributes[name] == nil {
			t.Errorf("no local %s:\n%s", name, src)
		}
	}
	// Literal entries come first, then the tfvars map; "${" is escaped, not evaluated.
	if !strings.Contains(string(src), `concat([{`) || !strings.Contains(string(src), `"$${not_an_interpolation}"`) || !strings.Contains(string(src), `merge(var.app_static_env)`) {
		t.Errorf("environment expression:\n%s", src)
	}
	// The policy local evaluates (no variables in it) to the same document as the JSON form.
	v, diags := locals.Attributes["web_production_execution_role_policy"].Expr.(*hclsyntax.FunctionCallExpr).Args[0].Value(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if v.GetAttr("Statement").LengthInt() != len(w.Policy.Statement) || v.GetAttr("Version").AsString() != "2012-10-17" {
		t.Errorf("policy = %#v", v)
	}
	want, _ := json.Marshal(w.Policy.Statement[2].Resource)
	if !strings.Contains(string(src), strings.Trim(string(want), "[]")) {
		t.Errorf("policy lacks %s", want)
	}
}
