package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envsync/envsync"
	"github.com/envsync/envsync/sinks/awscfg"
	"github.com/envsync/envsync/sinks/heroku/herokutest"
	"github.com/envsync/envsync/sinks/sinktest"
	"github.com/envsync/envsync/sinks/sinktest/faultproxy"
)

func TestMain(m *testing.M) {
	code := testscript.RunMain(m, map[string]func() int{
		"envsync": func() int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
		},
	})
	sinktest.StopMoto()
	os.Exit(code)
}

const herokuToken = "01234567-89ab-cdef-0123-456789abcdef"

// TestScripts runs the CLI end to end (testdata/script/*.txtar) against
// moto_server and the local Heroku API.
func TestScripts(t *testing.T) {
	// moto's conditional PUT checks the ETag and writes without a lock, so
	// two concurrent writers can both succeed; real S3 makes a conditional
	// write atomic. The proxy serialises conditional PUTs of one key, so the
	// concurrent-writer scripts test envsync's retries, not moto's race.
	proxy := faultproxy.Start(sinktest.MotoEndpoint(t))
	t.Cleanup(proxy.Close)
	proxy.SetSerial(faultproxy.ConditionalPutKey)
	moto := proxy.URL
	hk := herokutest.New(t, herokuToken)
	testscript.Run(t, testscript.Params{
		Dir: "../../testdata/script",
		Setup: func(env *testscript.Env) error {
			for k, v := range map[string]string{
				"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
				"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
				"AWS_EC2_METADATA_DISABLED": "true", "HEROKU_API_URL": hk.URL, "HEROKU_API_KEY": herokuToken,
				"BUCKET": sinktest.Name("envsync"), "APP": sinktest.Name("acme"), "SECRET": sinktest.Name("acme/prod"),
				"GITHUB_ACTOR": "ci-bot",
			} {
				env.Setenv(k, v)
			}
			env.Values["heroku"] = hk
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"heroku-app":     herokuApp,
			"heroku-addon":   herokuAddon,
			"heroku-set":     herokuSet,
			"heroku-writes":  herokuWrites,
			"heroku-reads":   herokuReads,
			"heroku-fail":    herokuFail,
			"mkbucket":       mkbucket,
			"s3get":          s3get,
			"s3put":          s3put,
			"s3meta":         s3meta,
			"smget":          smget,
			"smput":          smput,
			"mode":           fileMode,
			"ecs-service":    ecsService,
			"ecs-containers": ecsContainers,
			"webhook":        webhook,
			"heroku-team":    herokuTeam,
			"heroku-couple":  herokuCouple,
		},
	})
}

func ctxOf(ts *testscript.TestScript) context.Context { return context.Background() }

func awsEnv(ts *testscript.TestScript) envsync.OpenOptions {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"} {
		os.Setenv(k, ts.Getenv(k)) // the SDK reads the process environment; every script sets the same values
	}
	return envsync.OpenOptions{}
}

// heroku-app APP FILE.json: create an app with the export's config vars.
func herokuApp(ts *testscript.TestScript, neg bool, args []string) {
	vars, err := envsync.ParseExport(args[1], []byte(ts.ReadFile(args[1])))
	ts.Check(err)
	ts.Value("heroku").(*herokutest.Server).SetConfig(args[0], vars)
}

// heroku-addon APP SERVICE VAR...: mark VARs as owned by an add-on.
func herokuAddon(ts *testscript.TestScript, neg bool, args []string) {
	hk := ts.Value("heroku").(*herokutest.Server)
	cfg := hk.Config(args[0])
	owned := map[string]string{}
	for _, k := range args[2:] {
		owned[k] = cfg[k]
	}
	hk.AddAddon(args[0], args[1]+"-1234", args[1], owned)
}

// heroku-writes APP N: the Heroku API received exactly N writes for APP.
func herokuWrites(ts *testscript.TestScript, neg bool, args []string) {
	n := 0
	for _, r := range ts.Value("heroku").(*herokutest.Server).Requests() {
		if r.Method != http.MethodGet && strings.HasPrefix(r.Path, "/apps/"+args[0]+"/") {
			n++
		}
	}
	if fmt.Sprint(n) != args[1] {
		ts.Fatalf("%d write(s) to Heroku app %s; want %s", n, args[0], args[1])
	}
}

// heroku-reads APP ENDPOINT N: the Heroku API received exactly N GETs of
// /apps/APP/ENDPOINT (e.g. releases).
func herokuReads(ts *testscript.TestScript, neg bool, args []string) {
	n := 0
	for _, r := range ts.Value("heroku").(*herokutest.Server).Requests() {
		if r.Method == http.MethodGet && r.Path == "/apps/"+args[0]+"/"+args[1] {
			n++
		}
	}
	if fmt.Sprint(n) != args[2] {
		ts.Fatalf("%d GET(s) of %s of Heroku app %s; want %s", n, args[1], args[0], args[2])
	}
}

// heroku-fail APP METHOD N STATUS: the next N requests about APP with METHOD
// answer STATUS (scripts run in parallel against one server).
func herokuFail(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 4 {
		ts.Fatalf("usage: heroku-fail APP METHOD N STATUS")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	status, err := strconv.Atoi(args[3])
	ts.Check(err)
	ts.Value("heroku").(*herokutest.Server).FailNextFor(args[0], args[1], n, status, "")
}

// heroku-set APP KEY=VALUE: change a config var out of band.
func herokuSet(ts *testscript.TestScript, neg bool, args []string) {
	k, v, _ := strings.Cut(args[1], "=")
	ts.Value("heroku").(*herokutest.Server).SetConfig(args[0], map[string]string{k: v})
}

func s3client(ts *testscript.TestScript) *s3.Client {
	cfg, err := awscfg.Load(ctxOf(ts), awsEnv(ts))
	ts.Check(err)
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// mkbucket NAME [unversioned]: a bucket, versioned unless asked.
func mkbucket(ts *testscript.TestScript, neg bool, args []string) {
	c := s3client(ts)
	_, err := c.CreateBucket(ctxOf(ts), &s3.CreateBucketInput{Bucket: &args[0]})
	ts.Check(err)
	if len(args) > 1 && args[1] == "unversioned" {
		return
	}
	_, err = c.PutBucketVersioning(ctxOf(ts), &s3.PutBucketVersioningInput{Bucket: &args[0], VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	ts.Check(err)
}

// s3get BUCKET KEY FILE: download an object (fails if it does not exist).
func s3get(ts *testscript.TestScript, neg bool, args []string) {
	out, err := s3client(ts).GetObject(ctxOf(ts), &s3.GetObjectInput{Bucket: &args[0], Key: &args[1]})
	if neg {
		if err == nil {
			ts.Fatalf("s3://%s/%s exists", args[0], args[1])
		}
		return
	}
	ts.Check(err)
	var b bytes.Buffer
	b.ReadFrom(out.Body)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), b.Bytes(), 0o644))
}

// s3meta BUCKET KEY FILE: the object's user metadata as S3 stores it
// (HeadObject), one name: value line each, sorted.
func s3meta(ts *testscript.TestScript, neg bool, args []string) {
	out, err := s3client(ts).HeadObject(ctxOf(ts), &s3.HeadObjectInput{Bucket: &args[0], Key: &args[1]})
	ts.Check(err)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(out.Metadata)) {
		fmt.Fprintf(&b, "%s: %s\n", k, out.Metadata[k])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(b.String()), 0o644))
}

// s3put BUCKET KEY FILE: an out-of-band edit of an object.
func s3put(ts *testscript.TestScript, neg bool, args []string) {
	_, err := s3client(ts).PutObject(ctxOf(ts), &s3.PutObjectInput{Bucket: &args[0], Key: &args[1], Body: strings.NewReader(ts.ReadFile(args[2]))})
	ts.Check(err)
}

func smclient(ts *testscript.TestScript) *secretsmanager.Client {
	cfg, err := awscfg.Load(ctxOf(ts), awsEnv(ts))
	ts.Check(err)
	return secretsmanager.NewFromConfig(cfg)
}

// smget NAME KEY VALUE: the JSON secret NAME holds KEY=VALUE (never printed).
func smget(ts *testscript.TestScript, neg bool, args []string) {
	out, err := smclient(ts).GetSecretValue(ctxOf(ts), &secretsmanager.GetSecretValueInput{SecretId: &args[0]})
	if neg && err != nil {
		return
	}
	ts.Check(err)
	vars := map[string]string{}
	ts.Check(json.Unmarshal([]byte(aws.ToString(out.SecretString)), &vars))
	if ok := vars[args[1]] == args[2]; ok == neg {
		ts.Fatalf("secret %s: %s has the wrong value (want %v)", args[0], args[1], !neg)
	}
}

// smput NAME KEY VALUE: rotate one key of the JSON secret out of band.
func smput(ts *testscript.TestScript, neg bool, args []string) {
	c := smclient(ts)
	out, err := c.GetSecretValue(ctxOf(ts), &secretsmanager.GetSecretValueInput{SecretId: &args[0]})
	ts.Check(err)
	vars := map[string]string{}
	ts.Check(json.Unmarshal([]byte(aws.ToString(out.SecretString)), &vars))
	vars[args[1]] = args[2]
	data, _ := json.Marshal(vars)
	_, err = c.PutSecretValue(ctxOf(ts), &secretsmanager.PutSecretValueInput{SecretId: &args[0], SecretString: aws.String(string(data))})
	ts.Check(err)
}

// mode FILE PERM: the file's permission bits are PERM (e.g. 0600).
func fileMode(ts *testscript.TestScript, neg bool, args []string) {
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != args[1] {
		ts.Fatalf("%s: mode %s; want %s", args[0], got, args[1])
	}
}

// ecs-service CLUSTER SERVICE [env:K=V] [file:s3://…] [secret:K=ARN|NAME:KEY]: a service
// whose one container loads those.
func ecsService(ts *testscript.TestScript, neg bool, args []string) {
	awsEnv(ts)
	ct := sinktest.Container{Env: map[string]string{}, Secrets: map[string]string{}}
	for _, a := range args[2:] {
		kind, rest, _ := strings.Cut(a, ":")
		k, v, _ := strings.Cut(rest, "=")
		switch kind {
		case "env":
			ct.Env[k] = v
		case "file":
			ct.EnvFiles = append(ct.EnvFiles, rest)
		case "secret":
			if name, key, ok := strings.Cut(v, ":"); ok && !strings.HasPrefix(v, "arn:") {
				// secret:K=NAME:KEY — the full ARN of NAME, as ecs render prints it.
				out, err := smclient(ts).DescribeSecret(ctxOf(ts), &secretsmanager.DescribeSecretInput{SecretId: &name})
				ts.Check(err)
				v = aws.ToString(out.ARN) + ":" + key + "::"
			}
			ct.Secrets[k] = v
		}
	}
	sinktest.ECSService(tsT{ts}, args[0], args[1], ct)
}

// tsT lets testscript commands use helpers written for testing.TB.
type tsT struct{ *testscript.TestScript }

func (t tsT) Helper()                  {}
func (t tsT) Context() context.Context { return context.Background() }
func (t tsT) Fatal(args ...any)        { t.Fatalf("%s", fmt.Sprint(args...)) }

// webhook FILE: start a server that appends each request body to FILE and
// set $WEBHOOK_URL to it (a stand-in for a Slack incoming webhook).
func webhook(ts *testscript.TestScript, neg bool, args []string) {
	path := ts.MkAbs(args[0])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(append(body, '\n'))
			f.Close()
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("WEBHOOK_URL", srv.URL+"/services/T000/B000/XXXXXXXX")
}

// ecs-containers RENDER.json OUT.json [drop-secret:KEY] [envfile:s3://…] [env:K=V] [sidecar]:
// write the containerDefinitions of a task definition whose app container
// "web" is the containerDefinition of `envsync ecs render --format json`
// merged into a minimal definition, changed as asked, for
// `aws ecs register-task-definition --container-definitions file://OUT.json`.
func ecsContainers(ts *testscript.TestScript, neg bool, args []string) {
	var doc struct {
		ContainerDefinition map[string]any `json:"containerDefinition"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc))
	web := map[string]any{"name": "web", "image": "acme/web:1", "memory": 512, "essential": true}
	for k, v := range doc.ContainerDefinition {
		web[k] = v
	}
	defs := []map[string]any{web}
	for _, a := range args[2:] {
		kind, rest, _ := strings.Cut(a, ":")
		switch kind {
		case "drop-secret":
			var kept []any
			for _, s := range web["secrets"].([]any) {
				if s.(map[string]any)["name"] != rest {
					kept = append(kept, s)
				}
			}
			web["secrets"] = kept
		case "envfile":
			web["environmentFiles"] = append(web["environmentFiles"].([]any), map[string]any{"type": "s3", "value": "arn:aws:s3:::" + strings.TrimPrefix(rest, "s3://")})
		case "env":
			k, v, _ := strings.Cut(rest, "=")
			env, _ := web["environment"].([]any)
			web["environment"] = append(env, map[string]any{"name": k, "value": v})
		case "sidecar":
			defs = append(defs, map[string]any{"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable", "memory": 128, "essential": false,
				"environment": []any{map[string]any{"name": "FLB_LOG_LEVEL", "value": "info"}}})
		default:
			ts.Fatalf("ecs-containers: unknown change %q", a)
		}
	}
	data, err := json.MarshalIndent(defs, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}
