// Command-line flags as the Kubernetes components' flag library (pflag) reads them. Pure.

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

/**
 * The values a boolean flag takes in an argument list, last one winning as in pflag: a bare
 * `--flag` is true and does not consume the next argument; `--flag=false` is false.
 * Returns the hits with their index; non-string tokens are "opaque" (maybe the flag).
 */
export function scanForBoolFlag(
    argv: readonly unknown[],
    flagName: string,
): ({ readonly index: number; readonly value: string } | { readonly index: number; readonly opaque: true })[] {
    const wanted = normalizeFlagName(flagName);
    const hits: ({ index: number; value: string } | { index: number; opaque: true })[] = [];
    for (let i = 0; i < argv.length; i++) {
        const token = argv[i];
        if (typeof token !== "string") {
            hits.push({ index: i, opaque: true });
            continue;
        }
        if (token === "--") {
            break;
        }
        const match = /^--([^=]+)(?:=(.*))?$/.exec(token);
        if (match && normalizeFlagName(match[1]) === wanted) {
            hits.push({ index: i, value: match[2] ?? "true" });
        }
    }
    return hits;
}
