/**
 * Prints a freshly issued proxy CA + serving certificate as JSON on stdout. Run by the stack's
 * certificate command (its stdout is a secret output), with SERVER_NAME and VALIDITY_DAYS set.
 */
import { issueProxyCertificate } from "./tls";

async function main(): Promise<void> {
    const serverName = process.env.SERVER_NAME ?? "";
    const validityDays = Number(process.env.VALIDITY_DAYS);
    if (serverName === "" || !Number.isInteger(validityDays) || validityDays < 1) {
        throw new Error("SERVER_NAME and a whole VALIDITY_DAYS are required");
    }
    process.stdout.write(JSON.stringify(await issueProxyCertificate({ serverName, validityDays })));
}

main().catch((err: Error) => {
    process.stderr.write(`issueCertificate: ${err.message}\n`);
    process.exitCode = 1;
});
