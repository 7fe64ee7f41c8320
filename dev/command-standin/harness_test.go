package main

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// engineLogDouble is a test double of the engine's gRPC Engine service: it records the Log
// requests the provider sends through a real provider.HostClient, and implements nothing else.
type engineLogDouble struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	logs []*pulumirpc.LogRequest
}

func (e *engineLogDouble) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, req)
	return &emptypb.Empty{}, nil
}

// messages returns the logged messages on urn ("" for global ones).
func (e *engineLogDouble) messages(urn resource.URN) []*pulumirpc.LogRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*pulumirpc.LogRequest
	for _, l := range e.logs {
		if l.GetUrn() == string(urn) {
			out = append(out, l)
		}
	}
	return out
}

// harness drives the provider through its gRPC methods, the way the engine does, with
// properties marshalled as the engine marshals them (secrets and unknowns kept).
type harness struct {
	t      *testing.T
	p      *commandProvider
	engine *engineLogDouble
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	engine := &engineLogDouble{}
	srv := grpc.NewServer()
	pulumirpc.RegisterEngineServer(srv, engine)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	host, err := provider.NewHostClient(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Close() })
	return &harness{t: t, p: newProvider(host), engine: engine}
}

func urnOf(name string) resource.URN {
	return resource.NewURN("test", "standin", "", commandType, name)
}

func (h *harness) marshal(props resource.PropertyMap) *structpb.Struct {
	h.t.Helper()
	s, err := plugin.MarshalProperties(props, marshalOptions)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) unmarshal(s *structpb.Struct) resource.PropertyMap {
	h.t.Helper()
	props, err := plugin.UnmarshalProperties(s, unmarshalOptions)
	if err != nil {
		h.t.Fatal(err)
	}
	return props
}

func (h *harness) check(name string, news resource.PropertyMap) *pulumirpc.CheckResponse {
	h.t.Helper()
	resp, err := h.p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: string(urnOf(name)), News: h.marshal(news)})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// create checks the inputs (they must pass) and creates the resource, returning its state.
func (h *harness) create(name string, inputs resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	h.t.Helper()
	if failures := h.check(name, inputs).GetFailures(); len(failures) > 0 {
		h.t.Fatalf("Check refused %v: %v", inputs, failures)
	}
	resp, err := h.p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: string(urnOf(name)), Properties: h.marshal(inputs), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	if !preview && resp.GetId() == "" {
		h.t.Fatal("Create returned no id")
	}
	return h.unmarshal(resp.GetProperties()), nil
}

func (h *harness) mustCreate(name string, inputs resource.PropertyMap) resource.PropertyMap {
	h.t.Helper()
	state, err := h.create(name, inputs, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return state
}

func (h *harness) diff(name string, oldInputs, state, news resource.PropertyMap) *pulumirpc.DiffResponse {
	h.t.Helper()
	resp, err := h.p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: string(urnOf(name)), Id: name, OldInputs: h.marshal(oldInputs), Olds: h.marshal(state), News: h.marshal(news),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func (h *harness) update(name string, oldInputs, state, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	h.t.Helper()
	resp, err := h.p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: string(urnOf(name)), Id: name, OldInputs: h.marshal(oldInputs), Olds: h.marshal(state),
		News: h.marshal(news), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return h.unmarshal(resp.GetProperties()), nil
}

func (h *harness) delete(name string, oldInputs, state resource.PropertyMap) error {
	h.t.Helper()
	_, err := h.p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: string(urnOf(name)), Id: name, OldInputs: h.marshal(oldInputs), Properties: h.marshal(state),
	})
	return err
}

// props builds a property map from plain Go values (strings, []any, map[string]any...).
func props(values map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(values)
}
