import { strict as assert } from "assert";
import { CATALOGUE, catalogueEntry } from "../../core/catalogue";
import { BEARER_JWT, renderHaproxyConfig } from "../../components/haproxy";

const fronted = CATALOGUE.filter((c) => c.authenticator === "upstream");
const render = (overrides: Partial<Parameters<typeof renderHaproxyConfig>[0]> = {}) =>
    renderHaproxyConfig({
        components: fronted,
        healthPort: 10263,
        serverTimeoutSeconds: 30,
        description: "test",
        ...overrides,
    });

function section(config: string, header: string): string[] {
    const lines = config.split("\n");
    const start = lines.indexOf(header);
    assert.ok(start >= 0, `no section ${header}`);
    const end = lines.findIndex((l, i) => i > start && l !== "" && !l.startsWith(" "));
    return lines
        .slice(start + 1, end < 0 ? undefined : end)
        .filter((l) => l.trim() !== "")
        .map((l) => l.trim());
}

describe("haproxy.cfg", () => {
    it("binds every listener to NODE_IP only, never to all interfaces", () => {
        const config = render();
        const binds = config.split("\n").filter((l) => l.trim().startsWith("bind "));
        assert.deepEqual(
            binds.map((b) => b.trim().split(" ")[1]),
            ['"${NODE_IP}:10263"', '"${NODE_IP}:10257"', '"${NODE_IP}:10259"'],
        );
        assert.doesNotMatch(config, /0\.0\.0\.0|\*:|:::|bind :/);
    });

    it("terminates TLS and lets only GET /metrics with a bearer JWT through, counting failed authentications per source", () => {
        const kcm = section(render(), "frontend kube-controller-manager");
        assert.deepEqual(kcm, [
            'bind "${NODE_IP}:10257" ssl crt /etc/eksa-metrics/tls/haproxy.pem alpn http/1.1',
            "http-request track-sc0 src table auth_failures",
            'http-request deny deny_status 429 content-type text/plain string "too many failed authentications from this address" hdr X-Eksa-Metrics-Proxy refused hdr Retry-After 60 if { sc0_gpc0_rate ge 20 }',
            'http-request deny deny_status 403 content-type text/plain string "only GET /metrics is served here" hdr X-Eksa-Metrics-Proxy refused unless { method GET } { path /metrics }',
            "acl has_authorization req.fhdr_cnt(authorization) gt 0",
            `acl bearer_jwt req.fhdr(authorization) -m reg '${BEARER_JWT}'`,
            'http-request deny deny_status 403 content-type text/plain string "no bearer token" hdr X-Eksa-Metrics-Proxy refused unless has_authorization',
            'http-request deny deny_status 401 content-type text/plain string "not a bearer JWT" hdr X-Eksa-Metrics-Proxy refused unless bearer_jwt',
            "http-response sc-inc-gpc0(0) if { status 401 }",
            "default_backend kube-controller-manager",
        ]);
    });

    it("keeps one table of failed authentications per source for every port, sized and expired by the limit", () => {
        const config = render({ authFailureLimit: { failures: 5, periodSeconds: 30 } });
        assert.deepEqual(section(config, "backend auth_failures"), [
            "stick-table type ipv6 size 100000 expire 60s store gpc0,gpc0_rate(30s)",
        ]);
        for (const frontend of ["frontend kube-controller-manager", "frontend kube-scheduler"]) {
            assert.ok(section(config, frontend).includes("http-request track-sc0 src table auth_failures"));
            assert.match(section(config, frontend).join("\n"), /hdr Retry-After 30 if \{ sc0_gpc0_rate ge 5 \}/);
        }
    });

    it("refuses a limit that is no positive whole number", () => {
        for (const authFailureLimit of [
            { failures: 0, periodSeconds: 60 },
            { failures: 20, periodSeconds: 0.5 },
        ]) {
            assert.throws(
                () => render({ authFailureLimit }),
                /authFailureLimit: failures and periodSeconds must be whole/,
            );
        }
    });

    it("recognises bearer JWTs as Kubernetes reads the scheme, and nothing else", () => {
        const jwt = new RegExp(BEARER_JWT);
        const token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJl_-";
        for (const good of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`]) {
            assert.match(good, jwt);
        }
        for (const bad of [
            "",
            token,
            `Basic ${token}`,
            "Bearer not-a-token",
            "Bearer abcdef.0123456789abcdef", // a bootstrap token: no JWT
            "Bearer eyJhbGciOiJub25lIn0.eyJ9", // two segments
            `Bearer ${token}.x`,
            `Bearer ${token} x`,
            `Bearer ${token.replace("c2ln", "c2/n")}`,
        ]) {
            assert.doesNotMatch(bad, jwt, bad);
        }
    });

    it("forwards to the https upstream on loopback with health checks", () => {
        const backend = section(render(), "backend kube-scheduler");
        assert.deepEqual(backend, [
            "option httpchk",
            "http-check send meth GET uri /healthz",
            "http-check expect status 200",
            "server kube-scheduler 127.0.0.1:10259 ssl verify none check inter 10s fall 3 rise 1",
        ]);
    });

    it("waits for the upstream at least as long as Prometheus' scrape timeout", () => {
        assert.ok(section(render({ serverTimeoutSeconds: 45 }), "defaults").includes("timeout server 45s"));
    });

    it("serves a health endpoint that does not depend on the components", () => {
        assert.deepEqual(section(render({ healthPort: 10300 }), "frontend health"), [
            'bind "${NODE_IP}:10300"',
            'http-request return status 200 content-type text/plain string "ok" if { path /healthz }',
            "http-request deny deny_status 404",
        ]);
    });

    it("renders only the components it is given", () => {
        const config = render({ components: [catalogueEntry("kube-scheduler")] });
        assert.match(config, /frontend kube-scheduler/);
        assert.doesNotMatch(config, /kube-controller-manager/);
    });

    it("fronts the components that authenticate nobody too, forwarding to kube-rbac-proxy on loopback", () => {
        const config = render({ components: CATALOGUE, kubeRbacProxyHost: "127.100.7.9" });
        const binds = config.split("\n").filter((l) => l.trim().startsWith("bind "));
        assert.deepEqual(
            binds.map((b) => b.trim().split(" ")[1]),
            [
                '"${NODE_IP}:10263"',
                '"${NODE_IP}:10257"',
                '"${NODE_IP}:10259"',
                '"${NODE_IP}:10249"',
                '"${NODE_IP}:2381"',
            ],
        );
        // The same checks and the same table as in front of the components that check tokens themselves;
        // no token is 401 there, as kube-rbac-proxy answers it, where the components answer 403.
        const withoutName = (lines: string[]) =>
            lines.filter((l) => !l.startsWith("bind ") && !l.startsWith("default_backend"));
        assert.deepEqual(
            withoutName(section(config, "frontend etcd")),
            withoutName(section(config, "frontend kube-controller-manager")).map((l) =>
                l.replace(
                    'deny_status 403 content-type text/plain string "no bearer token"',
                    'deny_status 401 content-type text/plain string "no bearer token"',
                ),
            ),
        );
        assert.ok(
            section(config, "frontend etcd").some((l) =>
                l.includes('deny_status 401 content-type text/plain string "no bearer token"'),
            ),
        );
        assert.ok(section(config, "frontend kube-proxy").includes("http-response sc-inc-gpc0(0) if { status 401 }"));
        // A scrape that finds no listener (kube-rbac-proxy handed over to a replacement pod's) is tried
        // again, about a second apart, within Prometheus' scrape timeout; a component that is down is
        // answered 503 after haproxy's default 3 attempts.
        assert.deepEqual(section(config, "backend etcd"), [
            "retries 8",
            "retry-on conn-failure empty-response",
            "server etcd 127.100.7.9:2381 ssl verify none",
        ]);
        assert.deepEqual(section(config, "backend kube-proxy"), [
            "retries 8",
            "retry-on conn-failure empty-response",
            "server kube-proxy 127.100.7.9:10249 ssl verify none",
        ]);
        assert.doesNotMatch(section(config, "defaults").join("\n"), /retries/);
    });

    it("refuses a component that authenticates nobody without kube-rbac-proxy's address, or nothing", () => {
        assert.throws(
            () => render({ components: [catalogueEntry("etcd")] }),
            /haproxy fronts etcd through kube-rbac-proxy, but has no kube-rbac-proxy address/,
        );
        assert.throws(() => render({ components: [] }), /no component to front/);
    });
});
