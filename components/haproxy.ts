/**
 * haproxy.cfg for the proxy pods. haproxy fronts the components that authenticate tokens
 * themselves: it terminates TLS on NODE_IP (never on all interfaces), lets only `GET /metrics`
 * through, and forwards the scrape, Authorization header included, to the component on 127.0.0.1.
 */
import { CatalogueEntry, REFUSAL_HEADER, UPSTREAM_HOST } from "../core/catalogue";

/** Where the pod mounts its files; the DaemonSet and haproxy.cfg must agree. */
export const HAPROXY_CONFIG_DIR = "/usr/local/etc/haproxy";
export const HAPROXY_CONFIG_FILE = "haproxy.cfg";
export const TLS_DIR = "/etc/eksa-metrics/tls";
/** Certificate followed by its key: the one-file form haproxy loads. */
export const HAPROXY_PEM_FILE = "haproxy.pem";
export const HEALTH_PATH = "/healthz";

export interface HaproxyConfigInput {
    /** The components haproxy fronts on this kind of node (authenticator "upstream"). */
    components: readonly CatalogueEntry[];
    healthPort: number;
    serverTimeoutSeconds: number;
    /** A comment line naming what the config is for. */
    description: string;
}

/** `${NODE_IP}` is expanded by haproxy itself from the pod's environment, and only inside double quotes. */
function bindAddress(port: number): string {
    return `"\${NODE_IP}:${port}"`;
}

function frontendAndBackend(entry: CatalogueEntry): string[] {
    const upstreamTls =
        entry.upstreamScheme === "https"
            ? // The components serve a self-signed certificate generated at start-up, on loopback only.
              " ssl verify none"
            : "";
    return [
        `frontend ${entry.name}`,
        `    bind ${bindAddress(entry.port)} ssl crt ${TLS_DIR}/${HAPROXY_PEM_FILE} alpn http/1.1`,
        `    http-request deny deny_status 403 content-type text/plain string "only GET /metrics is served here" hdr ${REFUSAL_HEADER} refused unless { method GET } { path /metrics }`,
        `    default_backend ${entry.name}`,
        "",
        `backend ${entry.name}`,
        // The components answer /healthz to anyone, so the check needs no token.
        "    option httpchk",
        `    http-check send meth GET uri ${HEALTH_PATH}`,
        "    http-check expect status 200",
        `    server ${entry.name} ${UPSTREAM_HOST}:${entry.port}${upstreamTls} check inter 10s fall 3 rise 1`,
        "",
    ];
}

export function renderHaproxyConfig(input: HaproxyConfigInput): string {
    for (const entry of input.components) {
        if (entry.authenticator !== "upstream") {
            throw new Error(`${entry.name} does not authenticate tokens itself; haproxy must not front it`);
        }
    }
    if (input.components.length === 0) {
        throw new Error("haproxy has no component to front");
    }
    const lines = [
        `# ${input.description}`,
        "# Rendered by eksa-metrics; change the Pulumi stack, not this file.",
        "global",
        "    log stdout format raw local0 notice",
        "    maxconn 512",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    timeout connect 5s",
        "    timeout http-request 10s",
        "    timeout client 30s",
        // Never shorter than Prometheus' scrape timeout, or big scrapes are cut off.
        `    timeout server ${input.serverTimeoutSeconds}s`,
        "    timeout check 5s",
        "    default-server maxconn 16",
        "",
        // Liveness of haproxy itself: it does not depend on the components, so a stopped
        // component does not restart the proxy.
        "frontend health",
        `    bind ${bindAddress(input.healthPort)}`,
        `    http-request return status 200 content-type text/plain string "ok" if { path ${HEALTH_PATH} }`,
        "    http-request deny deny_status 404",
        "",
        ...input.components.flatMap(frontendAndBackend),
    ];
    return lines.join("\n");
}
