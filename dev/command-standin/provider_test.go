package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestPluginInfoAndConfigure(t *testing.T) {
	h := newHarness(t)
	info, err := h.p.GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil || info.GetVersion() != "1.2.1" {
		t.Fatalf("GetPluginInfo = %v, %v; want version 1.2.1", info, err)
	}
	resp, err := h.p.Configure(context.Background(), &pulumirpc.ConfigureRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetAcceptSecrets() || !resp.GetSupportsPreview() {
		t.Errorf("Configure = %v; want acceptSecrets and supportsPreview", resp)
	}
	logs := h.engine.messages("")
	if len(logs) != 1 || !strings.Contains(logs[0].GetMessage(), "eksa-metrics stand-in for pulumi-command v1.2.1") ||
		!strings.Contains(logs[0].GetMessage(), "not the real plugin") {
		t.Errorf("Configure logged %v; want one line naming the stand-in", logs)
	}
}

func TestPreviewRunsNothing(t *testing.T) {
	h := newHarness(t)
	marker := filepath.Join(t.TempDir(), "ran")
	inputs := props(map[string]any{"create": "touch " + marker, "update": "touch " + marker})

	state, err := h.create("preview", inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	assertNotExist(t, marker)
	if state["create"].StringValue() != "touch "+marker {
		t.Errorf("preview outputs do not echo the inputs: %v", state)
	}
	if !state["stdout"].IsComputed() || !state["stderr"].IsComputed() {
		t.Errorf("preview stdout/stderr = %v/%v; want unknown", state["stdout"], state["stderr"])
	}

	recorded := props(map[string]any{"create": "true", "stdout": "", "stderr": ""})
	state, err = h.update("preview", props(map[string]any{"create": "true"}), recorded, inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	assertNotExist(t, marker)
	if !state["stdout"].IsComputed() || !state["stderr"].IsComputed() {
		t.Errorf("update preview stdout/stderr = %v/%v; want unknown", state["stdout"], state["stderr"])
	}
}

func TestCreateUsesDirEnvironmentAndStdin(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	t.Setenv("STANDIN_FROM_PROVIDER", "inherited")
	state := h.mustCreate("env", props(map[string]any{
		"create":      `pwd; echo "$GREETING $STANDIN_FROM_PROVIDER"; cat; echo oops >&2`,
		"dir":         dir,
		"environment": map[string]any{"GREETING": "hello"},
		"stdin":       "from stdin",
	}))
	want := dir + "\nhello inherited\nfrom stdin"
	if got := state["stdout"].StringValue(); got != want {
		t.Errorf("stdout = %q; want %q", got, want)
	}
	if got := state["stderr"].StringValue(); got != "oops" {
		t.Errorf("stderr = %q; want %q", got, "oops")
	}
	for _, key := range []resource.PropertyKey{"create", "dir", "environment", "stdin"} {
		if !state[key].DeepEquals(props(map[string]any{
			"create": `pwd; echo "$GREETING $STANDIN_FROM_PROVIDER"; cat; echo oops >&2`, "dir": dir,
			"environment": map[string]any{"GREETING": "hello"}, "stdin": "from stdin",
		})[key]) {
			t.Errorf("output %s = %v; want the input echoed", key, state[key])
		}
	}
}

func TestOneTrailingNewlineIsTrimmed(t *testing.T) {
	h := newHarness(t)
	state := h.mustCreate("newline", props(map[string]any{"create": `printf 'a\n\n'; printf 'b\n' >&2`}))
	if got := state["stdout"].StringValue(); got != "a\n" {
		t.Errorf("stdout = %q; want %q", got, "a\n")
	}
	if got := state["stderr"].StringValue(); got != "b" {
		t.Errorf("stderr = %q; want %q", got, "b")
	}
}

// As in v1.2.1, the error quotes the command and all it printed, whatever `logging` says.
func TestFailureNamesExitStatusCommandAndOutput(t *testing.T) {
	h := newHarness(t)
	command := "echo to-stdout; echo to-stderr >&2; exit 3"
	_, err := h.create("fails", props(map[string]any{"create": command, "logging": "none"}), false)
	if err == nil {
		t.Fatal("a command exiting 3 did not fail the create")
	}
	want := "exit status 3: running \"" + command + "\":\n"
	if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "to-stdout\n") ||
		!strings.Contains(msg, "to-stderr\n") {
		t.Errorf("error = %q; want it to start with %q and hold both streams", msg, want)
	}
	if logs := h.engine.messages(urnOf("fails")); len(logs) != 0 {
		t.Errorf("logging none still logged %v", logs)
	}
}

func TestTriggersReplaceOtherChangesUpdate(t *testing.T) {
	h := newHarness(t)
	olds := props(map[string]any{"create": "echo a", "triggers": []any{"1"}, "environment": map[string]any{"A": "1"}})
	state := h.mustCreate("diff", olds)

	if d := h.diff("diff", olds, state, olds); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("unchanged inputs: diff = %v; want DIFF_NONE", d)
	}

	triggered := olds.Copy()
	triggered["triggers"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty("2")})
	d := h.diff("diff", olds, state, triggered)
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || !slices.Equal(d.GetReplaces(), []string{"triggers"}) {
		t.Errorf("triggers changed: diff = %v; want a replace on triggers", d)
	}
	if kind := d.GetDetailedDiff()["triggers[0]"].GetKind(); kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Errorf("triggers[0] diff kind = %v; want UPDATE_REPLACE", kind)
	}

	for name, news := range map[string]resource.PropertyMap{
		"environment": props(map[string]any{"create": "echo a", "triggers": []any{"1"}, "environment": map[string]any{"A": "2"}}),
		"create":      props(map[string]any{"create": "echo b", "triggers": []any{"1"}, "environment": map[string]any{"A": "1"}}),
		"update added": props(map[string]any{"create": "echo a", "update": "echo u", "triggers": []any{"1"},
			"environment": map[string]any{"A": "1"}}),
	} {
		d := h.diff("diff", olds, state, news)
		if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 {
			t.Errorf("%s changed: diff = %v; want an update, no replace", name, d)
		}
	}
}

func TestUpdateRunsUpdateWithPreviousOutput(t *testing.T) {
	h := newHarness(t)
	olds := props(map[string]any{"create": "echo first; echo first-err >&2", "update": "echo unused"})
	state := h.mustCreate("update", olds)

	news := props(map[string]any{
		"create": "echo create-ran", "update": `echo "updated after $PULUMI_COMMAND_STDOUT/$PULUMI_COMMAND_STDERR"`,
	})
	state, err := h.update("update", olds, state, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := state["stdout"].StringValue(); got != "updated after first/first-err" {
		t.Errorf("stdout = %q; want the update's output, with the previous outputs in its environment", got)
	}
	if state["update"].StringValue() != news["update"].StringValue() {
		t.Errorf("outputs echo %v; want the new inputs", state["update"])
	}

	// addPreviousOutputInEnv: false leaves the variables unset.
	without := news.Copy()
	without["addPreviousOutputInEnv"] = resource.NewProperty(false)
	state, err = h.update("update", news, state, without, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := state["stdout"].StringValue(); got != "updated after /" {
		t.Errorf("addPreviousOutputInEnv false: stdout = %q; want %q", got, "updated after /")
	}
}

func TestUpdateFallsBackToCreate(t *testing.T) {
	h := newHarness(t)
	olds := props(map[string]any{"create": "echo one"})
	state := h.mustCreate("fallback", olds)
	news := props(map[string]any{"create": "echo two"})
	state, err := h.update("fallback", olds, state, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := state["stdout"].StringValue(); got != "two" {
		t.Errorf("stdout = %q; want the create command's output", got)
	}
}

func TestDeleteRunsDelete(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	inputs := props(map[string]any{
		"create": "echo made", "delete": `echo "deleting $PULUMI_COMMAND_STDOUT $WHO" > deleted`,
		"dir": dir, "environment": map[string]any{"WHO": "me"},
	})
	state := h.mustCreate("delete", inputs)
	if err := h.delete("delete", inputs, state); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "deleted"))
	if err != nil || string(got) != "deleting made me\n" {
		t.Errorf("delete wrote %q, %v; want %q", got, err, "deleting made me\n")
	}

	// Without `delete`, nothing runs.
	plain := props(map[string]any{"create": "echo made", "dir": dir})
	if err := h.delete("no-delete", plain, h.mustCreate("no-delete", plain)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %v; want only the first delete's file", entries)
	}

	failing := props(map[string]any{"create": "true", "delete": "exit 4"})
	if err := h.delete("failing", failing, h.mustCreate("failing", failing)); err == nil ||
		!strings.HasPrefix(err.Error(), "exit status 4") {
		t.Errorf("failing delete: err = %v; want exit status 4", err)
	}
}

func TestLoggingChoosesWhatIsLoggedNeverWhatIsCaptured(t *testing.T) {
	for mode, want := range map[string][]string{
		"":                {"err-1", "err-2", "out-1", "out-2"},
		"stdoutAndStderr": {"err-1", "err-2", "out-1", "out-2"},
		"stdout":          {"out-1", "out-2"},
		"stderr":          {"err-1", "err-2"},
		"none":            nil,
	} {
		t.Run("logging="+mode, func(t *testing.T) {
			h := newHarness(t)
			// Unterminated last lines on both streams: each is logged whole, on its own.
			inputs := props(map[string]any{"create": "echo out-1; echo err-1 >&2; printf out-2; printf err-2 >&2"})
			if mode != "" {
				inputs["logging"] = resource.NewProperty(mode)
			}
			state := h.mustCreate("logs", inputs)
			if state["stdout"].StringValue() != "out-1\nout-2" || state["stderr"].StringValue() != "err-1\nerr-2" {
				t.Errorf("captured stdout %q, stderr %q; want both streams whatever logging is",
					state["stdout"].StringValue(), state["stderr"].StringValue())
			}
			var got []string
			for _, l := range h.engine.messages(urnOf("logs")) {
				if l.GetSeverity() != pulumirpc.LogSeverity_INFO || !l.GetEphemeral() {
					t.Errorf("log %v; want an info status message, as v1.2.1 sends", l)
				}
				got = append(got, l.GetMessage())
			}
			// The two streams are copied concurrently: their lines may interleave either way.
			if slices.Sort(got); !slices.Equal(got, want) {
				t.Errorf("logged %q; want %q", got, want)
			}
		})
	}
}

func TestSecretsStaySecret(t *testing.T) {
	h := newHarness(t)
	inputs := resource.PropertyMap{
		"create": resource.NewProperty(`test "$TOKEN" = s3cret && echo ok`),
		"environment": resource.NewProperty(resource.PropertyMap{
			"TOKEN":  resource.MakeSecret(resource.NewProperty("s3cret")),
			"PUBLIC": resource.NewProperty("visible"),
		}),
	}
	for _, preview := range []bool{true, false} {
		state, err := h.create("secrets", inputs, preview)
		if err != nil {
			t.Fatal(err)
		}
		env := state["environment"].ObjectValue()
		if !env["TOKEN"].IsSecret() || env["TOKEN"].SecretValue().Element.StringValue() != "s3cret" {
			t.Errorf("preview=%t: environment.TOKEN = %v; want the secret kept", preview, env["TOKEN"])
		}
		if env["PUBLIC"].IsSecret() {
			t.Errorf("preview=%t: environment.PUBLIC became secret", preview)
		}
		if !preview && (state["stdout"].IsSecret() || state["stdout"].StringValue() != "ok") {
			t.Errorf("stdout = %v; want plain \"ok\" (the secret reached the command; secret outputs are additionalSecretOutputs' job)",
				state["stdout"])
		}
	}

	// On the wire the value carries the secret signature, never the plain value outside it.
	state := h.mustCreate("secrets", inputs)
	wire := h.marshal(state)
	token := wire.GetFields()["environment"].GetStructValue().GetFields()["TOKEN"].GetStructValue()
	if token.GetFields()[resource.SigKey].GetStringValue() != resource.SecretSig {
		t.Errorf("marshalled environment.TOKEN = %v; want a secret", token)
	}

	// A secret `create` stays secret too, and update keeps secrets of the new inputs.
	secretCreate := inputs.Copy()
	secretCreate["create"] = resource.MakeSecret(resource.NewProperty("echo hidden"))
	updated, err := h.update("secrets", inputs, state, secretCreate, false)
	if err != nil {
		t.Fatal(err)
	}
	if !updated["create"].IsSecret() || !updated["environment"].ObjectValue()["TOKEN"].IsSecret() {
		t.Errorf("update outputs %v; want create and environment.TOKEN secret", updated)
	}
}

func TestUnsupportedAndUnknownInputsAreRefused(t *testing.T) {
	h := newHarness(t)
	for key, value := range map[string]any{
		"interpreter":  []any{"/bin/bash", "-c"},
		"assetPaths":   []any{"*.txt"},
		"archivePaths": []any{"*.txt"},
		"bogus":        "x",
	} {
		failures := h.check("refused", props(map[string]any{"create": "true", key: value})).GetFailures()
		if len(failures) != 1 || failures[0].GetProperty() != key ||
			!strings.Contains(failures[0].GetReason(), "eksa-metrics stand-in") {
			t.Errorf("input %s: failures %v; want one naming %s and the stand-in", key, failures, key)
		}
	}
	for key, value := range map[string]any{
		"logging":                "loud",
		"create":                 42.0,
		"environment":            map[string]any{"A": 1.0},
		"triggers":               "not-an-array",
		"addPreviousOutputInEnv": "yes",
	} {
		failures := h.check("refused", props(map[string]any{key: value})).GetFailures()
		if len(failures) != 1 || failures[0].GetProperty() != key {
			t.Errorf("input %s = %v: failures %v; want one on %s", key, value, failures, key)
		}
	}
	// Unknown values (a preview's outputs of other resources) cannot be checked yet: accepted.
	if failures := h.check("unknown", resource.PropertyMap{
		"create":      resource.MakeComputed(resource.NewProperty("")),
		"environment": resource.NewProperty(resource.PropertyMap{"A": resource.MakeComputed(resource.NewProperty(""))}),
	}).GetFailures(); len(failures) != 0 {
		t.Errorf("unknown inputs refused: %v", failures)
	}

	_, err := h.p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn:  string(resource.NewURN("test", "standin", "", "command:remote:Command", "remote")),
		News: h.marshal(props(map[string]any{"create": "true"})),
	})
	if err == nil || !strings.Contains(err.Error(), "eksa-metrics stand-in") {
		t.Errorf("command:remote:Command: err = %v; want a refusal naming the stand-in", err)
	}
}

func assertNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s exists (or cannot be checked: %v): a preview ran a command", path, err)
	}
}
