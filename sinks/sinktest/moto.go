// Package sinktest holds what every store's tests share: a moto_server
// started once per test binary (a real AWS API endpoint on loopback) and the
// contract suite Run that every store passes.
package sinktest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	motoOnce sync.Once
	motoURL  string
	motoErr  error
	motoCmd  *exec.Cmd
)

// Main runs a package's tests and stops moto_server afterwards, if a test
// started it. Use it from TestMain: func TestMain(m *testing.M) { sinktest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	StopMoto()
	os.Exit(code)
}

// StopMoto stops the moto_server this process started, if any.
func StopMoto() {
	if motoCmd != nil && motoCmd.Process != nil {
		_ = syscall.Kill(-motoCmd.Process.Pid, syscall.SIGKILL)
		_ = motoCmd.Wait()
	}
}

// MotoEndpoint starts moto_server on a free loopback port (once per test
// binary) and returns its URL. It fails the test, with how to install it, when
// moto_server is missing: AWS behaviour is tested against a real endpoint.
func MotoEndpoint(t testing.TB) string {
	t.Helper()
	motoOnce.Do(func() { motoURL, motoErr = startMoto() })
	if motoErr != nil {
		t.Fatalf("moto_server: %v", motoErr)
	}
	return motoURL
}

func startMoto() (string, error) {
	bin := os.Getenv("MOTO_SERVER")
	if bin == "" {
		bin = "moto_server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("not found on PATH; install it with: pip install 'moto[server]' (or set MOTO_SERVER)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Getenv("MOTO_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	motoCmd = cmd
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			return url, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	StopMoto()
	return "", fmt.Errorf("did not answer on %s within 30s", url)
}

// AWS points the AWS SDK at moto for the rest of the test: AWS_ENDPOINT_URL,
// dummy credentials, a region, and no shared config or instance metadata.
// It returns the endpoint. Tests that call it cannot run in parallel.
func AWS(t *testing.T) string {
	t.Helper()
	url := MotoEndpoint(t)
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return url
}

// Name returns a unique lowercase name for a bucket, secret or app, so tests
// sharing one moto_server never see each other's data.
func Name(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b)
}
