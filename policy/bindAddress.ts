// Address classification and command-line flag parsing for --bind-address.
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
    return classifyIPv4(text) ?? classifyIPv6(text) ?? { addressClass: "unparsable", text, reason: notAnAddressReason(text) };
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
        return { addressClass: "unparsable", text, reason: `an IPv6 address with a zone index ("%${zone}"), which Kubernetes does not accept` };
    }
    if (bracketed) {
        return { addressClass: "unparsable", text, reason: "an IPv6 address in brackets, which Kubernetes does not accept" };
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
    for (let i = 0; i < 8; ) {
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

/** pflag (used by all Kubernetes components) treats "_" and "-" in flag names alike. */
export function normalizeFlagName(name: string): string {
    return name.replace(/_/g, "-");
}

/**
 * One hit of a flag in an argument list.
 * - "value": `--flag=value` (valueIndex === flagIndex) or `--flag value` (valueIndex === flagIndex + 1).
 *   `value` is whatever the list holds there (a string, or an opaque non-string token).
 * - "no-value": `--flag` is the last argument, so the component refuses to start.
 * - "opaque": a non-string token (e.g. unknown during preview) that could itself be the flag.
 */
export type FlagScanHit =
    | { readonly kind: "value"; readonly flagIndex: number; readonly valueIndex: number; readonly value: unknown }
    | { readonly kind: "no-value"; readonly flagIndex: number }
    | { readonly kind: "opaque"; readonly index: number };

/**
 * Finds every occurrence of a long flag (e.g. "bind-address") in an argument list the way pflag
 * parses it: `--name=value`, `--name value` (the next argument, whatever it looks like), flag
 * names normalised "_" -> "-", and nothing after a bare "--". Strings are arguments; any other
 * element is reported as "opaque". Every occurrence is returned, not only the last (which wins).
 */
export function scanForFlag(argv: readonly unknown[], flagName: string): FlagScanHit[] {
    const wanted = normalizeFlagName(flagName);
    const hits: FlagScanHit[] = [];
    for (let i = 0; i < argv.length; i++) {
        const token = argv[i];
        if (typeof token !== "string") {
            hits.push({ kind: "opaque", index: i });
            continue;
        }
        if (token === "--") {
            break;
        }
        if (!token.startsWith("--")) {
            continue;
        }
        const equals = token.indexOf("=");
        const name = normalizeFlagName(equals >= 0 ? token.slice(2, equals) : token.slice(2));
        if (name !== wanted) {
            continue;
        }
        if (equals >= 0) {
            hits.push({ kind: "value", flagIndex: i, valueIndex: i, value: token.slice(equals + 1) });
        } else if (i + 1 < argv.length) {
            hits.push({ kind: "value", flagIndex: i, valueIndex: i + 1, value: argv[i + 1] });
            i++;
        } else {
            hits.push({ kind: "no-value", flagIndex: i });
        }
    }
    return hits;
}
