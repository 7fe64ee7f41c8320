/**
 * Runs the planned checks: bounded parallelism, and brief retries while a freshly rolled proxy,
 * its health checks or an RBAC cache settle. Every check ends with a verdict before the deadline.
 */
import { Answer, Check, judge, Verdict } from "./plan";

export interface RunOptions {
    concurrency: number;
    /** Epoch ms after which no new attempt starts. */
    deadline: number;
    /** Pause before attempt n+1 (default: 1 s, growing to 5 s). */
    backoffMs?: (attempt: number) => number;
}

const defaultBackoff = (attempt: number) => Math.min(5000, 1000 * attempt);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function settle(check: Check, send: (check: Check) => Promise<Answer>, options: RunOptions): Promise<Verdict> {
    const backoff = options.backoffMs ?? defaultBackoff;
    for (let attempts = 1; ; attempts++) {
        const verdict = judge(check, await send(check));
        const wait = backoff(attempts);
        if (verdict.pass || Date.now() + wait >= options.deadline) {
            return { check, ...verdict, attempts };
        }
        await sleep(wait);
    }
}

export async function runChecks(
    checks: Check[],
    send: (check: Check) => Promise<Answer>,
    options: RunOptions,
): Promise<Verdict[]> {
    const verdicts: Verdict[] = new Array(checks.length);
    let next = 0;
    const worker = async () => {
        while (next < checks.length) {
            const index = next++;
            verdicts[index] = await settle(checks[index], send, options);
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, checks.length)) }, worker));
    return verdicts;
}

/**
 * Checks sent together (the cluster mode: one round of pods), judged together: those that fail go
 * again in the next round after the backoff, until the deadline. A check's attempts are its rounds.
 */
export async function runRounds(
    checks: Check[],
    sendRound: (checks: Check[]) => Promise<Answer[]>,
    options: Omit<RunOptions, "concurrency">,
): Promise<Verdict[]> {
    const backoff = options.backoffMs ?? defaultBackoff;
    const verdicts: Verdict[] = new Array(checks.length);
    let pending = checks.map((_, index) => index);
    for (let round = 1; pending.length > 0; round++) {
        const answers = await sendRound(pending.map((index) => checks[index]));
        pending.forEach((index, k) => {
            verdicts[index] = { check: checks[index], ...judge(checks[index], answers[k]), attempts: round };
        });
        pending = pending.filter((index) => !verdicts[index].pass);
        const wait = backoff(round);
        if (pending.length === 0 || Date.now() + wait >= options.deadline) {
            break;
        }
        await sleep(wait);
    }
    return verdicts;
}
