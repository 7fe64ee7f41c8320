/**
 * config/schema.ts is the one description of every config key: README's configuration table, the doc
 * comments of config/args.ts (the component's schema descriptions), CONFIG_KEYS and resolveSettings' known
 * keys, defaults and ranges must all say what it says.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { argumentDoc, CONFIG_KEY_NAMES, CONFIG_SCHEMA, DEFAULTS, OPTION_KEYS, RANGES } from "../../config/schema";
import { CONFIG_KEYS } from "../../config/stackConfig";
import { resolveSettings, SettingsError, StackOptions } from "../../config/settings";

const REPO = path.join(__dirname, "..", "..");

interface Row {
    key: string;
    secret: boolean;
    defaultText: string;
    doc: string;
}

/** The rows of README's configuration table. */
function readmeRows(): Row[] {
    const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
    const section = readme.split(/^## /m).find((s) => s.startsWith("Configuration"));
    assert.ok(section, "README has a Configuration section");
    return section
        .split("\n")
        .filter((line) => /^\| `/.test(line))
        .map((line) => {
            const cells = line.slice(2, -2).split(" | ");
            assert.equal(cells.length, 3, `three cells: ${line}`);
            const key = /^`([A-Za-z]+)`( \(secret\))?$/.exec(cells[0]);
            assert.ok(key, `one key per row, as \`key\` or \`key\` (secret): ${line}`);
            return { key: key[1], secret: key[2] !== undefined, defaultText: cells[1], doc: cells[2] };
        });
}

const ARGS_FILE = path.join(REPO, "config", "args.ts");
const source = ts.createSourceFile(ARGS_FILE, fs.readFileSync(ARGS_FILE, "utf8"), ts.ScriptTarget.Latest, true);

/** Each documented property of an interface in config/args.ts: name to its doc comment. */
function argsDocs(interfaceName: string): Map<string, string> {
    const docs = new Map<string, string>();
    source.forEachChild((node) => {
        if (ts.isInterfaceDeclaration(node) && node.name.text === interfaceName) {
            for (const member of node.members) {
                const comment = ts.getJSDocCommentsAndTags(member)[0];
                docs.set(
                    (member.name as ts.Identifier).text,
                    comment ? (ts.getTextOfJSDocComment((comment as ts.JSDoc).comment) ?? "") : "",
                );
            }
        }
    });
    return docs;
}

function problemsOf(options: unknown): string[] {
    try {
        resolveSettings(options as StackOptions);
        return [];
    } catch (err) {
        assert.ok(err instanceof SettingsError, String(err));
        return err.problems;
    }
}

/** Options that set the key of RANGES to `value`. */
function withValue(key: keyof typeof RANGES, value: number): StackOptions {
    if (key === "controllers.extra.port") {
        return {
            controllers: { extra: [{ name: "op", namespace: "op-system", selector: { app: "op" }, port: value }] },
        };
    }
    const [outer, inner] = key.split(".");
    return (inner === undefined ? { [outer]: value } : { [outer]: { [inner]: value } }) as StackOptions;
}

describe("config schema: one entry per key", () => {
    it("README's configuration table has a row per key, with the schema's default and doc", () => {
        const rows = readmeRows();
        assert.deepEqual(
            rows.map((r) => r.key),
            CONFIG_KEY_NAMES,
            "every key once, in the schema's order",
        );
        for (const row of rows) {
            const entry = CONFIG_SCHEMA[row.key as keyof typeof CONFIG_SCHEMA];
            assert.deepEqual(
                row,
                { key: row.key, secret: entry.secret === true, defaultText: entry.defaultText, doc: entry.doc },
                row.key,
            );
        }
    });

    it("config/args.ts documents each argument with the schema's doc and default", () => {
        const documented = new Map([...argsDocs("StackOptions"), ...argsDocs("MetricsStackArgs")]);
        assert.deepEqual([...documented.keys()].sort(), [...CONFIG_KEY_NAMES].sort());
        for (const key of CONFIG_KEY_NAMES) {
            assert.equal(documented.get(key), argumentDoc(key), key);
        }
        assert.deepEqual([...argsDocs("StackOptions").keys()].sort(), [...OPTION_KEYS].sort(), "the options");
    });

    it("the program reads exactly the schema's keys, each parsed as its type", () => {
        assert.deepEqual(CONFIG_KEYS, {
            kubeconfig: "string",
            components: "object",
            etcd: "object",
            namespace: "string",
            createNamespace: "boolean",
            readers: "object",
            tolerations: "object",
            nodeSelector: "object",
            healthPort: "integer",
            serverTimeoutSeconds: "integer",
            authFailureLimit: "object",
            tls: "object",
            rolloutTimeoutMinutes: "integer",
            verify: "object",
            readersMayNotExistYet: "boolean",
            offlinePreview: "boolean",
            prometheus: "object",
            controllers: "object",
            prometheusOperator: "object",
            replaceDocsMetricsProxy: "boolean",
            imageRegistry: "string",
            imagePullSecrets: "object",
            proxyImage: "string",
            gateImage: "string",
            verifyImage: "string",
            proxyResources: "object",
            gateResources: "object",
        });
        assert.deepEqual(
            CONFIG_KEY_NAMES.filter((k) => CONFIG_SCHEMA[k].secret),
            ["kubeconfig"],
        );
    });

    it("resolveSettings knows the schema's options and names them for an unknown key", () => {
        const [problem] = problemsOf({ nameSpace: "x" });
        assert.equal(problem, `nameSpace: is not a known setting. Known settings: ${OPTION_KEYS.join(", ")}`);
        assert.deepEqual(OPTION_KEYS, [
            "components",
            "etcd",
            "namespace",
            "createNamespace",
            "readers",
            "tolerations",
            "nodeSelector",
            "healthPort",
            "serverTimeoutSeconds",
            "authFailureLimit",
            "tls",
            "rolloutTimeoutMinutes",
            "verify",
            "readersMayNotExistYet",
            "offlinePreview",
            "prometheus",
            "controllers",
            "prometheusOperator",
            "replaceDocsMetricsProxy",
            "imageRegistry",
            "imagePullSecrets",
        ]);
    });

    it("fills in the documented defaults", () => {
        const settings = resolveSettings({});
        assert.equal(settings.namespace, "eksa-metrics");
        assert.equal(settings.createNamespace, true);
        assert.equal(settings.healthPort, 10263);
        assert.equal(settings.serverTimeoutSeconds, 30);
        assert.deepEqual(settings.authFailureLimit, { failures: 20, periodSeconds: 60 });
        assert.deepEqual([settings.tlsValidityDays, settings.tlsCaValidityDays], [90, 3650]);
        assert.equal(settings.rolloutTimeoutMinutes, 10);
        assert.deepEqual(settings.verify, {
            enabled: true,
            timeoutSeconds: 120,
            concurrency: 8,
            mode: "cluster",
            serviceAccount: { name: "prometheus-server", namespace: "observability" },
        });
        assert.equal(settings.prometheus.alertForSeconds, 900);
        assert.deepEqual(settings.prometheusOperator, { enabled: false, namespace: "monitoring", labels: {} });
        assert.deepEqual(
            [settings.readersMayNotExistYet, settings.offlinePreview, settings.replaceDocsMetricsProxy],
            [false, false, false],
        );
        assert.deepEqual([settings.imageRegistry, settings.imagePullSecrets], [undefined, []]);
    });

    it("checks every whole number against its range: the ends pass, one beyond fails naming the range", () => {
        for (const [key, [min, max]] of Object.entries(RANGES) as [keyof typeof RANGES, readonly [number, number]][]) {
            assert.deepEqual(problemsOf(withValue(key, min)), [], `${key} = ${min}`);
            assert.deepEqual(problemsOf(withValue(key, max)), [], `${key} = ${max}`);
            for (const wrong of [min - 1, max + 1]) {
                const problems = problemsOf(withValue(key, wrong));
                assert.equal(problems.length, 1, `${key} = ${wrong}: ${problems.join("; ")}`);
                assert.match(problems[0], new RegExp(`is not a whole number from ${min} to ${max}`), key);
            }
        }
    });

    it("config/args.ts documents the nested fields' defaults and ranges as the schema has them", () => {
        const nested: [string, string, unknown, (readonly [number, number])?][] = [
            [
                "AuthFailureLimitOptions",
                "failures",
                DEFAULTS.authFailureLimit.failures,
                RANGES["authFailureLimit.failures"],
            ],
            [
                "AuthFailureLimitOptions",
                "periodSeconds",
                DEFAULTS.authFailureLimit.periodSeconds,
                RANGES["authFailureLimit.periodSeconds"],
            ],
            ["ProxyTlsOptions", "validityDays", DEFAULTS.tls.validityDays, RANGES["tls.validityDays"]],
            ["ProxyTlsOptions", "caValidityDays", DEFAULTS.tls.caValidityDays, RANGES["tls.caValidityDays"]],
            ["VerifyOptions", "enabled", DEFAULTS.verify.enabled],
            ["VerifyOptions", "timeoutSeconds", DEFAULTS.verify.timeoutSeconds, RANGES["verify.timeoutSeconds"]],
            ["VerifyOptions", "concurrency", DEFAULTS.verify.concurrency, RANGES["verify.concurrency"]],
            [
                "PrometheusOptions",
                "alertForSeconds",
                DEFAULTS.prometheus.alertForSeconds,
                RANGES["prometheus.alertForSeconds"],
            ],
            ["PrometheusOperatorOptions", "enabled", DEFAULTS.prometheusOperator.enabled],
            ["PrometheusOperatorOptions", "namespace", DEFAULTS.prometheusOperator.namespace],
            ["ExtraController", "port", DEFAULTS.controllers.extraPort],
        ];
        for (const [interfaceName, field, value, range] of nested) {
            const doc = argsDocs(interfaceName).get(field) ?? "";
            assert.ok(doc.endsWith(`Defaults to \`${String(value)}\`.`), `${interfaceName}.${field}: ${doc}`);
            if (range) {
                assert.match(doc, new RegExp(`from ${range[0]} to ${range[1]}\\b`), `${interfaceName}.${field}`);
            }
        }
        const mode = argsDocs("VerifyOptions").get("mode") ?? "";
        assert.ok(mode.endsWith(`Defaults to \`${DEFAULTS.verify.mode}\`.`), mode);
    });
});
