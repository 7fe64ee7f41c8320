package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
)

// expandVars implements the $(VAR) syntax of container command, args and env values:
// "$$" is an escaped "$", "$(NAME)" is replaced when NAME is defined and left as written
// otherwise, any other "$" is literal. (Written for this project from the documented
// semantics.)
func expandVars(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envResolver resolves a container's environment as the kubelet does.
type envResolver struct {
	w *podWorker
}

// serviceEnv is what the kubelet injects for the "kubernetes" service of the default
// namespace. A real kubelet gives the service's ClusterIP (e.g. 10.96.0.1:443); that needs a
// service proxy on the host, which localcluster does not run, so containers get the
// apiserver's real address instead (127.0.0.1:6443). Links for other services (enableServiceLinks)
// are not emulated.
func (r envResolver) serviceEnv() []v1.EnvVar {
	h, p := r.w.n.k.cfg.apiHost, strconv.Itoa(r.w.n.k.cfg.apiPort)
	tcp := "tcp://" + h + ":" + p
	return []v1.EnvVar{
		{Name: "KUBERNETES_SERVICE_HOST", Value: h},
		{Name: "KUBERNETES_SERVICE_PORT", Value: p},
		{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: p},
		{Name: "KUBERNETES_PORT", Value: tcp},
		{Name: "KUBERNETES_PORT_" + p + "_TCP", Value: tcp},
		{Name: "KUBERNETES_PORT_" + p + "_TCP_PROTO", Value: "tcp"},
		{Name: "KUBERNETES_PORT_" + p + "_TCP_PORT", Value: p},
		{Name: "KUBERNETES_PORT_" + p + "_TCP_ADDR", Value: h},
	}
}

// resolve returns the environment as an ordered list of NAME=VALUE (later wins, like the
// kubelet's map) plus a lookup for $(VAR) expansion of command and args.
func (r envResolver) resolve(ctx context.Context, pod *v1.Pod, c *v1.Container) ([]string, func(string) (string, bool), error) {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, e := range r.serviceEnv() {
		set(e.Name, e.Value)
	}
	lookup := func(k string) (string, bool) { v, ok := vals[k]; return v, ok }

	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := r.w.getConfigMap(ctx, pod.Namespace, ef.ConfigMapRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional {
					continue
				}
				return nil, nil, fmt.Errorf("envFrom configMap %q: %w", ef.ConfigMapRef.Name, err)
			}
			keys := sortedKeys(cm.Data)
			for _, k := range keys {
				set(ef.Prefix+k, cm.Data[k])
			}
		case ef.SecretRef != nil:
			s, err := r.w.getSecret(ctx, pod.Namespace, ef.SecretRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && ef.SecretRef.Optional != nil && *ef.SecretRef.Optional {
					continue
				}
				return nil, nil, fmt.Errorf("envFrom secret %q: %w", ef.SecretRef.Name, err)
			}
			keys := make([]string, 0, len(s.Data))
			for k := range s.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				set(ef.Prefix+k, string(s.Data[k]))
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expandVars(e.Value, lookup))
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, err := r.w.fieldValue(pod, vf.FieldRef.FieldPath)
			if err != nil {
				return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			set(e.Name, v)
		case vf.ResourceFieldRef != nil:
			v, err := r.w.resourceFieldValue(pod, c.Name, vf.ResourceFieldRef)
			if err != nil {
				return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			set(e.Name, v)
		case vf.ConfigMapKeyRef != nil:
			ref := vf.ConfigMapKeyRef
			optional := ref.Optional != nil && *ref.Optional
			cm, err := r.w.getConfigMap(ctx, pod.Namespace, ref.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return nil, nil, fmt.Errorf("env %s: configMap %q: %w", e.Name, ref.Name, err)
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				if b, okb := cm.BinaryData[ref.Key]; okb {
					v, ok = string(b), true
				}
			}
			if !ok {
				if optional {
					continue
				}
				return nil, nil, fmt.Errorf("env %s: key %q not in configMap %q", e.Name, ref.Key, ref.Name)
			}
			set(e.Name, v)
		case vf.SecretKeyRef != nil:
			ref := vf.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			s, err := r.w.getSecret(ctx, pod.Namespace, ref.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return nil, nil, fmt.Errorf("env %s: secret %q: %w", e.Name, ref.Name, err)
			}
			b, ok := s.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return nil, nil, fmt.Errorf("env %s: key %q not in secret %q", e.Name, ref.Key, ref.Name)
			}
			set(e.Name, string(b))
		default:
			return nil, nil, fmt.Errorf("env %s: unsupported valueFrom", e.Name)
		}
	}
	out := make([]string, 0, len(order)+3)
	// What the runtime adds from the image config / for every container.
	out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME="+r.w.n.name)
	home := "/"
	if uid := effectiveUID(pod, c); uid == nil || *uid == 0 {
		home = "/root"
	}
	out = append(out, "HOME="+home)
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out, lookup, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldValue resolves a downward API fieldRef (env or volume).
func (w *podWorker) fieldValue(pod *v1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return w.n.ip, nil
	case "status.podIP", "status.podIPs":
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.podIP(), nil
	}
	for _, pfx := range []string{"metadata.labels", "metadata.annotations"} {
		if rest, ok := strings.CutPrefix(path, pfx+"['"); ok && strings.HasSuffix(rest, "']") {
			key := strings.TrimSuffix(rest, "']")
			if pfx == "metadata.labels" {
				return pod.Labels[key], nil
			}
			return pod.Annotations[key], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

func formatMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// resourceFieldValue resolves resourceFieldRef; unset limits default to the node's
// allocatable, as with the kubelet.
func (w *podWorker) resourceFieldValue(pod *v1.Pod, defaultContainer string, ref *v1.ResourceFieldSelector) (string, error) {
	name := ref.ContainerName
	if name == "" {
		name = defaultContainer
	}
	var c *v1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: no container %q", name)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	var ok bool
	switch ref.Resource {
	case "limits.cpu":
		q, ok = c.Resources.Limits[v1.ResourceCPU]
		if !ok {
			q = w.n.k.cfg.cpu
		}
	case "limits.memory":
		q, ok = c.Resources.Limits[v1.ResourceMemory]
		if !ok {
			q = w.n.k.cfg.memory
		}
	case "limits.ephemeral-storage":
		q, ok = c.Resources.Limits[v1.ResourceEphemeralStorage]
		if !ok {
			q = w.n.k.cfg.storage
		}
	case "requests.cpu":
		q = c.Resources.Requests[v1.ResourceCPU]
	case "requests.memory":
		q = c.Resources.Requests[v1.ResourceMemory]
	case "requests.ephemeral-storage":
		q = c.Resources.Requests[v1.ResourceEphemeralStorage]
	default:
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		v := int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))
		return strconv.FormatInt(v, 10), nil
	}
	v := int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))
	return strconv.FormatInt(v, 10), nil
}

// effectiveUID / effectiveGID: container securityContext wins over the pod's.
func effectiveUID(pod *v1.Pod, c *v1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.RunAsUser
	}
	return nil
}

func effectiveGID(pod *v1.Pod, c *v1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsGroup != nil {
		return c.SecurityContext.RunAsGroup
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.RunAsGroup
	}
	return nil
}

func runAsNonRoot(pod *v1.Pod, c *v1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return *c.SecurityContext.RunAsNonRoot
	}
	return pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsNonRoot != nil && *pod.Spec.SecurityContext.RunAsNonRoot
}
