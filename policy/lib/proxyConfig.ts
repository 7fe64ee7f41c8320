// The listeners of a reverse-proxy configuration held in a ConfigMap — haproxy, nginx, envoy —
// as far as the policies need them: where each listens, whether with TLS, whether it checks
// credentials, and where it forwards. Pure; a rough reading, not a full parser of any of them.

import * as yaml from "js-yaml";
import { isObject } from "../../core/resources";

export type ProxyKind = "haproxy" | "nginx" | "envoy";

export interface Upstream {
    readonly host: string;
    readonly port: number;
}

export interface Listener {
    /** Where in the configuration, e.g. `frontend kube-proxy`, `server block 2`, `listener metrics`. */
    readonly where: string;
    /** The address as written, e.g. `${NODE_IP}:10249`, `*:10249`, `[::]:2381`. */
    readonly address: string;
    /** The host part ("" when there is none) and the port. */
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    /** Whether the listener itself checks credentials (haproxy http-request auth, nginx auth_*, envoy ext_authz/jwt/rbac). */
    readonly authenticates: boolean;
    readonly upstreams: readonly Upstream[];
}

export interface ProxyConfig {
    readonly kind: ProxyKind;
    readonly listeners: readonly Listener[];
}

/** Reads a data value as a proxy configuration, by its key and content; undefined when it is none. */
export function parseProxyConfig(key: string, text: string): ProxyConfig | undefined {
    // nginx's `listen 10249;` is no haproxy section header (`listen <name>`, no semicolon).
    if (/nginx/i.test(key) || (!/haproxy/i.test(key) && /\bserver\s*\{/.test(text))) {
        return { kind: "nginx", listeners: nginxListeners(text) };
    }
    if (/haproxy/i.test(key) || /^\s*(frontend|backend|listen)\s+[^\s;]+\s*$/m.test(text)) {
        return { kind: "haproxy", listeners: haproxyListeners(text) };
    }
    if (/envoy/i.test(key) || text.includes("static_resources")) {
        const listeners = envoyListeners(text);
        return listeners ? { kind: "envoy", listeners } : undefined;
    }
    return undefined;
}

/** `host:port` with brackets, quotes, `*`, `:::port` and haproxy's `ipv4@`/`ipv6@` prefixes. */
export function splitAddress(written: string): { host: string; port: number } | undefined {
    const text = written.replace(/^["']|["']$/g, "").replace(/^(ipv4|ipv6|tcp|tcp4|tcp6)@/, "");
    const match = /^(.*):(\d+)$/.exec(text);
    if (match) {
        return { host: match[1], port: Number(match[2]) };
    }
    return /^\d+$/.test(text) ? { host: "", port: Number(text) } : undefined;
}

function haproxyListeners(text: string): Listener[] {
    interface Section {
        type: string;
        name: string;
        binds: { address: string; tls: boolean }[];
        servers: Upstream[];
        backends: string[];
        authenticates: boolean;
    }
    const sections: Section[] = [];
    let current: Section | undefined;
    for (const raw of text.split("\n")) {
        const line = raw.replace(/(^|\s)#.*$/, "").trim();
        const words = line.split(/\s+/);
        if (/^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|cache)$/.test(words[0])) {
            current = {
                type: words[0],
                name: words[1] ?? "",
                binds: [],
                servers: [],
                backends: [],
                authenticates: false,
            };
            sections.push(current);
            continue;
        }
        if (!current || line === "") {
            continue;
        }
        if (words[0] === "bind") {
            const options = words.slice(2);
            for (const address of words[1].split(",")) {
                current.binds.push({ address, tls: options.includes("ssl") });
            }
        } else if (words[0] === "server") {
            const upstream = splitAddress(words[2] ?? "");
            if (upstream) {
                current.servers.push(upstream);
            }
        } else if (words[0] === "default_backend" || words[0] === "use_backend") {
            current.backends.push(words[1]);
        } else if (/http-request\s+auth\b|http_auth(_group)?\(|http-request\s+lua\.|jwt_verify/.test(line)) {
            current.authenticates = true;
        }
    }
    const backends = new Map(sections.filter((s) => s.type === "backend").map((s) => [s.name, s]));
    return sections
        .filter((s) => s.type === "frontend" || s.type === "listen")
        .flatMap((s) => {
            const targets = s.backends.map((b) => backends.get(b)).filter((b): b is Section => b !== undefined);
            const upstreams = [...s.servers, ...targets.flatMap((b) => b.servers)];
            const authenticates = s.authenticates || targets.some((b) => b.authenticates);
            return s.binds.flatMap((bind) => {
                const address = splitAddress(bind.address);
                return address
                    ? [
                          {
                              where: `${s.type} ${s.name}`,
                              address: bind.address,
                              ...address,
                              tls: bind.tls,
                              authenticates,
                              upstreams,
                          },
                      ]
                    : [];
            });
        });
}

function nginxListeners(text: string): Listener[] {
    const source = text.replace(/#.*$/gm, "");
    const listeners: Listener[] = [];
    let blockNumber = 0;
    for (const block of serverBlocks(source)) {
        blockNumber++;
        const directives = block.split(/[;{}]/).map((d) => d.trim().split(/\s+/));
        const authenticates = directives.some((d) => /^auth_(request|basic|jwt)$/.test(d[0] ?? "") && d[1] !== "off");
        const upstreams = directives
            .filter((d) => d[0] === "proxy_pass" || d[0] === "grpc_pass")
            .map((d) => splitAddress((d[1] ?? "").replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "")))
            .filter((u): u is Upstream => u !== undefined);
        for (const d of directives.filter((d) => d[0] === "listen")) {
            const address = splitAddress(d[1] ?? "");
            if (address) {
                listeners.push({
                    where: `server block ${blockNumber}`,
                    address: d[1],
                    ...address,
                    tls: d.includes("ssl"),
                    authenticates,
                    upstreams,
                });
            }
        }
    }
    return listeners;
}

/** The bodies of every `server { ... }` block (http and stream), by brace matching. */
function serverBlocks(source: string): string[] {
    const blocks: string[] = [];
    const opener = /\bserver\s*\{/g;
    let match: RegExpExecArray | null;
    while ((match = opener.exec(source))) {
        let depth = 1;
        let i = match.index + match[0].length;
        for (; i < source.length && depth > 0; i++) {
            depth += source[i] === "{" ? 1 : source[i] === "}" ? -1 : 0;
        }
        blocks.push(source.slice(match.index + match[0].length, i - 1));
    }
    return blocks;
}

function envoyListeners(text: string): Listener[] | undefined {
    let config: unknown;
    try {
        config = yaml.load(text);
    } catch {
        return undefined;
    }
    if (!isObject(config) || !isObject(config.static_resources)) {
        return undefined;
    }
    const resources = config.static_resources;
    const clusters = new Map<string, Upstream[]>();
    for (const cluster of Array.isArray(resources.clusters) ? resources.clusters : []) {
        if (isObject(cluster) && typeof cluster.name === "string") {
            clusters.set(cluster.name, socketAddresses(cluster.load_assignment));
        }
    }
    return (Array.isArray(resources.listeners) ? resources.listeners : []).flatMap((listener: unknown): Listener[] => {
        if (!isObject(listener)) {
            return [];
        }
        const [address] = socketAddresses(listener.address);
        if (!address) {
            return [];
        }
        const body = JSON.stringify(listener.filter_chains ?? []);
        const referenced = [...body.matchAll(/"cluster":"([^"]+)"/g)].map((m) => m[1]);
        return [
            {
                where: `listener ${typeof listener.name === "string" ? listener.name : "(unnamed)"}`,
                address: address.host.includes(":")
                    ? `[${address.host}]:${address.port}`
                    : `${address.host}:${address.port}`,
                ...address,
                tls: /transport_sockets\.tls|DownstreamTlsContext/.test(body),
                authenticates: /ext_authz|jwt_authn|envoy\.filters\.http\.rbac|basic_auth|oauth2/.test(body),
                upstreams: referenced.flatMap((name) => clusters.get(name) ?? []),
            },
        ];
    });
}

/** Every `socket_address: {address, port_value}` below a value. */
function socketAddresses(value: unknown): Upstream[] {
    if (Array.isArray(value)) {
        return value.flatMap(socketAddresses);
    }
    if (!isObject(value)) {
        return [];
    }
    const socket = value.socket_address;
    if (
        isObject(socket) &&
        typeof socket.address === "string" &&
        (typeof socket.port_value === "number" || typeof socket.port_value === "string")
    ) {
        return [{ host: socket.address, port: Number(socket.port_value) }];
    }
    return Object.values(value).flatMap(socketAddresses);
}
