// Command pulumi-language-nodejs is eksa-metrics' own minimal Node.js language host for the
// Pulumi CLI. The upstream host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/
// pulumi-language-nodejs/v3) is not served by the Go module proxy this project can reach, so
// dev/toolchain/setup.sh builds this one next to the `pulumi` binary instead.
//
// It covers what this project uses, for programs whose node_modules are already installed
// (dev/toolchain/setup.sh runs `npm ci`):
//   - Run: runs the program with the SDK's own runner, `@pulumi/pulumi/cmd/run`, resolved from
//     the program's directory, passing config the way the SDK reads it (PULUMI_CONFIG,
//     PULUMI_CONFIG_SECRET_KEYS) and the runtime options `typescript`, `tsconfig`, `nodeargs`.
//   - RunPlugin: runs a policy pack (`@pulumi/pulumi/cmd/run-policy-pack` from the pack's own
//     node_modules) or a Node.js plugin (`@pulumi/pulumi/cmd/run-plugin`), streaming its output.
//   - Handshake, GetPluginInfo, GetRequiredPlugins (none: plugins are installed by setup.sh and
//     automatic acquisition is disabled), InstallDependencies (nothing to do), About, Cancel.
//
// Exit status 32 from the SDK's runner means the program already reported its error: the
// host then asks the engine to bail without printing another message, as the SDK expects.
// Any other non-zero exit fails the run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The SDK's runner exits with this code after it has logged a user-actionable error itself.
const exitedAfterLoggingError = 32

func main() {
	engine := ""
	for _, arg := range os.Args[1:] {
		switch {
		case arg == "-version" || arg == "--version":
			fmt.Println(version.Version)
			return
		case strings.HasPrefix(arg, "-"):
			// Flags of the upstream host (-tracing, -root, runtime options...): not needed here.
		default:
			engine = arg // the engine address is the last positional argument
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engine != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, engine, 5*time.Minute, cancel); err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: health check of %s: %v\n", engine, err)
			os.Exit(1)
		}
	}
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{engine: engine})
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engine string
}

func (h *host) Handshake(context.Context, *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil // dev/toolchain/setup.sh installs node_modules (npm ci) before anything runs
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

// options are the project's runtime options (Pulumi.yaml runtime.options) that we honour.
type options struct {
	typeScript bool
	tsconfig   string
	nodeArgs   []string
}

func readOptions(info *pulumirpc.ProgramInfo) options {
	o := options{typeScript: true}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typeScript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeArgs = strings.Fields(v)
	}
	return o
}

// resolve finds an SDK module (e.g. "@pulumi/pulumi/cmd/run") the way Node would from dir.
func resolve(dir, module string) (string, error) {
	cmd := exec.Command("node", "-e", "console.log(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("could not find %s from %s (are its node_modules installed? run dev/toolchain/setup.sh): %w",
			module, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	program := info.GetEntryPoint()
	if program == "" {
		program = req.GetProgram()
	}
	if program == "" {
		program = "."
	}
	opts := readOptions(info)

	runner, err := resolve(dir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args := append([]string{}, opts.nodeArgs...)
	args = append(args, runner,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engine,
		"--organization="+req.GetOrganization(),
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+dir,
		"--root-directory="+info.GetRootDirectory(),
	)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, fmt.Sprintf("--parallel=%d", req.GetParallel()))
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{} // the SDK expects an object, not null
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(keys),
		fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", opts.typeScript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == exitedAfterLoggingError:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with %s", exit)}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}, nil
	}
}

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, srv pulumirpc.LanguageRuntime_RunPluginServer) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	if dir == "" {
		return status.Error(codes.InvalidArgument, "RunPlugin: no program directory")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var runner string
	var args []string
	pwd := req.GetPwd()
	switch req.GetKind() {
	case "analyzer":
		// A policy pack: run-policy-pack ENGINE-ADDRESS PACK-DIR, in the pack's directory
		// (PolicyPack reads the pack's version from ./package.json).
		runner, err = resolve(dir, "@pulumi/pulumi/cmd/run-policy-pack")
		args = append(append([]string{}, req.GetArgs()...), dir)
		pwd = dir
	default: // a plugin written in Node.js: run-plugin PLUGIN-DIR ARGS...
		runner, err = resolve(dir, "@pulumi/pulumi/cmd/run-plugin")
		args = append([]string{dir}, req.GetArgs()...)
	}
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	opts := readOptions(req.GetInfo())
	cmd := exec.CommandContext(srv.Context(), "node", append(append(append([]string{}, opts.nodeArgs...), runner), args...)...)
	cmd.Dir = pwd
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}

	var mu sync.Mutex // a gRPC stream's Send is not safe for concurrent use
	send := func(resp *pulumirpc.RunPluginResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return srv.Send(resp)
	}
	var wg sync.WaitGroup
	forward := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_ = send(wrap(append([]byte(nil), buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go forward(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go forward(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	wg.Wait() // both pipes are drained before Wait closes them
	code := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = exit.ExitCode()
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}
