/**
 * The real promtool (dev/toolchain/setup.sh prometheus) on the rendered alert rules: `check rules`
 * (syntax, PromQL, templates) and `test rules` with alertRules.test.yaml and certificate.test.yaml,
 * which make every alert fire and stay silent; and on the rendered scrape jobs, components and
 * controllers: `check config`.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderAlertRules } from "../../components/alertRules";
import { CATALOGUE, CONTROLLER_CATALOGUE } from "../../core/catalogue";
import { targetOf } from "../../config/controllers";
import { renderScrapeConfigs, ScrapeConfigInput } from "../../components/scrapeConfig";
import { resolveSettings } from "../../config/settings";

const TESTS = ["alertRules.test.yaml", "certificate.test.yaml"];
// The inputs alertRules.test.yaml's header describes.
const RULES = renderAlertRules({
    components: CATALOGUE,
    jobNames: resolveSettings({}).prometheus.jobNames,
    alertForSeconds: 300,
    certificate: { serverName: "eksa-metrics-metrics-proxy", notAfter: "1970-03-02T00:00:00.000Z", validityDays: 90 },
    ca: { notAfter: "1970-10-28T00:00:00.000Z", warningDays: 210 },
});

function promtool(dir: string, ...args: string[]): string {
    try {
        return execFileSync("promtool", args, { cwd: dir, encoding: "utf8", stdio: "pipe" });
    } catch (err) {
        const e = err as { code?: string; stdout?: string; stderr?: string };
        if (e.code === "ENOENT") {
            assert.fail(
                "promtool is not on PATH: run dev/toolchain/setup.sh prometheus and source dev/toolchain/env.sh",
            );
        }
        assert.fail(`promtool ${args.join(" ")} failed:\n${e.stdout}${e.stderr}`);
    }
}

describe("alert rules under the real promtool", function () {
    this.timeout(60_000);
    let dir: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-metrics-promtool-"));
        fs.writeFileSync(path.join(dir, "alertRules.yaml"), RULES);
        for (const test of TESTS) {
            fs.copyFileSync(path.join(__dirname, test), path.join(dir, test));
        }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is a valid rule file (promtool check rules)", () => {
        assert.match(promtool(dir, "check", "rules", "alertRules.yaml"), /SUCCESS: 16 rules found/);
    });

    it("fires each alert when its condition holds for long enough, and only then (promtool test rules)", () => {
        const out = promtool(dir, "test", "rules", ...TESTS);
        assert.equal(out.match(/ SUCCESS/g)?.length, TESTS.length, out);
    });
});

describe("scrape config under the real promtool", function () {
    this.timeout(60_000);
    let dir: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-metrics-promtool-"));
        // check config wants the files a job references to exist.
        for (const file of ["ca.crt", "controllers-ca.crt", "token"]) {
            fs.writeFileSync(path.join(dir, file), "placeholder\n");
        }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: [string, ScrapeConfigInput["controllerTls"]][] = [
        ["unpinned", {}],
        ["pinned", { caFile: "controllers-ca.crt", serverName: "controllers.example.internal" }],
    ];
    for (const [what, controllerTls] of cases) {
        it(`is a valid Prometheus config with every component and controller, ${what} (promtool check config)`, () => {
            const config = renderScrapeConfigs({
                components: CATALOGUE,
                jobNames: resolveSettings({}).prometheus.jobNames,
                tlsServerName: "eksa-metrics-metrics-proxy",
                nodeSelector: { "kubernetes.io/os": "linux" },
                caFile: path.join(dir, "ca.crt"),
                tokenFile: path.join(dir, "token"),
                controllers: CONTROLLER_CATALOGUE.map(targetOf),
                controllerTls: controllerTls.caFile
                    ? { ...controllerTls, caFile: path.join(dir, controllerTls.caFile) }
                    : controllerTls,
            });
            fs.writeFileSync(path.join(dir, "prometheus.yml"), config);
            assert.match(promtool(dir, "check", "config", "prometheus.yml"), /SUCCESS/);
        });
    }
});
