/**
 * When the proxy's certificates change: pure decisions on dates, with the time as an input so a test
 * can move the clock. The stack keeps a CA that outlives its serving certificates and replaces it
 * through a trust bundle (old and new CA) published before the proxies move to the new CA.
 *
 * Pulumi has no clock resource. `pulumi up` learns "now" from the program, and the certificate
 * command only runs when its inputs change; so the program passes the *renewal period* (the time cut
 * into slices of two thirds of the serving validity, counted from the Unix epoch), not the time: an
 * unchanged `up` stays a no-op until the next period begins, and the first `up` in a new period runs
 * the command, which applies `planStep` to the state it stored (the CA's key included) at the last run.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * For tests only: an ISO-8601 time that the program and the certificate command take for "now".
 * Moving it forward shows what an `up` does in a later renewal period; certificates issued under it
 * are dated then, so clients that check dates against the real clock refuse them.
 */
export const TEST_CLOCK_ENV = "EKSA_METRICS_TEST_NOW";

/** "Now" for the TLS decisions: the real clock, unless the test clock is set. */
export function tlsNow(env: NodeJS.ProcessEnv = process.env): Date {
    const moved = env[TEST_CLOCK_ENV];
    if (moved === undefined || moved === "") {
        return new Date();
    }
    const at = new Date(moved);
    if (Number.isNaN(at.getTime())) {
        throw new Error(`${TEST_CLOCK_ENV}=${JSON.stringify(moved)} is not an ISO-8601 time`);
    }
    return at;
}

export interface TlsPolicy {
    /** The DNS name the serving certificate is issued for. */
    serverName: string;
    /** Validity of a serving certificate. */
    validityDays: number;
    /** Validity of a CA. */
    caValidityDays: number;
}

/** Certificates are replaced at two thirds of their life: a serving certificate every `validityDays * 2/3`. */
export function renewalPeriodDays(validityDays: number): number {
    return (validityDays * 2) / 3;
}

/** What is left of a certificate's life when it is replaced at the latest: a third of its validity. */
export function renewalMarginDays(validityDays: number): number {
    return validityDays / 3;
}

/**
 * The renewal period `now` is in, as the certificate command's input: it names the period length too,
 * so a changed `validityDays` is a new period.
 */
export function renewalPeriod(validityDays: number, now: Date): string {
    const lengthMs = renewalPeriodDays(validityDays) * DAY_MS;
    return `${renewalPeriodDays(validityDays)}d#${Math.floor(now.getTime() / lengthMs)}`;
}

function periodIndex(validityDays: number, at: Date): number {
    return Math.floor(at.getTime() / (renewalPeriodDays(validityDays) * DAY_MS));
}

/** When the period `now` is in began. */
export function periodStart(validityDays: number, now: Date): Date {
    const lengthMs = renewalPeriodDays(validityDays) * DAY_MS;
    return new Date(Math.floor(now.getTime() / lengthMs) * lengthMs);
}

/** When the period after the one `now` is in begins. */
export function nextPeriodStart(validityDays: number, now: Date): Date {
    const lengthMs = renewalPeriodDays(validityDays) * DAY_MS;
    return new Date((Math.floor(now.getTime() / lengthMs) + 1) * lengthMs);
}

/**
 * How long the bundle of old and new CA is published before the proxies move to the new CA, at
 * least: one renewal period (they move in the second period after the one it was published in), so
 * every scraper that re-reads its CA file in that time keeps scraping.
 */
export function caOverlapDays(policy: TlsPolicy): number {
    return renewalPeriodDays(policy.validityDays);
}

/**
 * How long before the signing CA's end its alert warns: time for a whole replacement (the overlap and
 * two renewal periods) plus the serving certificate's margin, so an operator who acts on it still
 * replaces the CA without a failed scrape.
 */
export function caWarningDays(policy: TlsPolicy): number {
    return caOverlapDays(policy) + 2 * renewalPeriodDays(policy.validityDays) + renewalMarginDays(policy.validityDays);
}

/** The dates of the stored state the decisions read (no keys, no PEM). */
export interface TlsView {
    /** The trust bundle, oldest CA first. */
    cas: {
        notBefore: string;
        notAfter: string;
        /** When the CA entered the published bundle. */
        publishedAt: string;
        /** False for the CA of a stack deployed before the CA's key was kept: it cannot sign again. */
        hasKey: boolean;
    }[];
    /** Index in `cas` of the CA that signed the serving certificate. */
    signer: number;
    serving: { notBefore: string; notAfter: string; serverName: string; period: string };
    /** The renewal period in which the proxies moved to the newest CA (while an older one is still published). */
    switchedInPeriod?: string;
}

/** The step of a CA replacement a stack is in (a named enum, as Pulumi's schema inference reads them). */
export const TlsPhase = {
    SingleCa: "single CA",
    BundlePublished: "bundle published",
    MovedToNewCa: "moved to the new CA",
} as const;
export type TlsPhase = (typeof TlsPhase)[keyof typeof TlsPhase];

/** Which step of a CA replacement a stored state is in. */
export function phaseOf(view: TlsView): TlsPhase {
    if (view.cas.length === 1) {
        return TlsPhase.SingleCa;
    }
    return view.signer === view.cas.length - 1 ? TlsPhase.MovedToNewCa : TlsPhase.BundlePublished;
}

export interface TlsStep {
    /** Drop the CAs older than the signer from the bundle. */
    dropOldCas: boolean;
    /** Issue a new CA and publish it at the end of the bundle. */
    issueCa: boolean;
    /** Sign serving certificates with the newest CA from now on. */
    switchSigner: boolean;
    /** Issue a new serving certificate. */
    renewServing: boolean;
    /** Why, one phrase per decision taken (empty when nothing changes). */
    reasons: string[];
}

const NOTHING: TlsStep = { dropOldCas: false, issueCa: false, switchSigner: false, renewServing: false, reasons: [] };

export function changesNothing(step: TlsStep): boolean {
    return !step.dropOldCas && !step.issueCa && !step.switchSigner && !step.renewServing;
}

function days(ms: number): number {
    return ms / DAY_MS;
}

/**
 * What one run of the certificate command does to the stored state `view` (undefined: nothing
 * stored yet) at `now` in renewal period `period`. Pure. In order:
 * - the CAs older than the signer leave the bundle in a period after the one the proxies moved in
 *   (their pods were replaced by the `up` that moved them);
 * - a new CA joins the bundle in the first period that begins once the signing CA has lived two thirds
 *   of its validity (judged at the period's start), or at once when it cannot sign (its key was not kept, by a stack deployed before this version, or a whole
 *   serving certificate no longer fits in its life): the first step of a replacement publishes the
 *   bundle and changes no serving certificate;
 * - the proxies move to the newest CA in the second period after the one the bundle was published in
 *   (so for at least `caOverlapDays`),
 *   earlier only when their CA cannot sign and their certificate must be replaced (expired, for
 *   another server name, or not lasting into the next period by the renewal margin);
 * - the serving certificate is renewed in each new renewal period, on a new server name, when it
 *   has expired, and when the proxies move; only by a CA that can sign.
 */
export function planStep(view: TlsView | undefined, now: Date, period: string, policy: TlsPolicy): TlsStep {
    if (view === undefined) {
        return { ...NOTHING, issueCa: true, switchSigner: true, renewServing: true, reasons: ["first CA"] };
    }
    const reasons: string[] = [];
    const nowMs = now.getTime();
    let cas = view.cas;
    let signer = view.signer;

    const dropOldCas = signer > 0 && view.switchedInPeriod !== period;
    if (dropOldCas) {
        reasons.push("the old CA leaves the bundle");
        cas = cas.slice(signer);
        signer = 0;
    }

    const signing = cas[signer];
    // Judged at the start of the period, like the move: the first up of a period decides the same wherever
    // in it it runs, and the forecast (made for the period's start) says what it does.
    const caAgeDays = days(periodStart(policy.validityDays, now).getTime() - Date.parse(signing.notBefore));
    // A CA signs only while a whole serving certificate fits in what is left of its life.
    const canSign = signing.hasKey && Date.parse(signing.notAfter) >= nowMs + policy.validityDays * DAY_MS;
    const issueCa = cas.length === 1 && (!canSign || caAgeDays >= renewalPeriodDays(policy.caValidityDays));
    if (issueCa) {
        reasons.push(
            !signing.hasKey
                ? "a new CA joins the bundle (the current CA's key was not kept)"
                : !canSign
                  ? "a new CA joins the bundle (the current CA ends too soon to sign)"
                  : "a new CA joins the bundle (the CA has lived two thirds of its validity)",
        );
    }

    const servingNotAfterMs = Date.parse(view.serving.notAfter);
    const servingExpired = servingNotAfterMs <= nowMs;
    const renamed = view.serving.serverName !== policy.serverName;
    const renewalDue = view.serving.period !== period || renamed || servingExpired;
    // A certificate the command cannot replace must last into the next period by the usual margin.
    const lastsUntilNextRun =
        servingNotAfterMs >=
        nextPeriodStart(policy.validityDays, now).getTime() + renewalMarginDays(policy.validityDays) * DAY_MS;
    const mustReplace = servingExpired || renamed || !lastsUntilNextRun;

    let switchSigner = false;
    if (issueCa || signer < cas.length - 1) {
        const publishedAt = issueCa ? now : new Date(cas[cas.length - 1].publishedAt);
        const publishedDays = days(nowMs - publishedAt.getTime());
        // Counted in whole periods, so the first up of a period decides the same wherever in it it runs:
        // a bundle published in period k has been out for at least the overlap in period k + 2.
        if (periodIndex(policy.validityDays, now) - periodIndex(policy.validityDays, publishedAt) >= 2) {
            switchSigner = true;
            reasons.push(`the proxies move to the new CA (bundle published ${Math.floor(publishedDays)} days ago)`);
        } else if (!canSign && mustReplace) {
            switchSigner = true;
            reasons.push(
                "the proxies move to the new CA early: the old CA cannot sign and their certificate must be replaced",
            );
        }
    }

    const renewServing = switchSigner || (renewalDue && canSign);
    if (renewServing && !switchSigner) {
        reasons.push(
            servingExpired
                ? "the serving certificate has expired"
                : renamed
                  ? `the server name is now ${policy.serverName}`
                  : "a new renewal period",
        );
    }
    return { dropOldCas, issueCa, switchSigner, renewServing, reasons };
}

/** The public face of the schedule: what the next `up` does and when each certificate expires. */
export interface TlsForecast {
    /** The step of a CA replacement the stack is in. */
    phase: TlsPhase;
    /** The proxies' serving certificate. */
    servingCertificate: CertificateExpiry;
    /** The signing CA. */
    ca: CertificateExpiry;
    /** The first `up` from `at` renews the serving certificate, and takes `caStep` when there is one. */
    nextRenewal: NextRenewal;
}

/** When a certificate expires. */
export interface CertificateExpiry {
    /** Its notAfter, ISO 8601. */
    notAfter: string;
    /** Whole days from the preview or `up` that computed it. */
    expiresInDays: number;
}

/** The next renewal: the first `up` of the next renewal period. */
export interface NextRenewal {
    /** The start of the next renewal period, ISO 8601. */
    at: string;
    /** Whole days until then. */
    inDays: number;
    /** What that `up` does to the CA, if anything. */
    caStep?: string;
}

/** A serving certificate that expires mid-period is renewed by that period's first `up` anyway. */
export function forecast(view: TlsView, now: Date, policy: TlsPolicy): TlsForecast {
    const at = nextPeriodStart(policy.validityDays, now);
    const nextStep = planStep(view, at, renewalPeriod(policy.validityDays, at), policy);
    const caStep = nextStep.issueCa
        ? "publishes a bundle with a new CA"
        : nextStep.switchSigner
          ? "moves the proxies to the new CA"
          : nextStep.dropOldCas
            ? "drops the old CA from the bundle"
            : undefined;
    const inDays = (iso: string) => Math.floor(days(Date.parse(iso) - now.getTime()));
    const signing = view.cas[view.signer];
    return {
        phase: phaseOf(view),
        servingCertificate: { notAfter: view.serving.notAfter, expiresInDays: inDays(view.serving.notAfter) },
        ca: { notAfter: signing.notAfter, expiresInDays: inDays(signing.notAfter) },
        nextRenewal: { at: at.toISOString(), inDays: inDays(at.toISOString()), ...(caStep ? { caStep } : {}) },
    };
}

/** The preview's and up's log line. */
export function describeForecast(f: TlsForecast): string {
    const date = (iso: string) => iso.slice(0, 10);
    const within = (n: number) => `in ${n} day${n === 1 ? "" : "s"}`;
    return [
        `proxy TLS: the serving certificate expires ${date(f.servingCertificate.notAfter)} (${within(f.servingCertificate.expiresInDays)}),`,
        `the CA ${date(f.ca.notAfter)} (${within(f.ca.expiresInDays)}; ${f.phase});`,
        `the first pulumi up from ${date(f.nextRenewal.at)} (${within(f.nextRenewal.inDays)}) renews the serving certificate`,
        f.nextRenewal.caStep ? `and ${f.nextRenewal.caStep}` : "and leaves the CA",
    ].join(" ");
}
