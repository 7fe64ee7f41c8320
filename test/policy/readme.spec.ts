// policy/README.md's table is what users read: it must list every policy, in order, with its
// default level and the reference its file documents.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { documentedPolicies, PACK_ENFORCEMENT_LEVEL } from "../../policy/policies";

describe("policy/README.md", () => {
    it("has one row per policy: name, default level, reference", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "policy", "README.md"), "utf8");
        const table = readme.slice(readme.indexOf("## Policies"), readme.indexOf("\n\n", readme.indexOf("| Policy |")));
        const rows = table
            .split("\n")
            .filter((line) => line.startsWith("| `"))
            .map((line) => line.split(" | ").map((cell) => cell.replace(/^\| |`| \|$/g, "")));
        assert.deepStrictEqual(
            rows.map(([name, level, , reference]) => [name, level, reference]),
            documentedPolicies.map(({ policy, docs }) => [
                policy.name,
                policy.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL,
                docs.reference.replace(/`/g, ""),
            ]),
        );
    });
});
