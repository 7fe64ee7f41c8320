// What an address a component or proxy listens on means: all interfaces, loopback, or one other
// address. Bare addresses (--bind-address), host:port (--metrics-bind-address, haproxy `bind`),
// URLs (etcd's --listen-metrics-urls) and address ranges are parsed, never compared as strings.
// Pure: no Pulumi import, so tests (and other tools) can use it directly.

import { isIP } from "net";

/**
 * What a bind-address value means:
 * - "all-interfaces": the unspecified address in any notation (0.0.0.0, 0, ::, [::], ::ffff:0.0.0.0 ...)
 * - "specific": one concrete IPv4 or IPv6 address (127.0.0.1, ::1, 10.0.0.5 ...)
 * - "unparsable": anything else (host names, interface names, empty, out-of-range octets ...)
 */
export type AddressClass = "all-interfaces" | "specific" | "unparsable";

export interface BindAddressVerdict {
    readonly addressClass: AddressClass;
    /** The text that was examined, after trimming surrounding white space. */
    readonly text: string;
    /** Canonical form, for "all-interfaces" and "specific". */
    readonly canonical?: string;
    readonly family?: 4 | 6;
    /** Why the value is not an IP address, for "unparsable". */
    readonly reason?: string;
}

/**
 * Classifies a bind-address value by what it denotes, not by string equality.
 *
 * We are deliberately lenient about notation when the value denotes the unspecified address
 * (e.g. "0", "0x0", "[::]", "::%eth0"): Kubernetes' own parser rejects some of these, but the
 * writer's intent is "all interfaces", and a later fix of the notation would expose the port.
 * For specific addresses we follow Kubernetes (netutils.ParseIPSloppy): four decimal octets
 * (leading zeros allowed) or an IPv6 literal without brackets or zone.
 *
 * YAML turns `bind-address: 0` into the number 0, so numbers are read as their decimal text.
 */
export function classifyBindAddress(value: unknown): BindAddressVerdict {
    if (typeof value === "number" && Number.isFinite(value)) {
        return classifyText(String(value));
    }
    if (typeof value !== "string") {
        const got = value === null ? "null" : Array.isArray(value) ? "a list" : typeof value;
        return { addressClass: "unparsable", text: String(value), reason: `not a string but ${got}` };
    }
    return classifyText(value.trim());
}

function classifyText(text: string): BindAddressVerdict {
    if (text === "") {
        return { addressClass: "unparsable", text, reason: "empty" };
    }
    return (
        classifyIPv4(text) ??
        classifyIPv6(text) ?? { addressClass: "unparsable", text, reason: notAnAddressReason(text) }
    );
}

// Dotted notation with 1-4 parts, decimal or 0x-hex (inet_aton style). Zero is zero in every
// base, so "all parts zero" is decided without caring which dialect the writer had in mind.
const IPV4_LIKE = /^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$/i;

function classifyIPv4(text: string): BindAddressVerdict | undefined {
    if (!IPV4_LIKE.test(text)) {
        return undefined;
    }
    const parts = text.split(".");
    if (parts.every((p) => /^(?:0x)?0+$/i.test(p))) {
        return { addressClass: "all-interfaces", text, canonical: "0.0.0.0", family: 4 };
    }
    if (parts.length === 4 && parts.every((p) => /^\d+$/.test(p) && Number(p) <= 255)) {
        const canonical = parts.map((p) => String(Number(p))).join(".");
        if (isIP(canonical) === 4) {
            return { addressClass: "specific", text, canonical, family: 4 };
        }
    }
    return {
        addressClass: "unparsable",
        text,
        reason: "not a valid IPv4 address (Kubernetes expects four decimal octets of 0-255)",
    };
}

function classifyIPv6(text: string): BindAddressVerdict | undefined {
    let address = text;
    const bracketed = /^\[(.*)\]$/.exec(address);
    if (bracketed) {
        address = bracketed[1];
    }
    let zone: string | undefined;
    const percent = address.indexOf("%");
    if (percent >= 0) {
        zone = address.slice(percent + 1);
        address = address.slice(0, percent);
    }
    if (!address.includes(":") || isIP(address) !== 6) {
        return undefined;
    }
    const groups = ipv6Groups(address);
    const zeroUpTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
    if (zeroUpTo(8)) {
        return { addressClass: "all-interfaces", text, canonical: "::", family: 6 };
    }
    // IPv4-mapped unspecified address: Go (and so the component) listens on IPv4 0.0.0.0.
    if (zeroUpTo(5) && groups[5] === 0xffff && groups[6] === 0 && groups[7] === 0) {
        return { addressClass: "all-interfaces", text, canonical: "::ffff:0.0.0.0", family: 6 };
    }
    // Only the unspecified address gets the lenient reading; Kubernetes rejects these notations.
    if (zone !== undefined) {
        return {
            addressClass: "unparsable",
            text,
            reason: `an IPv6 address with a zone index ("%${zone}"), which Kubernetes does not accept`,
        };
    }
    if (bracketed) {
        return {
            addressClass: "unparsable",
            text,
            reason: "an IPv6 address in brackets, which Kubernetes does not accept",
        };
    }
    return { addressClass: "specific", text, canonical: compressIPv6(groups), family: 6 };
}

/** Expands a valid IPv6 literal (as accepted by net.isIP) into its eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
    const toGroups = (part: string): number[] => {
        if (part === "") {
            return [];
        }
        const out: number[] = [];
        for (const piece of part.split(":")) {
            if (piece.includes(".")) {
                const [a, b, c, d] = piece.split(".").map(Number);
                out.push((a << 8) | b, (c << 8) | d);
            } else {
                out.push(parseInt(piece, 16));
            }
        }
        return out;
    };
    const halves = address.split("::");
    if (halves.length === 1) {
        return toGroups(address);
    }
    const head = toGroups(halves[0]);
    const tail = toGroups(halves[1]);
    return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text form: lower-case hex, longest run (>= 2) of zero groups as "::". */
function compressIPv6(groups: number[]): string {
    let bestStart = -1;
    let bestLength = 0;
    for (let i = 0; i < 8;) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) {
            j++;
        }
        if (j - i > bestLength) {
            bestStart = i;
            bestLength = j - i;
        }
        i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (bestLength < 2) {
        return hex.join(":");
    }
    return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function notAnAddressReason(text: string): string {
    if (text.toLowerCase() === "localhost") {
        return "a host name, not an IP address (use 127.0.0.1)";
    }
    if (/^[a-z0-9_.-]+$/i.test(text) && /[a-z]/i.test(text)) {
        return "a host or interface name, not an IP address";
    }
    if (/^[\d.]+:\d+$/.test(text) || /^\[[^\]]*\]:\d+$/.test(text)) {
        return "an address with a port, not a bare IP address (no ports here)";
    }
    if (text.includes("/")) {
        return "an address with a prefix length, not a bare IP address (no prefix lengths here)";
    }
    return "not an IP address";
}

/**
 * How far a listener reaches:
 * - "all-interfaces": every interface of the node (unspecified address, no host, a /0 range);
 * - "loopback": the node itself only (127.0.0.0/8, ::1, localhost);
 * - "specific": one other address (e.g. the node's IP), reachable off the node;
 * - "unparsable": not an address (an unexpanded variable, a host name ...).
 */
export type Reach = "all-interfaces" | "loopback" | "specific" | "unparsable";

export interface ListenVerdict {
    readonly reach: Reach;
    /** The host part as written ("" when there is none). */
    readonly host: string;
    readonly port?: string;
    /** Why, in words: "0.0.0.0 is the unspecified IPv4 address", "no host, so every interface" ... */
    readonly reason: string;
}

/** Classifies a host (no port): an address, a range (CIDR) or a name. */
export function classifyHost(host: string): ListenVerdict {
    const text = host.trim();
    if (text === "" || text === "*") {
        return {
            reach: "all-interfaces",
            host: text,
            reason: text === "" ? "no host, so every interface" : '"*" is every interface',
        };
    }
    if (text.toLowerCase() === "localhost") {
        return { reach: "loopback", host: text, reason: "localhost is the loopback interface" };
    }
    const range = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(text);
    if (range) {
        return classifyRange(text, range[1], Number(range[2]));
    }
    const verdict = classifyBindAddress(text);
    if (verdict.addressClass === "all-interfaces") {
        const what =
            verdict.canonical === "::ffff:0.0.0.0"
                ? "the IPv4-mapped unspecified address"
                : `the unspecified IPv${verdict.family} address`;
        return { reach: "all-interfaces", host: text, reason: `${JSON.stringify(text)} is ${what} (every interface)` };
    }
    // Brackets are the host:port notation of IPv6, fine once the port is split off.
    const address =
        verdict.addressClass === "specific" ? verdict : classifyBindAddress(text.replace(/^\[(.*)\]$/, "$1"));
    if (address.addressClass === "specific") {
        return isLoopback(address.canonical!, address.family!)
            ? { reach: "loopback", host: text, reason: `${address.canonical} is a loopback address` }
            : { reach: "specific", host: text, reason: `${address.canonical} is reachable from off the node` };
    }
    return { reach: "unparsable", host: text, reason: `${JSON.stringify(text)} is ${verdict.reason}` };
}

function classifyRange(text: string, network: string, prefixLength: number): ListenVerdict {
    const address = classifyBindAddress(network);
    if (address.addressClass === "unparsable" || prefixLength > (address.family === 6 ? 128 : 32)) {
        return { reach: "unparsable", host: text, reason: `${JSON.stringify(text)} is not an address range` };
    }
    if (prefixLength === 0) {
        return {
            reach: "all-interfaces",
            host: text,
            reason: `${JSON.stringify(text)} is the range of every address (every interface)`,
        };
    }
    const loopbackRange =
        address.family === 4
            ? prefixLength >= 8 && network.trim().startsWith("127.")
            : prefixLength === 128 && address.canonical === "::1";
    return loopbackRange
        ? { reach: "loopback", host: text, reason: `${text} holds loopback addresses only` }
        : { reach: "specific", host: text, reason: `${text} holds addresses reachable from off the node` };
}

function isLoopback(canonical: string, family: 4 | 6): boolean {
    return family === 4 ? canonical.startsWith("127.") : canonical === "::1";
}

/**
 * Classifies a `host:port` listen address as Go's net.Listen reads it, plus the forms people
 * write: `0.0.0.0:10249`, `:10249`, `[::]:10249`, a bare port `10249` (no host: every interface),
 * a bare address `0.0.0.0` or `::`, and an address range `0.0.0.0/0` (optionally `:port`).
 * YAML turns a bare port into a number, so numbers are ports.
 */
export function classifyListenAddress(value: unknown): ListenVerdict {
    if (typeof value === "number" && Number.isInteger(value)) {
        return {
            reach: "all-interfaces",
            host: "",
            port: String(value),
            reason: "a bare port with no host, so every interface",
        };
    }
    if (typeof value !== "string") {
        return { reach: "unparsable", host: String(value), reason: "not a string" };
    }
    const text = value.trim();
    if (/^\d+$/.test(text)) {
        return {
            reach: "all-interfaces",
            host: "",
            port: text,
            reason: "a bare port with no host, so every interface",
        };
    }
    const bracketed = /^(\[[^\]]*\](?:\/\d+)?)(?::(\d*))?$/.exec(text);
    const hostPort = bracketed ?? /^([^:]*):(\d*)$/.exec(text);
    if (hostPort) {
        const verdict = classifyHost(hostPort[1]);
        return { ...verdict, port: hostPort[2] || undefined };
    }
    return classifyHost(text); // no port: a bare IPv4/IPv6 address, range or name
}

/**
 * Splits a URL list (etcd's --listen-metrics-urls: comma-separated) into scheme and listen
 * verdict per URL. `unix://` sockets are local to the node.
 */
export function classifyListenUrls(
    value: string,
): { readonly url: string; readonly scheme: string; readonly verdict: ListenVerdict }[] {
    return value
        .split(",")
        .map((url) => url.trim())
        .filter((url) => url !== "")
        .map((url) => {
            const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(url);
            if (!match) {
                return {
                    url,
                    scheme: "",
                    verdict: { reach: "unparsable" as const, host: url, reason: `${JSON.stringify(url)} is not a URL` },
                };
            }
            const scheme = match[1].toLowerCase();
            if (scheme === "unix" || scheme === "unixs") {
                return {
                    url,
                    scheme,
                    verdict: {
                        reach: "loopback" as const,
                        host: match[2],
                        reason: "a unix socket is local to the node",
                    },
                };
            }
            return { url, scheme, verdict: classifyListenAddress(match[2]) };
        });
}
