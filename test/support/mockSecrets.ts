/** How Pulumi's mock monitor hands a secret value to `newResource`: wrapped in a signature object. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export function isSecret(value: any): boolean {
    return typeof value === "object" && value !== null && SECRET_SIG in value;
}

/** The value with every secret wrapper removed, at any depth. */
export function unwrapSecrets(value: any): any {
    if (isSecret(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}
