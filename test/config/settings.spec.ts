import { strict as assert } from "assert";
import { resolveSettings, SettingsError, StackOptions } from "../../config/settings";
import { settingsProblems } from "./settingsProblems";

const problemsOf = (options: StackOptions, prefix = "") => settingsProblems(() => resolveSettings(options, prefix));

describe("settings", () => {
    it("defaults to all components, the design's reader, and verification on", () => {
        const s = resolveSettings({});
        assert.deepEqual(
            s.components.map((c) => c.name),
            ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"],
        );
        assert.deepEqual(s.readers, [
            { kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" },
        ]);
        assert.equal(s.namespace, "eksa-metrics");
        assert.equal(s.createNamespace, true);
        assert.equal(s.healthPort, 10263);
        assert.equal(s.serverTimeoutSeconds, 30);
        assert.deepEqual(s.authFailureLimit, { failures: 20, periodSeconds: 60 });
        assert.deepEqual(resolveSettings({ authFailureLimit: { periodSeconds: 300 } }).authFailureLimit, {
            failures: 20,
            periodSeconds: 300,
        });
        assert.equal(s.tlsServerName, "eksa-metrics-metrics-proxy");
        assert.deepEqual([s.tlsValidityDays, s.tlsCaValidityDays], [90, 3650]);
        assert.deepEqual(s.verify, {
            enabled: true,
            timeoutSeconds: 120,
            concurrency: 8,
            mode: "cluster",
            serviceAccount: { name: "prometheus-server", namespace: "observability" },
        });
    });

    it("turns single components off and drops etcd for an external etcd", () => {
        assert.deepEqual(
            resolveSettings({ components: { "kube-proxy": false } }).components.map((c) => c.name),
            ["kube-controller-manager", "kube-scheduler", "etcd"],
        );
        const external = resolveSettings({ etcd: { topology: "external", endpoints: ["https://10.0.0.21:2379"] } });
        assert.deepEqual(
            external.components.map((c) => c.name),
            ["kube-controller-manager", "kube-scheduler", "kube-proxy"],
        );
        assert.deepEqual(external.etcd, { topology: "external", endpoints: ["https://10.0.0.21:2379"] });
    });

    it("derives the TLS server name from the namespace unless set", () => {
        assert.equal(resolveSettings({ namespace: "monitoring" }).tlsServerName, "monitoring-metrics-proxy");
        assert.equal(
            resolveSettings({ tls: { serverName: "metrics.example.internal" } }).tlsServerName,
            "metrics.example.internal",
        );
    });

    it("names the jobs after the components (as kubernetes-mixin selects them) unless told otherwise", () => {
        assert.deepEqual(resolveSettings({}).prometheus, {
            jobNames: {
                "kube-controller-manager": "kube-controller-manager",
                "kube-scheduler": "kube-scheduler",
                "kube-proxy": "kube-proxy",
                etcd: "etcd",
            },
            alertForSeconds: 900,
        });
        const custom = resolveSettings({
            prometheus: { jobNames: { etcd: "etcd-stacked" }, alertForSeconds: 30 },
        }).prometheus;
        assert.equal(custom.jobNames.etcd, "etcd-stacked");
        assert.equal(custom.jobNames["kube-proxy"], "kube-proxy");
        assert.equal(custom.alertForSeconds, 30);
    });

    it("leaves the Prometheus Operator's objects out unless enabled", () => {
        assert.deepEqual(resolveSettings({}).prometheusOperator, {
            enabled: false,
            namespace: "monitoring",
            labels: {},
        });
        assert.deepEqual(
            resolveSettings({ prometheusOperator: { enabled: true, labels: { release: "kube-prometheus-stack" } } })
                .prometheusOperator,
            { enabled: true, namespace: "monitoring", labels: { release: "kube-prometheus-stack" } },
        );
    });

    const bad: [string, StackOptions, RegExp][] = [
        [
            "a job name for an unknown component",
            { prometheus: { jobNames: { kubelet: "kubelet" } } },
            /^prometheus\.jobNames\.kubelet: is not a component this stack exposes/,
        ],
        [
            "an invalid job name",
            { prometheus: { jobNames: { etcd: "etcd job" } } },
            /^prometheus\.jobNames\.etcd: "etcd job" is not a valid job name/,
        ],
        [
            "two components in one job",
            { prometheus: { jobNames: { etcd: "kube-proxy" } } },
            /^prometheus\.jobNames\.etcd: "kube-proxy" is already the job of another component/,
        ],
        [
            "a negative alert delay",
            { prometheus: { alertForSeconds: -1 } },
            /^prometheus\.alertForSeconds: -1 is not a whole number from 0 to 86400/,
        ],
        [
            "a bad operator namespace",
            { prometheusOperator: { enabled: true, namespace: "Monitoring" } },
            /^prometheusOperator\.namespace: "Monitoring" is not a valid namespace name/,
        ],
        [
            "a bad operator label",
            { prometheusOperator: { enabled: true, labels: { release: "kube prometheus" } } },
            /^prometheusOperator\.labels\.release: "release": "kube prometheus" is not a valid label/,
        ],
        [
            "a non-boolean operator switch",
            { prometheusOperator: { enabled: "yes" as never } },
            /^prometheusOperator\.enabled: "yes" is not true or false/,
        ],
        [
            "an unknown prometheus option",
            { prometheus: { scrapeInterval: 30 } } as never,
            /^prometheus\.scrapeInterval: is not a known setting\. Known settings of prometheus: jobNames, alertForSeconds/,
        ],
        [
            "an unknown component",
            { components: { kubelet: true } },
            /^components\.kubelet: is not a component this stack exposes\. Use one of: kube-controller-manager, kube-scheduler, kube-proxy, etcd$/,
        ],
        [
            "a non-boolean component switch",
            { components: { etcd: "no" as never } },
            /^components\.etcd: "no" is not true or false/,
        ],
        [
            "every component off",
            {
                components: {
                    "kube-controller-manager": false,
                    "kube-scheduler": false,
                    "kube-proxy": false,
                    etcd: false,
                },
            },
            /^components: turns every component off\. Enable at least one of/,
        ],
        [
            "only etcd on, but external",
            {
                components: { "kube-controller-manager": false, "kube-scheduler": false, "kube-proxy": false },
                etcd: { topology: "external", endpoints: ["https://10.0.0.5:2379"] },
            },
            /^components: turns every component off/,
        ],
        [
            "an unknown etcd topology",
            { etcd: { topology: "unstacked" as never } },
            /^etcd\.topology: "unstacked" is not "stacked" or "external"/,
        ],
        [
            "external etcd without endpoints",
            { etcd: { topology: "external" } },
            /^etcd\.endpoints: is empty but etcd\.topology is external/,
        ],
        [
            "an http etcd endpoint",
            { etcd: { topology: "external", endpoints: ["http://10.0.0.5:2379"] } },
            /^etcd\.endpoints\[0\]: "http:\/\/10\.0\.0\.5:2379" is not https/,
        ],
        [
            "a malformed etcd endpoint",
            { etcd: { topology: "external", endpoints: ["10.0.0.5:2379"] } },
            /^etcd\.endpoints\[0\]: "10\.0\.0\.5:2379" (is not a URL|is not https)/,
        ],
        [
            "endpoints with stacked etcd",
            { etcd: { endpoints: ["https://10.0.0.5:2379"] } },
            /^etcd\.endpoints: is only meaningful with an external etcd/,
        ],
        [
            "an invalid namespace",
            { namespace: "Monitoring_NS" },
            /^namespace: "Monitoring_NS" is not a valid namespace name/,
        ],
        ["an empty reader list", { readers: [] }, /^readers: \[\] is not a non-empty list of subjects/],
        [
            "an empty subject name",
            { readers: [{ kind: "ServiceAccount", name: " ", namespace: "observability" }] },
            /^readers\[0\]\.name: is empty\. Name the service account/,
        ],
        [
            "a service account without namespace",
            { readers: [{ kind: "ServiceAccount", name: "prometheus" }] },
            /^readers\[0\]\.namespace: undefined is not a valid namespace/,
        ],
        [
            "an unknown subject kind",
            { readers: [{ kind: "Robot" as never, name: "x" }], verify: { enabled: false } },
            /^readers\[0\]\.kind: "Robot" is not ServiceAccount, User or Group/,
        ],
        [
            "a namespace on a group",
            { readers: [{ kind: "Group", name: "sre", namespace: "x" }], verify: { enabled: false } },
            /^readers\[0\]\.namespace: is set on a Group subject/,
        ],
        [
            "a health port clashing with a metrics port",
            { healthPort: 10257 },
            /^healthPort: 10257 is the metrics port of kube-controller-manager/,
        ],
        ["an out-of-range port", { healthPort: 70000 }, /^healthPort: 70000 is not a whole number from 1 to 65535/],
        [
            "a server timeout below Prometheus' scrape timeout",
            { serverTimeoutSeconds: 5 },
            /^serverTimeoutSeconds: 5 is not a whole number from 10 to 300/,
        ],
        [
            "an auth failure limit of zero",
            { authFailureLimit: { failures: 0 } },
            /^authFailureLimit\.failures: 0 is not a whole number from 1 to 10000/,
        ],
        [
            "an auth failure limit with an unknown key",
            { authFailureLimit: { perMinute: 5 } as never },
            /^authFailureLimit/,
        ],
        [
            "a CA that would end before its replacement finishes",
            { tls: { validityDays: 100, caValidityDays: 810 } },
            /^tls\.caValidityDays: 810 is less than 9 times tls\.validityDays \(100\): a CA replacement would not finish before the CA ends\. Set at least 900, or shorten tls\.validityDays/,
        ],
        [
            "a bad TLS server name",
            { tls: { serverName: "not a name" } },
            /^tls\.serverName: "not a name" is not a DNS name/,
        ],
        [
            "a bad toleration operator",
            { tolerations: [{ key: "a", operator: "In" as never }] },
            /^tolerations\[0\]\.operator: "In" is not Exists or Equal/,
        ],
        [
            "a keyless Equal toleration",
            { tolerations: [{ operator: "Equal", value: "x" }] },
            /^tolerations\[0\]\.key: is missing/,
        ],
        [
            "a bad node selector label",
            { nodeSelector: { "bad label": "x" } },
            /^nodeSelector\.bad label: is not a valid label name/,
        ],
        [
            "verification with only User readers",
            { readers: [{ kind: "User", name: "alice" }] },
            /^verify: needs a service account token, but no reader is a ServiceAccount/,
        ],
        [
            "a bad verify timeout",
            { verify: { timeoutSeconds: 1 } },
            /^verify\.timeoutSeconds: 1 is not a whole number from 10 to 3600/,
        ],
        [
            "an unknown controller",
            { controllers: { expect: ["capd-controller-manager"] } },
            /^controllers\.expect\[0\]: "capd-controller-manager" is not a catalogue controller\. Use one of: eks-anywhere-controller-manager, .*capc-controller-manager; describe other controllers under controllers\.extra$/,
        ],
        [
            "a controller listed twice",
            { controllers: { expect: ["capi-controller-manager", "capi-controller-manager"] } },
            /^controllers\.expect: lists "capi-controller-manager" more than once/,
        ],
        [
            "controllers.expect not a list",
            { controllers: { expect: "all" as never } },
            /^controllers\.expect: "all" is not a list of controller names\. .*\[\] for none, or remove it for those present in the cluster$/,
        ],
        [
            "an extra controller named like a catalogue one",
            { controllers: { extra: [{ name: "capv-controller-manager", namespace: "x", selector: { a: "b" } }] } },
            /^controllers\.extra\[0\]\.name: "capv-controller-manager" is a catalogue controller\. List it under controllers\.expect/,
        ],
        [
            "an extra controller named like a component's job",
            {
                prometheus: { jobNames: { etcd: "etcd-stacked" } },
                controllers: { extra: [{ name: "etcd-stacked", namespace: "x", selector: { a: "b" } }] },
            },
            /^controllers\.extra\[0\]\.name: "etcd-stacked" is already the job of a component/,
        ],
        [
            "two extra controllers of one name",
            {
                controllers: {
                    extra: [
                        { name: "op", namespace: "a", selector: { a: "b" } },
                        { name: "op", namespace: "b", selector: { a: "b" } },
                    ],
                },
            },
            /^controllers\.extra: names "op" more than once/,
        ],
        [
            "an extra controller without pod labels",
            { controllers: { extra: [{ name: "op", namespace: "a", selector: {} }] } },
            /^controllers\.extra\[0\]\.selector: \{\} is not a non-empty map of label to value/,
        ],
        [
            "an extra controller with a bad label",
            { controllers: { extra: [{ name: "op", namespace: "a", selector: { "bad label": "x" } }] } },
            /^controllers\.extra\[0\]\.selector\.bad label: "bad label": "x" is not a valid label/,
        ],
        [
            "an extra controller with a bad port",
            { controllers: { extra: [{ name: "op", namespace: "a", selector: { a: "b" }, port: 0 }] } },
            /^controllers\.extra\[0\]\.port: 0 is not a whole number from 1 to 65535\. .*default 8443$/,
        ],
        [
            "a controllers CA that is not PEM",
            { controllers: { tls: { caCertificate: "abc" } } },
            /^controllers\.tls\.caCertificate: is not a PEM certificate/,
        ],
        [
            "a controllers server name without a CA",
            { controllers: { tls: { serverName: "capi.example" } } },
            /^controllers\.tls\.serverName: is set without controllers\.tls\.caCertificate/,
        ],
        [
            "an unknown controllers option",
            { controllers: { include: [] } } as never,
            /^controllers\.include: is not a known setting\. Known settings of controllers: expect, extra, tls$/,
        ],
        [
            "an unknown top-level option",
            { colour: "blue" } as never,
            /^colour: is not a known setting\. Known settings: components, etcd/,
        ],
        [
            "an unknown nested option",
            { verify: { enable: false } } as never,
            /^verify\.enable: is not a known setting\. Known settings of verify: enabled/,
        ],
    ];
    for (const [what, options, message] of bad) {
        it(`rejects ${what}, naming the key and the fix`, () => {
            const problems = problemsOf(options);
            assert.ok(
                problems.some((p) => message.test(p)),
                `no problem matches ${message}:\n${problems.join("\n")}`,
            );
        });
    }

    it("leaves controllers.expect unset unless said (the program fills in those present), with no extra and no pinned CA", () => {
        assert.deepEqual(resolveSettings({}).controllers, { expect: undefined, extra: [], tls: {} });
        assert.deepEqual(resolveSettings({ controllers: { expect: [] } }).controllers.expect, []);
    });

    it("takes extra controllers on the diagnostics port unless told, and a pinned CA with its server name", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const c = resolveSettings({
            controllers: {
                expect: ["capi-controller-manager"],
                extra: [
                    {
                        name: "my-operator",
                        namespace: "my-operator-system",
                        selector: { "control-plane": "controller-manager" },
                    },
                    { name: "other", namespace: "o", selector: { app: "o" }, port: 9443 },
                ],
                tls: { caCertificate: pem, serverName: "controllers.example.internal" },
            },
        }).controllers;
        assert.deepEqual(c, {
            expect: ["capi-controller-manager"],
            extra: [
                {
                    name: "my-operator",
                    namespace: "my-operator-system",
                    selector: { "control-plane": "controller-manager" },
                    port: 8443,
                },
                { name: "other", namespace: "o", selector: { app: "o" }, port: 9443 },
            ],
            tls: { caCertificate: pem, serverName: "controllers.example.internal" },
        });
    });

    it("reports every problem at once, with the config key prefix", () => {
        const problems = problemsOf({ namespace: "UPPER", healthPort: 2381, readers: [] }, "eksa-metrics:");
        assert.equal(problems.length, 3);
        assert.ok(problems.every((p) => p.startsWith("eksa-metrics:")));
        assert.match(new SettingsError(problems).message, /^invalid eksa-metrics configuration:\n {2}- eksa-metrics:/);
    });
});

describe("settings: a registry mirror and pull secrets", () => {
    it("take none by default, and a mirror as images name it", () => {
        const s = resolveSettings({});
        assert.equal(s.imageRegistry, undefined);
        assert.deepEqual(s.imagePullSecrets, []);
        const mirrored = resolveSettings({ imageRegistry: "mirror.example:5000", imagePullSecrets: ["mirror-pull"] });
        assert.equal(mirrored.imageRegistry, "mirror.example:5000");
        assert.deepEqual(mirrored.imagePullSecrets, ["mirror-pull"]);
    });

    it("refuse what is no registry or no Secret's name, naming the key and the fix", () => {
        assert.deepEqual(
            problemsOf(
                { imageRegistry: "https://mirror.example", imagePullSecrets: ["Mirror_Pull", "a", "a"] },
                "eksa-metrics:",
            ),
            [
                `eksa-metrics:imageRegistry: "https://mirror.example" has a scheme: give the registry as images name it, e.g. mirror.example:5000. Set it to your registry mirror, which holds the stack's images`,
                `eksa-metrics:imagePullSecrets[0]: "Mirror_Pull" is not a Secret's name. Name a kubernetes.io/dockerconfigjson Secret (a lower-case DNS name) in the stack's namespace and the reader's`,
                'eksa-metrics:imagePullSecrets: lists "a" twice. List each pull secret once',
            ],
        );
        assert.match(problemsOf({ imageRegistry: "mirror" })[0], /^imageRegistry: "mirror" is not a registry host/);
        assert.deepEqual(problemsOf({ imageRegistry: "mirror.example:5000/" }), [
            `imageRegistry: "mirror.example:5000/" ends with "/": give the registry without it, e.g. mirror.example:5000. Set it to your registry mirror, which holds the stack's images`,
        ]);
        assert.match(
            problemsOf({ imagePullSecrets: "mirror-pull" as never })[0],
            /^imagePullSecrets: "mirror-pull" is not a list/,
        );
    });
});
