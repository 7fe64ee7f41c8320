/**
 * Stand-ins that behave like the components behind the proxy, for the tests that run real haproxy
 * and kube-rbac-proxy without a control plane: kube-controller-manager / kube-scheduler (TLS,
 * bearer token: 401 without or for an unknown token, 403 for a token without the role, 200 with it), kube-proxy and etcd
 * (plain HTTP, no authentication), and the two API server calls kube-rbac-proxy makes
 * (TokenReview, SubjectAccessReview). The end-to-end tests use the real components instead.
 */
import * as http from "http";
import * as https from "https";
import { AddressInfo } from "net";

/** Shaped like the service-account JWTs they stand for, which haproxy requires before it forwards a token. */
export const READER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWFkZXIifQ.cmVhZGVyLXRva2Vu";
export const STRANGER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdHJhbmdlciJ9.c3RyYW5nZXItdG9rZW4";
export const GATE_SA_TOKEN = "gate-service-account-token";
export const METRICS_BODY =
    '# HELP workqueue_depth Current depth of workqueue\n# TYPE workqueue_depth gauge\nworkqueue_depth{name="x"} 0\n';

export interface Tls {
    cert: string;
    key: string;
}

/** How a fake self-authenticating component answers; tests flip it to simulate faults. */
export interface FakeBehaviour {
    denyReader: boolean;
    /** Counts the tokens it rejected (401): each is a TokenReview the real component would have asked for. */
    rejectedTokens?: number;
}

function bearer(req: http.IncomingMessage): string | undefined {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    return match?.[1];
}

function listen(server: http.Server, host: string, port: number): Promise<http.Server> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve(server));
    });
}

/** kube-controller-manager / kube-scheduler: delegated authn/authz on everything but /healthz. */
export function fakeAuthenticatingComponent(port: number, tls: Tls, behaviour: FakeBehaviour): Promise<http.Server> {
    return listen(
        https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
            if (req.url === "/healthz") {
                res.writeHead(200).end("ok");
                return;
            }
            const token = bearer(req);
            if (token === undefined) {
                res.writeHead(401).end("Unauthorized");
            } else if (token !== READER_TOKEN && token !== STRANGER_TOKEN) {
                behaviour.rejectedTokens = (behaviour.rejectedTokens ?? 0) + 1;
                res.writeHead(401).end("Unauthorized");
            } else if (token !== READER_TOKEN || behaviour.denyReader || req.url !== "/metrics") {
                res.writeHead(403).end(`forbidden: User cannot get path "${req.url}"`);
            } else {
                res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(METRICS_BODY);
            }
        }),
        "127.0.0.1",
        port,
    );
}

/** kube-proxy / etcd metrics: plain HTTP, anyone may read anything. */
export function fakeOpenComponent(port: number): Promise<http.Server> {
    return listen(
        http.createServer((req, res) => {
            if (req.url === "/metrics") {
                res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(METRICS_BODY);
            } else {
                res.writeHead(200).end(`debug page ${req.url}`);
            }
        }),
        "127.0.0.1",
        port,
    );
}

function readJson(req: http.IncomingMessage): Promise<any> {
    return new Promise((resolve) => {
        let body = "";
        req.on("data", (d) => {
            body += d;
        });
        req.on("end", () => resolve(JSON.parse(body || "{}")));
    });
}

/**
 * The API server, as far as kube-rbac-proxy uses it: it must present its own service-account
 * token; readers may GET /metrics, nobody may do anything else.
 */
export function fakeApiServer(port: number, tls: Tls): Promise<http.Server> {
    return listen(
        https.createServer({ cert: tls.cert, key: tls.key }, async (req, res) => {
            const json = (status: number, body: object) =>
                res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
            if (bearer(req) !== GATE_SA_TOKEN) {
                json(401, { kind: "Status", apiVersion: "v1", status: "Failure", code: 401, reason: "Unauthorized" });
                return;
            }
            const review = await readJson(req);
            if (req.method === "POST" && req.url?.startsWith("/apis/authentication.k8s.io/v1/tokenreviews")) {
                const users: Record<string, string> = {
                    [READER_TOKEN]: "system:serviceaccount:observability:prometheus-server",
                    [STRANGER_TOKEN]: "system:serviceaccount:default:stranger",
                };
                const username = users[review.spec?.token];
                json(201, {
                    ...review,
                    status: username
                        ? {
                              authenticated: true,
                              user: { username, groups: ["system:serviceaccounts"] },
                              audiences: review.spec?.audiences,
                          }
                        : { authenticated: false },
                });
            } else if (
                req.method === "POST" &&
                req.url?.startsWith("/apis/authorization.k8s.io/v1/subjectaccessreviews")
            ) {
                const attributes = review.spec?.nonResourceAttributes;
                const allowed =
                    review.spec?.user === "system:serviceaccount:observability:prometheus-server" &&
                    attributes?.path === "/metrics" &&
                    attributes?.verb === "get";
                json(201, { ...review, status: { allowed } });
            } else {
                json(404, { kind: "Status", apiVersion: "v1", status: "Failure", code: 404, reason: "NotFound" });
            }
        }),
        "127.0.0.1",
        port,
    );
}

export function closeAll(servers: http.Server[]): Promise<void> {
    return Promise.all(
        servers.map(
            (s) =>
                new Promise<void>((resolve) => {
                    s.closeAllConnections();
                    s.close(() => resolve());
                }),
        ),
    ).then(() => undefined);
}

export function portOf(server: http.Server): number {
    return (server.address() as AddressInfo).port;
}
