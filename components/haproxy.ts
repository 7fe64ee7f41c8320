/**
 * haproxy.cfg for the proxy pods. haproxy fronts every port of the node: it terminates TLS on NODE_IP
 * (never on all interfaces), lets only `GET /metrics` with a bearer JWT through, limits the failed
 * authentications of each source address, and forwards the scrape, Authorization header included,
 * to the component on 127.0.0.1 when the component checks tokens itself (authenticator "upstream"),
 * else to kube-rbac-proxy on its loopback address (authenticator "proxy"), which checks them.
 */
import { CatalogueEntry, REFUSAL_HEADER, UPSTREAM_HOST } from "../core/catalogue";
import { DEFAULT_AUTH_FAILURE_LIMIT } from "../config/settings";

/** Where the pod mounts its files; the DaemonSet and haproxy.cfg must agree. */
export const HAPROXY_CONFIG_DIR = "/usr/local/etc/haproxy";
export const HAPROXY_CONFIG_FILE = "haproxy.cfg";
export const TLS_DIR = "/etc/eksa-metrics/tls";
/** Certificate followed by its key: the one-file form haproxy loads. */
export const HAPROXY_PEM_FILE = "haproxy.pem";
export const HEALTH_PATH = "/healthz";

/**
 * How many failed authentications one source address may cause per period before haproxy refuses its
 * requests (429) until its rate falls back under the limit: the bound on the TokenReviews a client
 * without credentials makes the API server serve through one node. Counted: the 401 of the component
 * or of kube-rbac-proxy (a token the API server rejected: one TokenReview each, as every distinct
 * token misses their caches). Not counted: haproxy's own refusals of requests without a bearer JWT
 * (they cost nothing, and the verification's anonymous checks, several per node and run, must not
 * lock it out), nor 403 (a valid token without the right: its reviews are cached), so a reader that
 * lost its binding is reported as refused, not as rate-limited.
 */
export interface AuthFailureLimit {
    /** Failed authentications per source address per period. */
    failures: number;
    periodSeconds: number;
}

/**
 * haproxy waits min(timeout connect, 1 s) between attempts: a handover of up to ~8 s is bridged, within
 * Prometheus' default scrape timeout (10 s).
 */
export const RETRIES = 8;

/** Source addresses haproxy remembers at once (~100 bytes each); the oldest go first when it is full. */
export const AUTH_FAILURE_TABLE_SIZE = 100_000;

export interface HaproxyConfigInput {
    /** The components of this kind of node: haproxy fronts every one. */
    components: readonly CatalogueEntry[];
    /**
     * The loopback address kube-rbac-proxy listens on in this pod (`kubeRbacProxyHost`); required when
     * a component authenticates nobody (authenticator "proxy").
     */
    kubeRbacProxyHost?: string;
    healthPort: number;
    serverTimeoutSeconds: number;
    /** A comment line naming what the config is for. */
    description: string;
    /** The `authFailureLimit` setting. Defaults to DEFAULT_AUTH_FAILURE_LIMIT (20 per 60 s). */
    authFailureLimit?: AuthFailureLimit;
}

/** The stick table that counts failed authentications per source address, across every port of the node. */
const AUTH_FAILURES_TABLE = "auth_failures";

/**
 * What a token the API server could accept looks like: `Bearer` (any case, as Kubernetes reads it)
 * and a JWT, three base64url segments whose first one is a JSON object (`{"` is `eyJ`). Service
 * account and OIDC tokens are JWTs; anything else would only cost a TokenReview to be refused.
 */
export const BEARER_JWT = String.raw`^[Bb][Ee][Aa][Rr][Ee][Rr] +eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+ *$`;

/** `${NODE_IP}` is expanded by haproxy itself from the pod's environment, and only inside double quotes. */
function bindAddress(port: number): string {
    return `"\${NODE_IP}:${port}"`;
}

/**
 * Where haproxy sends a component's scrapes, and how it checks that the server is up. kube-rbac-proxy
 * serves our own certificate, for the node's name, on loopback; the components a self-signed one
 * generated at start-up, on loopback only: neither is verified on loopback.
 */
function server(entry: CatalogueEntry, kubeRbacProxyHost: string | undefined): string[] {
    if (entry.authenticator === "proxy") {
        if (kubeRbacProxyHost === undefined) {
            throw new Error(`haproxy fronts ${entry.name} through kube-rbac-proxy, but has no kube-rbac-proxy address`);
        }
        // While a deleted pod's replacement takes the address over (kube-rbac-proxy cannot share it), a
        // scrape finds no listener: it is tried again, up to RETRIES times, about a second apart. No health
        // check, which would mark the server down meanwhile and answer 503 at once.
        return [
            `    retries ${RETRIES}`,
            "    retry-on conn-failure empty-response",
            `    server ${entry.name} ${kubeRbacProxyHost}:${entry.port} ssl verify none`,
        ];
    }
    const upstreamTls = entry.upstreamScheme === "https" ? " ssl verify none" : "";
    return [
        // The components answer /healthz to anyone, so the check needs no token.
        "    option httpchk",
        `    http-check send meth GET uri ${HEALTH_PATH}`,
        "    http-check expect status 200",
        `    server ${entry.name} ${UPSTREAM_HOST}:${entry.port}${upstreamTls} check inter 10s fall 3 rise 1`,
    ];
}

function frontendAndBackend(entry: CatalogueEntry, limit: AuthFailureLimit, kubeRbacProxyHost?: string): string[] {
    return [
        `frontend ${entry.name}`,
        `    bind ${bindAddress(entry.port)} ssl crt ${TLS_DIR}/${HAPROXY_PEM_FILE} alpn http/1.1`,
        `    http-request track-sc0 src table ${AUTH_FAILURES_TABLE}`,
        `    http-request deny deny_status 429 content-type text/plain string "too many failed authentications from this address" hdr ${REFUSAL_HEADER} refused hdr Retry-After ${limit.periodSeconds} if { sc0_gpc0_rate ge ${limit.failures} }`,
        `    http-request deny deny_status 403 content-type text/plain string "only GET /metrics is served here" hdr ${REFUSAL_HEADER} refused unless { method GET } { path /metrics }`,
        // Refused here, without a TokenReview, with the status the port answered before haproxy
        // checked: no token (the components let it in as system:anonymous, which RBAC denies: 403;
        // kube-rbac-proxy answers 401), or one that is no JWT (401).
        `    acl has_authorization req.fhdr_cnt(authorization) gt 0`,
        `    acl bearer_jwt req.fhdr(authorization) -m reg '${BEARER_JWT}'`,
        `    http-request deny deny_status ${entry.authenticator === "proxy" ? 401 : 403} content-type text/plain string "no bearer token" hdr ${REFUSAL_HEADER} refused unless has_authorization`,
        `    http-request deny deny_status 401 content-type text/plain string "not a bearer JWT" hdr ${REFUSAL_HEADER} refused unless bearer_jwt`,
        `    http-response sc-inc-gpc0(0) if { status 401 }`,
        `    default_backend ${entry.name}`,
        "",
        `backend ${entry.name}`,
        ...server(entry, kubeRbacProxyHost),
        "",
    ];
}

export function renderHaproxyConfig(input: HaproxyConfigInput): string {
    if (input.components.length === 0) {
        throw new Error("haproxy has no component to front");
    }
    const limit = input.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT;
    if (
        !Number.isInteger(limit.failures) ||
        limit.failures < 1 ||
        !Number.isInteger(limit.periodSeconds) ||
        limit.periodSeconds < 1
    ) {
        throw new Error(
            `authFailureLimit: failures and periodSeconds must be whole numbers of at least 1 (got ${JSON.stringify(limit)})`,
        );
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
        // Failed authentications per source address (gpc0), over every frontend of the node; an
        // entry is forgotten once the address has been quiet for two periods.
        `backend ${AUTH_FAILURES_TABLE}`,
        `    stick-table type ipv6 size ${AUTH_FAILURE_TABLE_SIZE} expire ${2 * limit.periodSeconds}s store gpc0,gpc0_rate(${limit.periodSeconds}s)`,
        "",
        ...input.components.flatMap((entry) => frontendAndBackend(entry, limit, input.kubeRbacProxyHost)),
    ];
    return lines.join("\n");
}
