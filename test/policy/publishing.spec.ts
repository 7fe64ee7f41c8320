/**
 * The pack as `pulumi policy publish` uploads it: what `npm pack` makes of policy/ alone (policy/README.md
 * "Publishing"). Its main is in the archive, and every `require` in it is either a file of the archive or a
 * package the pack depends on: nothing reaches the repository's core/ outside the folder. Needs the build
 * (dev/toolchain/setup.sh build).
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");

describe("the policy pack's npm pack archive (what pulumi policy publish uploads)", function () {
    this.timeout(60_000);
    const manifest = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
    let files: Set<string>;

    before(() => {
        const packed = JSON.parse(
            execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
                cwd: POLICY_DIR,
                encoding: "utf8",
            }),
        );
        files = new Set(packed[0].files.map((f: { path: string }) => f.path));
    });

    it("holds the pack's main, PulumiPolicy.yaml and the core compiled beside the policies, and no TypeScript", () => {
        assert.equal(manifest.main, "dist/policy/index.js");
        for (const file of ["package.json", "PulumiPolicy.yaml", manifest.main, "dist/core/catalogue.js"]) {
            assert.ok(files.has(file), `${file} is in the archive (run dev/toolchain/setup.sh build first)`);
        }
        assert.deepEqual(
            [...files].filter((f) => f.endsWith(".ts")),
            [],
        );
    });

    it("every require of its JavaScript is a file of the archive or a dependency of the pack", () => {
        const problems: string[] = [];
        const dependencies = new Set(Object.keys(manifest.dependencies));
        for (const file of [...files].filter((f) => f.endsWith(".js"))) {
            const source = fs.readFileSync(path.join(POLICY_DIR, file), "utf8");
            for (const [, spec] of source.matchAll(/require\("([^"]+)"\)/g)) {
                if (spec.startsWith(".")) {
                    const target = path.posix.join(path.posix.dirname(file), spec);
                    if (![target, `${target}.js`, `${target}/index.js`].some((t) => files.has(t))) {
                        problems.push(`${file}: require("${spec}") is not in the archive`);
                    }
                } else {
                    const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
                    if (!builtinModules.includes(name.replace(/^node:/, "")) && !dependencies.has(name)) {
                        problems.push(`${file}: require("${spec}") is not a dependency of the pack`);
                    }
                }
            }
        }
        assert.deepEqual(problems, []);
    });
});
