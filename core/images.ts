/**
 * Image references and registries, as a container runtime resolves them: where a node pulls an
 * image from, a registry mirror's rewrite of the default images (the `imageRegistry` key), and
 * whether an EKS Anywhere cluster's registry mirror serves an image. Pure.
 */

/** A reference resolved as containerd does: docker.io for a name without a registry, library/ for Docker Hub's one-word names. */
export interface ImageReference {
    /** "quay.io", "mirror.example:5000", "docker.io". */
    registry: string;
    /** "brancz/kube-rbac-proxy", "library/haproxy". */
    repository: string;
    /** ":v0.19.1", "@sha256:…", ":v1@sha256:…", or "" (latest). */
    suffix: string;
}

/** The registry part of a registry prefix: a host (DNS name or IP, optional port), or localhost. */
const HOST =
    /^(localhost|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*([+._-][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;

/** A first component is a registry when it has a '.' or ':' or is localhost (the Docker rule). */
function isRegistry(component: string): boolean {
    return component === "localhost" || /[.:]/.test(component);
}

/** The same registry written the same way: Docker Hub's aliases, and no default HTTPS port. */
export function normaliseRegistry(registry: string): string {
    const lower = registry.toLowerCase().replace(/:443$/, "");
    return lower === "index.docker.io" || lower === "registry-1.docker.io" ? "docker.io" : lower;
}

/** The reference, or why it is not one. */
export function parseImageReference(reference: string): ImageReference | { invalid: string } {
    const at = reference.indexOf("@");
    let name = at >= 0 ? reference.slice(0, at) : reference;
    const digest = at >= 0 ? reference.slice(at + 1) : undefined;
    let tag: string | undefined;
    const colon = name.lastIndexOf(":");
    if (colon > name.lastIndexOf("/")) {
        tag = name.slice(colon + 1);
        name = name.slice(0, colon);
    }
    const parts = name.split("/");
    const registry = parts.length > 1 && isRegistry(parts[0]) ? parts.shift()! : "docker.io";
    if (!HOST.test(registry)) {
        return { invalid: `"${registry}" is not a registry host` };
    }
    if (parts.length === 0 || !parts.every((p) => PATH_COMPONENT.test(p))) {
        return { invalid: `"${parts.join("/")}" is not a repository (lowercase letters, digits and . _ - between /)` };
    }
    if (tag !== undefined && !TAG.test(tag)) {
        return { invalid: `"${tag}" is not a tag` };
    }
    if (digest !== undefined && !DIGEST.test(digest)) {
        return { invalid: `"${digest}" is not a digest` };
    }
    const normalised = normaliseRegistry(registry);
    if (normalised === "docker.io" && parts.length === 1) {
        parts.unshift("library");
    }
    return {
        registry: normalised,
        repository: parts.join("/"),
        suffix: `${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`,
    };
}

/** "quay.io/brancz/kube-rbac-proxy:v0.19.1": the registry a node pulls `reference` from; undefined when it is no reference. */
export function registryOf(reference: string): string | undefined {
    const parsed = parseImageReference(reference);
    return "invalid" in parsed ? undefined : parsed.registry;
}

/**
 * A registry prefix: "host[:port]" or "host[:port]/path" (a project or namespace of the mirror).
 * Returns the prefix, or why it is not one (a scheme, a trailing "/", no registry host, a bad path).
 */
export function parseRegistryPrefix(value: string): { prefix: string } | { invalid: string } {
    if (/^[a-z]+:\/\//i.test(value)) {
        return { invalid: `"${value}" has a scheme: give the registry as images name it, e.g. mirror.example:5000` };
    }
    // Refused rather than trimmed: the key's value is what the images' names start with, exactly.
    if (value.endsWith("/")) {
        return { invalid: `"${value}" ends with "/": give the registry without it, e.g. mirror.example:5000` };
    }
    const [host, ...path] = value.split("/");
    if (!HOST.test(host) || !isRegistry(host)) {
        return {
            invalid: `"${host}" is not a registry host (a name with a dot, an IP or localhost, optionally :port), e.g. mirror.example:5000`,
        };
    }
    if (!path.every((p) => PATH_COMPONENT.test(p))) {
        return {
            invalid: `"${path.join("/")}" is not a path in a registry (lowercase letters, digits and . _ - between /)`,
        };
    }
    return { prefix: [host, ...path].join("/") };
}

/**
 * `reference` pulled from the mirror at `prefix` (a valid registry prefix) instead of its own
 * registry: "quay.io/brancz/kube-rbac-proxy:v0.19.1" with "mirror.example:5000" is
 * "mirror.example:5000/brancz/kube-rbac-proxy:v0.19.1"; Docker Hub's one-word names keep their
 * "library/" ("haproxy:3" is "mirror.example:5000/library/haproxy:3"). An invalid reference is
 * returned as it is (the pull says what is wrong with it).
 */
export function withRegistry(reference: string, prefix: string): string {
    const parsed = parseImageReference(reference);
    return "invalid" in parsed ? reference : `${prefix}/${parsed.repository}${parsed.suffix}`;
}

/**
 * An EKS Anywhere Cluster's `spec.registryMirrorConfiguration`, as its nodes' container runtime
 * applies it: the mirror's own registry (`endpoint[:port]`), and the upstream registries whose pulls
 * go through the mirror (each `ociNamespaces[].registry`, into `<mirror>/<namespace>`; without
 * ociNamespaces, public.ecr.aws only, EKS Anywhere's default).
 */
export interface RegistryMirror {
    /** Where the declaration is: "Cluster <namespace>/<name>". */
    declaredBy: string;
    /** "mirror.example:5000", normalised (no :443). */
    registry: string;
    /** Upstream registry (normalised) → the namespace in the mirror its images are under ("" for none). */
    mirrored: Record<string, string>;
}

/** EKS Anywhere's registry that a mirror without ociNamespaces serves. */
export const EKS_ANYWHERE_REGISTRY = "public.ecr.aws";

/** The mirror of `spec.registryMirrorConfiguration`, or undefined when there is none or no endpoint. */
export function registryMirrorOf(declaredBy: string, configuration: unknown): RegistryMirror | undefined {
    const c = configuration as
        | { endpoint?: unknown; port?: unknown; ociNamespaces?: { registry?: unknown; namespace?: unknown }[] }
        | undefined;
    if (typeof c?.endpoint !== "string" || c.endpoint === "") {
        return undefined;
    }
    const port = typeof c.port === "string" || typeof c.port === "number" ? String(c.port) : "";
    const host = c.endpoint.includes(":") && !c.endpoint.startsWith("[") ? `[${c.endpoint}]` : c.endpoint;
    const mirrored: Record<string, string> = {};
    for (const ns of Array.isArray(c.ociNamespaces) ? c.ociNamespaces : []) {
        if (typeof ns?.registry === "string" && ns.registry !== "") {
            mirrored[normaliseRegistry(ns.registry)] = typeof ns.namespace === "string" ? ns.namespace : "";
        }
    }
    if (Object.keys(mirrored).length === 0) {
        mirrored[EKS_ANYWHERE_REGISTRY] = "";
    }
    return { declaredBy, registry: normaliseRegistry(port ? `${host}:${port}` : host), mirrored };
}

/**
 * How a node of a cluster with `mirror` pulls `reference`: from the mirror itself (the image names
 * it), through the mirror (the image names a registry it mirrors), or from elsewhere.
 */
export function pullSource(reference: string, mirror: RegistryMirror): "mirror" | "through-mirror" | "elsewhere" {
    const registry = registryOf(reference);
    if (registry === undefined) {
        return "elsewhere";
    }
    if (registry === mirror.registry) {
        return "mirror";
    }
    return registry in mirror.mirrored ? "through-mirror" : "elsewhere";
}
