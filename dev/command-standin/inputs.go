package main

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// The inputs of pulumi-command v1.2.1's local.Command that the stand-in implements, and the
// check each value must pass.
var inputChecks = map[resource.PropertyKey]func(resource.PropertyValue) string{
	"create":                 isA(resource.PropertyValue.IsString, "a string"),
	"update":                 isA(resource.PropertyValue.IsString, "a string"),
	"delete":                 isA(resource.PropertyValue.IsString, "a string"),
	"dir":                    isA(resource.PropertyValue.IsString, "a string"),
	"stdin":                  isA(resource.PropertyValue.IsString, "a string"),
	"environment":            isStringMap,
	"logging":                isLogging,
	"triggers":               isA(resource.PropertyValue.IsArray, "an array"),
	"addPreviousOutputInEnv": isA(resource.PropertyValue.IsBool, "a boolean"),
}

// Inputs v1.2.1 has that the stand-in does not implement: refused rather than ignored, so a
// program that relies on them fails here instead of misbehaving.
var unsupportedInputs = []resource.PropertyKey{"interpreter", "assetPaths", "archivePaths"}

// The values of `logging`, as in v1.2.1; unset means stdoutAndStderr.
var loggingModes = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// checkInputs returns a failure for each input the stand-in refuses, in key order.
func checkInputs(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	for _, key := range news.StableKeys() {
		value := news[key]
		var reason string
		if slices.Contains(unsupportedInputs, key) {
			reason = fmt.Sprintf("input %q of command:local:Command is not implemented by %s", key, identity)
		} else if check, known := inputChecks[key]; !known {
			reason = fmt.Sprintf("unknown input %q: command:local:Command has no such input (checked by %s)", key, identity)
		} else if v := plain(value); !v.ContainsUnknowns() {
			reason = check(v)
		}
		if reason != "" {
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(key), Reason: reason})
		}
	}
	return failures
}

// plain strips the secret marker: the checks and the command need the value, the outputs keep
// the marked one.
func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// isA makes the check that a value passes test, described as what.
func isA(test func(resource.PropertyValue) bool, what string) func(resource.PropertyValue) string {
	return func(v resource.PropertyValue) string {
		if !test(v) {
			return "must be " + what
		}
		return ""
	}
}

func isStringMap(v resource.PropertyValue) string {
	if !v.IsObject() {
		return "must be a map of strings"
	}
	for name, value := range v.ObjectValue() {
		if value = plain(value); !value.IsString() && !value.IsComputed() {
			return fmt.Sprintf("value of %q must be a string", name)
		}
	}
	return ""
}

func isLogging(v resource.PropertyValue) string {
	if !v.IsString() || !slices.Contains(loggingModes, v.StringValue()) {
		return fmt.Sprintf("must be one of %q", loggingModes)
	}
	return ""
}

// commandInputs are the checked inputs, decoded for running a command (so fully known).
type commandInputs struct {
	// nil when unset: as in v1.2.1, an empty `update` is run (doing nothing) rather than
	// falling back to `create`.
	create, update, delete *string
	dir, stdin             string
	environment            map[string]string
	logStdout, logStderr   bool
	addPreviousOutputInEnv bool
}

func decodeInputs(props resource.PropertyMap) commandInputs {
	optional := func(key resource.PropertyKey) *string {
		if v := plain(props[key]); v.IsString() {
			s := v.StringValue()
			return &s
		}
		return nil
	}
	str := func(key resource.PropertyKey) string {
		if s := optional(key); s != nil {
			return *s
		}
		return ""
	}
	in := commandInputs{
		create: optional("create"), update: optional("update"), delete: optional("delete"),
		dir: str("dir"), stdin: str("stdin"),
		environment:            map[string]string{},
		addPreviousOutputInEnv: true,
	}
	if env := plain(props["environment"]); env.IsObject() {
		for name, value := range env.ObjectValue() {
			if value = plain(value); value.IsString() {
				in.environment[string(name)] = value.StringValue()
			}
		}
	}
	switch str("logging") {
	case "stdout":
		in.logStdout = true
	case "stderr":
		in.logStderr = true
	case "none":
	default:
		in.logStdout, in.logStderr = true, true
	}
	if v := plain(props["addPreviousOutputInEnv"]); v.IsBool() {
		in.addPreviousOutputInEnv = v.BoolValue()
	}
	return in
}
