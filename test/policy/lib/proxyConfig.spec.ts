import * as assert from "assert";
import { parseProxyConfig, splitAddress } from "../../../policy/lib/proxyConfig";

describe("policy/lib/proxyConfig", () => {
    it("splits the address forms haproxy, nginx and envoy use", () => {
        assert.deepStrictEqual(
            ['"${NODE_IP}:10257"', "*:10249", ":::2381", "[::]:2381", "ipv6@:::10249", "10249", "unix@/run/x.sock"].map(
                splitAddress,
            ),
            [
                { host: "${NODE_IP}", port: 10257 },
                { host: "*", port: 10249 },
                { host: "::", port: 2381 },
                { host: "[::]", port: 2381 },
                { host: "::", port: 10249 },
                { host: "", port: 10249 },
                undefined,
            ],
        );
    });

    it("haproxy: binds (several per line), TLS, credentials checks, and the servers of the backends a frontend uses", () => {
        const config = parseProxyConfig(
            "haproxy.cfg",
            [
                "frontend a",
                "  bind 10.0.0.1:10249,127.0.0.1:10249 # two addresses",
                "  http-request auth unless { http_auth(users) }",
                "  use_backend b if { path /metrics }",
                "backend b",
                "  server s 127.0.0.1:10249",
                "listen c",
                "  bind :2381 ssl crt /x.pem",
                "  server etcd 127.0.0.1:2381",
            ].join("\n"),
        );
        assert.strictEqual(config?.kind, "haproxy");
        assert.deepStrictEqual(
            config!.listeners.map((l) => [
                l.where,
                l.host,
                l.port,
                l.tls,
                l.authenticates,
                l.upstreams.map((u) => u.port),
            ]),
            [
                ["frontend a", "10.0.0.1", 10249, false, true, [10249]],
                ["frontend a", "127.0.0.1", 10249, false, true, [10249]],
                ["listen c", "", 2381, true, false, [2381]],
            ],
        );
    });

    it("nginx: `listen` is no haproxy section; ssl, auth_request and proxy_pass per server block", () => {
        const config = parseProxyConfig(
            "default.conf",
            "server {\n  listen 10249 ssl;\n  location / { auth_request /auth; proxy_pass http://127.0.0.1:10249/metrics; }\n}\n",
        );
        assert.strictEqual(config?.kind, "nginx");
        assert.deepStrictEqual(
            config!.listeners.map((l) => [l.host, l.port, l.tls, l.authenticates, l.upstreams]),
            [["", 10249, true, true, [{ host: "127.0.0.1", port: 10249 }]]],
        );
    });

    it("is nothing for other data", () => {
        assert.strictEqual(parseProxyConfig("app.properties", "listen.port=8080\n"), undefined);
    });
});
