/**
 * The stack's certificate command: one run of `advanceTls` on the state the command stored at its last
 * run (`PULUMI_COMMAND_STDOUT`, which the command provider sets on an update), printed as JSON on
 * stdout (a secret output: it holds the keys). Run with SERVER_NAME, VALIDITY_DAYS, CA_VALIDITY_DAYS
 * and PERIOD (the renewal period the program computed) set; prints nothing else, even on failure.
 */
import { advanceTls } from "./tls";
import { tlsNow } from "./tlsSchedule";

function wholeDays(name: string): number {
    const value = Number(process.env[name]);
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a whole number of days`);
    }
    return value;
}

async function main(): Promise<void> {
    const serverName = process.env.SERVER_NAME ?? "";
    const period = process.env.PERIOD ?? "";
    if (serverName === "" || period === "") {
        throw new Error("SERVER_NAME and PERIOD are required");
    }
    const policy = {
        serverName,
        validityDays: wholeDays("VALIDITY_DAYS"),
        caValidityDays: wholeDays("CA_VALIDITY_DAYS"),
    };
    const { state } = await advanceTls(process.env.PULUMI_COMMAND_STDOUT, tlsNow(), period, policy);
    process.stdout.write(JSON.stringify(state));
}

main().catch((err: Error) => {
    // The message names no key: the stored state is never quoted.
    process.stderr.write(`issueCertificate: ${err.message}\n`);
    process.exitCode = 1;
});
