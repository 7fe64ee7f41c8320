package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	pluginDir string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pluginDir != "" {
		_ = os.RemoveAll(pluginDir)
	}
	os.Exit(code)
}

// builtPlugin builds the plugin binary once per test run and returns the directory holding it.
func builtPlugin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if pluginDir, buildErr = os.MkdirTemp("", "command-standin-bin-"); buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "pulumi-resource-command"), ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return pluginDir
}

// standInIdentity is how the stand-in names itself: the pulumi-command release it plays is
// PULUMI_COMMAND_VERSION of dev/toolchain/versions.sh (the one file that pins versions).
func standInIdentity(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "toolchain", "versions.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PULUMI_COMMAND_VERSION=([0-9][^\s#]*)\s*$`).FindSubmatch(text)
	if m == nil {
		t.Fatal("dev/toolchain/versions.sh sets no PULUMI_COMMAND_VERSION")
	}
	return "eksa-metrics stand-in for pulumi-command v" + string(m[1])
}

func TestVersionFlagNamesTheStandIn(t *testing.T) {
	out, err := exec.Command(filepath.Join(builtPlugin(t), "pulumi-resource-command"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if got := string(out); !strings.Contains(got, standInIdentity(t)) ||
		!strings.Contains(got, "not the real plugin") {
		t.Errorf("--version printed %q; want it to name the stand-in", got)
	}
}

// e2eStack runs the real Pulumi CLI on testdata/e2e, from a project file in a temporary
// directory that selects the stand-in through plugins.providers, with a file backend.
type e2eStack struct {
	t       *testing.T
	project string // holds Pulumi.yaml and the stack's config file
	work    string // the commands' dir, where they write `journal`
	env     []string
}

func newE2EStack(t *testing.T) *e2eStack {
	t.Helper()
	// The file itself, not its directory: for a directory the SDK would take the `main` of the
	// nearest package.json, the repository's own program.
	program, err := filepath.Abs(filepath.Join("testdata", "e2e", "index.ts"))
	if err != nil {
		t.Fatal(err)
	}
	s := &e2eStack{t: t, project: t.TempDir(), work: t.TempDir()}
	main, err := filepath.Rel(s.project, program) // Pulumi.yaml's main is relative to the project
	if err != nil {
		t.Fatal(err)
	}
	projectFile := fmt.Sprintf(`name: command-standin-e2e
runtime:
  name: nodejs
  options:
    typescript: true
main: %s
plugins:
  providers:
    - name: command
      path: %s
`, main, builtPlugin(t))
	if err := os.WriteFile(filepath.Join(s.project, "Pulumi.yaml"), []byte(projectFile), 0o644); err != nil {
		t.Fatal(err)
	}
	s.env = append(os.Environ(),
		"PULUMI_BACKEND_URL=file://"+t.TempDir(),
		"PULUMI_CONFIG_PASSPHRASE=x",
		"PULUMI_HOME="+t.TempDir(), // no plugin cache: nothing but the project file's path can serve `command`
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		"PULUMI_DISABLE_REGISTRY_RESOLVE=true",
		"PULUMI_DEBUG_COMMANDS=true", // enables --event-log
	)
	return s
}

// run runs pulumi and returns its combined output and error.
func (s *e2eStack) run(args ...string) (string, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pulumi", args...)
	cmd.Dir, cmd.Env = s.project, s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *e2eStack) mustRun(args ...string) string {
	s.t.Helper()
	out, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *e2eStack) config(key, value string, secret bool) {
	s.t.Helper()
	args := []string{"config", "set", key, value}
	if secret {
		args = append(args, "--secret")
	}
	s.mustRun(args...)
}

func (s *e2eStack) journal() string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.work, "journal"))
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	return string(b)
}

// previewOp is the operation `pulumi preview` plans for the resource named name.
func (s *e2eStack) previewOp(name string) string {
	s.t.Helper()
	var plan struct {
		Steps []struct{ Op, URN string }
	}
	out := s.mustRun("preview", "--json", "--non-interactive")
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		s.t.Fatalf("preview --json: %v\n%s", err, out)
	}
	for _, step := range plan.Steps {
		if strings.HasSuffix(step.URN, "::"+name) {
			return step.Op
		}
	}
	return "same"
}

func (s *e2eStack) up(args ...string) string {
	s.t.Helper()
	return s.mustRun(append([]string{"up", "--yes", "--non-interactive", "--skip-preview"}, args...)...)
}

func TestEndToEndWithThePulumiCLI(t *testing.T) {
	if _, err := exec.LookPath("pulumi"); err != nil {
		t.Fatal("pulumi is not on PATH (dev/toolchain/setup.sh builds it; source dev/toolchain/env.sh): this test needs the real CLI")
	}
	s := newE2EStack(t)
	const token = "tok-s3cret-value"
	s.mustRun("stack", "init", "e2e")
	s.config("dir", s.work, false)
	s.config("label", "one", false)
	s.config("trigger", "1", false)
	s.config("token", token, true)

	// A preview runs no command, and the engine's output names the stand-in.
	if out := s.mustRun("preview", "--non-interactive"); !strings.Contains(out, standInIdentity(t)) {
		t.Errorf("preview output does not name the stand-in:\n%s", out)
	}
	if j := s.journal(); j != "" {
		t.Fatalf("the preview ran a command: journal %q", j)
	}

	events := filepath.Join(t.TempDir(), "events.json")
	s.up("--event-log", events)
	if j := s.journal(); j != "create one\n" {
		t.Fatalf("after the first up, journal = %q; want the probe's create", j)
	}
	// logging: the probe logs stdout only, `after` nothing; the engine shows them on the resource.
	logged := diagnostics(t, events)
	if !slices.Contains(logged["probe"], "created one") || slices.ContainsFunc(logged["probe"], func(m string) bool {
		return strings.Contains(m, "token has")
	}) {
		t.Errorf("the probe (logging: stdout) logged %q; want its stdout, not its stderr", logged["probe"])
	}
	if len(logged["after"]) != 0 {
		t.Errorf("after (logging: none) logged %q", logged["after"])
	}
	var outputs map[string]string
	if err := json.Unmarshal([]byte(s.mustRun("stack", "output", "--json", "--show-secrets")), &outputs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"stdout": "created one", "stderr": fmt.Sprintf("token has %d bytes", len(token)), "afterStdout": "create one"}
	for k, v := range want {
		if outputs[k] != v {
			t.Errorf("output %s = %q; want %q (all outputs: %v)", k, outputs[k], v, outputs)
		}
	}

	s.up("--expect-no-changes")
	if j := s.journal(); j != "create one\n" {
		t.Errorf("an up without changes ran a command: journal %q", j)
	}

	for _, step := range []struct {
		what    string
		config  [][2]string
		op      string // what the preview plans for the probe
		journal string // how the journal ends after the up
	}{
		{"another input changes: an update, running `update` with the previous stdout",
			[][2]string{{"label", "two"}}, "update", "update two after created one\n"},
		{"without `update`, an update runs `create`",
			[][2]string{{"noUpdate", "true"}, {"label", "three"}}, "update", "update two after created one\ncreate three\n"},
		{"a trigger changes: a replacement, the new one created before the old one is deleted",
			[][2]string{{"trigger", "2"}}, "replace", "create three\ncreate three\ndelete three after created three\n"},
	} {
		for _, kv := range step.config {
			s.config(kv[0], kv[1], false)
		}
		if op := s.previewOp("probe"); op != step.op {
			t.Errorf("%s: preview plans %q for the probe; want %q", step.what, op, step.op)
		}
		s.up()
		if j := s.journal(); !strings.HasSuffix(j, step.journal) {
			t.Errorf("%s: journal = %q; want it to end with %q", step.what, j, step.journal)
		}
	}

	// The state holds the secret environment value and the additional secret output encrypted.
	export := s.mustRun("stack", "export")
	if strings.Contains(export, token) {
		t.Errorf("stack export holds the secret in plain text")
	}
	assertProbeSecrets(t, export)

	// A failing command fails the update with its exit status and output.
	s.config("fail", "true", false)
	out, err := s.run("up", "--yes", "--non-interactive", "--skip-preview")
	if err == nil || !strings.Contains(out, "exit status 7") || !strings.Contains(out, "failing on purpose") {
		t.Errorf("up with a failing command: err %v; want a failure naming exit status 7 and its output:\n%s", err, out)
	}
	s.mustRun("config", "rm", "fail")

	s.mustRun("destroy", "--yes", "--non-interactive", "--skip-preview")
	if j := s.journal(); !strings.HasSuffix(j, "delete three after created three\ndelete three after created three\n") {
		t.Errorf("after destroy, journal = %q; want the probe's delete", j)
	}
}

// diagnostics reads an engine event log (pulumi --event-log) and returns the diagnostic messages
// by the name of the resource they are on.
func diagnostics(t *testing.T, eventLog string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(eventLog)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var event struct {
			DiagnosticEvent *struct{ URN, Message string }
		}
		if err := json.Unmarshal([]byte(line), &event); err != nil {
			t.Fatalf("event log line %q: %v", line, err)
		}
		if d := event.DiagnosticEvent; d != nil && d.URN != "" {
			name := d.URN[strings.LastIndex(d.URN, "::")+2:]
			byName[name] = append(byName[name], strings.TrimSpace(d.Message))
		}
	}
	return byName
}

// assertProbeSecrets checks, in a `pulumi stack export`, that the probe's environment.TOKEN
// (input and output) and its stderr (additionalSecretOutputs) are recorded as secrets.
func assertProbeSecrets(t *testing.T, export string) {
	t.Helper()
	var deployment struct {
		Deployment struct {
			Resources []struct {
				URN     string
				Inputs  map[string]any
				Outputs map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(export), &deployment); err != nil {
		t.Fatal(err)
	}
	isSecret := func(v any) bool {
		m, ok := v.(map[string]any)
		return ok && m["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270" && m["ciphertext"] != nil
	}
	for _, r := range deployment.Deployment.Resources {
		if !strings.HasSuffix(r.URN, "::probe") {
			continue
		}
		for name, props := range map[string]map[string]any{"inputs": r.Inputs, "outputs": r.Outputs} {
			env, _ := props["environment"].(map[string]any)
			if !isSecret(env["TOKEN"]) && !isSecret(props["environment"]) {
				t.Errorf("%s.environment = %v; want TOKEN encrypted", name, props["environment"])
			}
		}
		if !isSecret(r.Outputs["stderr"]) {
			t.Errorf("outputs.stderr = %v; want it encrypted (additionalSecretOutputs)", r.Outputs["stderr"])
		}
		if isSecret(r.Outputs["stdout"]) {
			t.Errorf("outputs.stdout is secret; want it plain (only stderr is an additional secret output)")
		}
		return
	}
	t.Errorf("stack export has no probe resource:\n%s", export)
}
