package main

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	providerName = "command"
	// The version the engine is told: the SDK of @pulumi/command 1.2.1 asks for it.
	reportedVersion = "1.2.1"
	commandType     = "command:local:Command"
	// What this binary is, for --version, the engine's log and error messages.
	identity = "the eksa-metrics stand-in for pulumi-command v1.2.1 (dev/command-standin), not the real plugin"
)

// Secrets and unknowns travel through every request and response as they are: the engine is
// told (Configure) that we accept both.
var (
	unmarshalOptions = plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true, SkipNulls: true}
	marshalOptions   = plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true}
)

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient // nil when no engine is attached: nothing is logged
}

func newProvider(host *provider.HostClient) *commandProvider {
	return &commandProvider{host: host}
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: reportedVersion}, nil
}

func (p *commandProvider) Configure(ctx context.Context, _ *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	// One line in every operation's output, so this plugin is never taken for the real one.
	if p.host != nil {
		_ = p.host.Log(ctx, diag.Info, "", "command: "+identity)
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: checkInputs(news)}, nil
}

// Diff compares old and new inputs: a change of `triggers` replaces the resource, any other
// change updates it.
func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := oldInputs(req)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	changes := olds.Diff(news)
	if changes == nil {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		HasDetailedDiff: true,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
	}
	for _, key := range changes.ChangedKeys() {
		resp.Diffs = append(resp.Diffs, string(key))
		if key == "triggers" {
			resp.Replaces = append(resp.Replaces, string(key))
		}
	}
	for path, d := range plugin.NewDetailedDiffFromObjectDiff(changes, true) {
		if root, err := resource.ParsePropertyPath(path); err == nil && len(root) > 0 && root[0] == "triggers" {
			d = d.ToReplace()
		}
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: rpcDiffKinds[d.Kind], InputDiff: d.InputDiff}
	}
	return resp, nil
}

var rpcDiffKinds = map[plugin.DiffKind]pulumirpc.PropertyDiff_Kind{
	plugin.DiffAdd:           pulumirpc.PropertyDiff_ADD,
	plugin.DiffAddReplace:    pulumirpc.PropertyDiff_ADD_REPLACE,
	plugin.DiffDelete:        pulumirpc.PropertyDiff_DELETE,
	plugin.DiffDeleteReplace: pulumirpc.PropertyDiff_DELETE_REPLACE,
	plugin.DiffUpdate:        pulumirpc.PropertyDiff_UPDATE,
	plugin.DiffUpdateReplace: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

// oldInputs are the inputs the engine recorded; states written by engines that do not send
// them hold every input as an output of the same name.
func oldInputs(req *pulumirpc.DiffRequest) (resource.PropertyMap, error) {
	if req.GetOldInputs() != nil {
		return plugin.UnmarshalProperties(req.GetOldInputs(), unmarshalOptions)
	}
	state, err := plugin.UnmarshalProperties(req.GetOlds(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	inputs := resource.PropertyMap{}
	for key, value := range state {
		if _, isInput := inputChecks[key]; isInput {
			inputs[key] = value
		}
	}
	return inputs, nil
}

// Create runs `create`, except in a preview, which runs nothing and leaves stdout and stderr
// unknown.
func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := outputs(inputs, unknown, unknown)
		return &pulumirpc.CreateResponse{Properties: props}, err
	}
	in := decodeInputs(inputs)
	var stdout, stderr string
	if in.create != nil {
		if stdout, stderr, err = run(ctx, *in.create, in, "", "", p.logger(ctx, urn)); err != nil {
			return nil, err
		}
	}
	id, err := resource.NewUniqueHex(urn.Name(), 8, 0)
	if err != nil {
		return nil, err
	}
	props, err := outputs(inputs, resource.NewProperty(stdout), resource.NewProperty(stderr))
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

// Update runs `update`, or `create` when `update` is unset; nothing in a preview.
func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	state, err := plugin.UnmarshalProperties(req.GetOlds(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := outputs(news, unknown, unknown)
		return &pulumirpc.UpdateResponse{Properties: props}, err
	}
	in := decodeInputs(news)
	command := in.update
	if command == nil {
		command = in.create
	}
	// With nothing to run, the outputs of the last run stay.
	stdout, stderr := state["stdout"], state["stderr"]
	if command != nil {
		out, errOut, err := run(ctx, *command, in, plainString(stdout), plainString(stderr),
			p.logger(ctx, resource.URN(req.GetUrn())))
		if err != nil {
			return nil, err
		}
		stdout, stderr = resource.NewProperty(out), resource.NewProperty(errOut)
	}
	props, err := outputs(news, stdout, stderr)
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

// Delete runs `delete` when it is set, with the inputs and outputs recorded in the state.
func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	state, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOptions)
	if err != nil {
		return nil, err
	}
	in := decodeInputs(state)
	if in.delete != nil {
		_, _, err = run(ctx, *in.delete, in, plainString(state["stdout"]), plainString(state["stderr"]),
			p.logger(ctx, resource.URN(req.GetUrn())))
	}
	return &emptypb.Empty{}, err
}

// Read (refresh) keeps the state as it is, as v1.2.1 does: a command has nothing to read back.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// Invoke refuses the functions of pulumi-command (local:run): only the resource is implemented.
func (p *commandProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("function %s is not implemented by %s", req.GetTok(), identity)
}

func checkType(urn string) error {
	if typ := resource.URN(urn).Type(); typ != commandType {
		return fmt.Errorf("resource type %s is not implemented by %s: it implements %s only", typ, identity, commandType)
	}
	return nil
}

var unknown = resource.MakeComputed(resource.NewProperty(""))

// outputs are every input as given (secret stays secret) plus stdout and stderr.
func outputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) (*structpb.Struct, error) {
	props := inputs.Copy()
	props["stdout"], props["stderr"] = stdout, stderr
	return plugin.MarshalProperties(props, marshalOptions)
}

func plainString(v resource.PropertyValue) string {
	if v = plain(v); v.IsString() {
		return v.StringValue()
	}
	return ""
}

// logger sends a command's output, line by line, to the engine as v1.2.1 does: info status
// messages on the resource.
func (p *commandProvider) logger(ctx context.Context, urn resource.URN) func(string) {
	if p.host == nil {
		return nil
	}
	return func(line string) {
		// A lost log line must not fail the command.
		_ = p.host.LogStatus(ctx, diag.Info, urn, line)
	}
}
