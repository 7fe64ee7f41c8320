import { strict as assert } from "assert";
import * as path from "path";
import { ESLint } from "eslint";

const root = path.resolve(__dirname, "..", "..");

/** What the linter says of `code` placed at `file` (relative to the repository), as the layer rule's messages. */
async function layerProblems(file: string, code: string): Promise<string[]> {
    const eslint = new ESLint({ cwd: root });
    const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
    return result.messages.filter((m) => m.ruleId === "layers/imports-downward").map((m) => m.message);
}

describe("layers: imports go only downward (eslint rule layers/imports-downward)", function () {
    this.timeout(60_000);

    it("refuses an upward import: the core may not import the component", async () => {
        const problems = await layerProblems(
            "core/example.ts",
            `import { MetricsStack } from "../components/metricsStack";\nexport const c = MetricsStack;\n`,
        );
        assert.deepEqual(problems, [
            "core/ may not import components/ (../components/metricsStack): imports go only to lower layers (eslint.config.mjs LAYERS)",
        ]);
    });

    it("refuses a sideways import of the policy pack: it may use the core only", async () => {
        const problems = await layerProblems("policy/example.ts", `export { Settings } from "../config/settings";\n`);
        assert.equal(problems.length, 1);
        assert.match(problems[0], /^policy\/ may not import config\//);
    });

    it("refuses the harness importing the tests, and a dynamic require upward", async () => {
        assert.equal(
            (await layerProblems("dev/bench/example.ts", `import "../../test/support/processes";\n`)).length,
            1,
        );
        assert.equal(
            (await layerProblems("config/example.ts", `export const m = require("../verify/plan");\n`)).length,
            1,
        );
    });

    it("allows downward imports, and the tests import anything", async () => {
        assert.deepEqual(
            await layerProblems(
                "components/example.ts",
                `import { CATALOGUE } from "../core/catalogue";\nimport { planChecks } from "../verify/plan";\nexport const x = [CATALOGUE, planChecks];\n`,
            ),
            [],
        );
        assert.deepEqual(
            await layerProblems(
                "fleet/example.ts",
                `import { CONFIG_NAMESPACE } from "../config/stackConfig";\nexport const n = CONFIG_NAMESPACE;\n`,
            ),
            [],
        );
        assert.deepEqual(
            await layerProblems(
                "test/example.ts",
                `import { MetricsStack } from "../components/metricsStack";\nexport const c = MetricsStack;\n`,
            ),
            [],
        );
    });
});
