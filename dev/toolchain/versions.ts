/** The versions dev/toolchain/versions.sh pins (the one file that pins them), for the harness and the tests. */
import * as fs from "fs";
import * as path from "path";

const VERSIONS_FILE = path.join(__dirname, "versions.sh");

/** The value of `NAME=value` in versions.sh, e.g. pinnedVersion("PULUMI_KUBERNETES_VERSION") is "4.25.0". */
export function pinnedVersion(name: string): string {
    const m = new RegExp(`^${name}=([^\\s#"']+)\\s*$`, "m").exec(fs.readFileSync(VERSIONS_FILE, "utf8"));
    if (!m) {
        throw new Error(`dev/toolchain/versions.sh sets no ${name}`);
    }
    return m[1];
}
