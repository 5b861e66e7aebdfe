package envsync

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// ContainerWiring is the part of an ECS container definition that envsync
// fills in, in the API's JSON shape: merge it into a container definition
// given to `aws ecs register-task-definition`.
type ContainerWiring struct {
	EnvironmentFiles []ECSEnvironmentFile `json:"environmentFiles"`
	Secrets          []ECSSecret          `json:"secrets"`
	Environment      []ECSKeyValue        `json:"environment"`
}

// ECSEnvironmentFile is one environmentFiles entry.
type ECSEnvironmentFile struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// ECSSecret is one secrets entry.
type ECSSecret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// ECSKeyValue is one environment entry.
type ECSKeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ContainerDefinition returns the wiring as container-definition fields.
func (w *Wiring) ContainerDefinition() ContainerWiring {
	c := ContainerWiring{EnvironmentFiles: []ECSEnvironmentFile{}, Secrets: []ECSSecret{}, Environment: []ECSKeyValue{}}
	for _, f := range w.EnvFiles {
		c.EnvironmentFiles = append(c.EnvironmentFiles, ECSEnvironmentFile{Value: f.ObjectARN, Type: "s3"})
	}
	for _, s := range w.Secrets {
		c.Secrets = append(c.Secrets, ECSSecret{Name: s.Key, ValueFrom: s.ValueFrom})
	}
	for _, k := range w.EnvironmentKeys() {
		c.Environment = append(c.Environment, ECSKeyValue{Name: k, Value: w.Environment[k]})
	}
	return c
}

var notIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// HCL renders the wiring as provider-free Terraform: a variable block for
// each tfvars map the environment comes from, locals with the container's
// environmentFiles, secrets and environment lists and the execution role's
// policy (jsonencode), and outputs for each, for the user's own
// aws_ecs_task_definition and IAM resources to reference. Only references
// appear (ARNs, variable names); no secret value.
func (w *Wiring) HCL() []byte {
	prefix := strings.Trim(notIdent.ReplaceAllString(w.App.Name, "_"), "_")
	if prefix == "" || prefix[0] >= '0' && prefix[0] <= '9' {
		prefix = "app_" + prefix
	}
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	for _, v := range w.TFVariables {
		blk := body.AppendNewBlock("variable", []string{v})
		blk.Body().SetAttributeRaw("type", hclwrite.TokensForIdentifier("map(string)"))
		blk.Body().SetAttributeValue("description", cty.StringVal(fmt.Sprintf("the %s app's variables that envsync routes to this tfvars map", w.App.Name)))
		body.AppendNewline()
	}
	locals := body.AppendNewBlock("locals", nil).Body()

	files := []cty.Value{}
	for _, ef := range w.EnvFiles {
		files = append(files, cty.ObjectVal(map[string]cty.Value{"type": cty.StringVal("s3"), "value": cty.StringVal(ef.ObjectARN)}))
	}
	locals.SetAttributeValue(prefix+"_environment_files", listOrEmpty(files))
	secrets := []cty.Value{}
	for _, s := range w.Secrets {
		secrets = append(secrets, cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(s.Key), "valueFrom": cty.StringVal(s.ValueFrom)}))
	}
	locals.SetAttributeValue(prefix+"_secrets", listOrEmpty(secrets))
	literal := []cty.Value{}
	keys := w.EnvironmentKeys()
	if len(w.TFVariables) > 0 {
		keys = slices.Sorted(slices.Values(w.literal))
	}
	for _, k := range keys {
		literal = append(literal, cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(k), "value": cty.StringVal(w.Environment[k])}))
	}
	switch {
	case len(w.TFVariables) == 0:
		locals.SetAttributeValue(prefix+"_environment", listOrEmpty(literal))
	default:
		// [for k, v in merge(var.a, var.b) : { name = k, value = v }], after any literal entries.
		var refs []string
		for _, v := range w.TFVariables {
			refs = append(refs, "var."+v)
		}
		expr := hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte("[for k, v in merge(" + strings.Join(refs, ", ") + ") : { name = k, value = v }]")}}
		if len(literal) > 0 {
			expr = append(append(append(hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte("concat(")}},
				hclwrite.TokensForValue(cty.TupleVal(literal))...), &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(", ")}), expr...)
			expr = append(expr, &hclwrite.Token{Type: hclsyntax.TokenCParen, Bytes: []byte(")")})
		}
		locals.SetAttributeRaw(prefix+"_environment", expr)
	}
	locals.SetAttributeRaw(prefix+"_execution_role_policy", append(append(
		hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte("jsonencode(")}},
		hclwrite.TokensForValue(policyValue(w.Policy))...),
		&hclwrite.Token{Type: hclsyntax.TokenIdent, Bytes: []byte(")")}))

	for _, name := range []string{"environment_files", "secrets", "environment", "execution_role_policy"} {
		body.AppendNewline()
		out := body.AppendNewBlock("output", []string{prefix + "_" + name}).Body()
		out.SetAttributeTraversal("value", hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: prefix + "_" + name}})
	}
	return hclwrite.Format(f.Bytes())
}

func listOrEmpty(v []cty.Value) cty.Value {
	if len(v) == 0 {
		return cty.EmptyTupleVal
	}
	return cty.TupleVal(v)
}

func policyValue(doc *Policy) cty.Value {
	stmts := []cty.Value{}
	for _, s := range doc.Statement {
		strs := func(l []string) cty.Value {
			vals := make([]cty.Value, len(l))
			for i, x := range l {
				vals[i] = cty.StringVal(x)
			}
			return cty.TupleVal(vals)
		}
		stmts = append(stmts, cty.ObjectVal(map[string]cty.Value{
			"Sid": cty.StringVal(s.Sid), "Effect": cty.StringVal(s.Effect), "Action": strs(s.Action), "Resource": strs(s.Resource),
		}))
	}
	return cty.ObjectVal(map[string]cty.Value{"Version": cty.StringVal(doc.Version), "Statement": listOrEmpty(stmts)})
}
