import { strict as assert } from "assert";
import { kubeconfigProblems, readStackConfig } from "../../config/stackConfig";
import { settingsProblems } from "./settingsProblems";

export const VALID_KUBECONFIG = `apiVersion: v1
kind: Config
current-context: admin@mgmt
clusters:
- name: mgmt
  cluster:
    server: https://10.0.0.10:6443
    certificate-authority-data: AAAA
contexts:
- name: admin@mgmt
  context: { cluster: mgmt, user: admin }
users:
- name: admin
  user: { token: abc }
`;

const problemsOf = (raw: Record<string, string>) => settingsProblems(() => readStackConfig(raw));

describe("stack config", () => {
    it("parses each key by its kind and ignores other namespaces", () => {
        const { args, settings } = readStackConfig({
            "eksa-metrics:kubeconfig": VALID_KUBECONFIG,
            "eksa-metrics:components": JSON.stringify({ etcd: false }),
            "eksa-metrics:createNamespace": "false",
            "eksa-metrics:healthPort": "10300",
            "eksa-metrics:proxyImage": "registry.example/haproxy:2.9",
            "kubernetes:context": "ignored",
        });
        assert.equal(args.createNamespace, false);
        assert.equal(args.healthPort, 10300);
        assert.equal(args.proxyImage, "registry.example/haproxy:2.9");
        assert.deepEqual(
            settings.components.map((c) => c.name),
            ["kube-controller-manager", "kube-scheduler", "kube-proxy"],
        );
    });

    it("reads controllers as structured config, each problem under eksa-metrics:controllers", () => {
        const { settings } = readStackConfig({
            "eksa-metrics:kubeconfig": VALID_KUBECONFIG,
            "eksa-metrics:controllers": JSON.stringify({ expect: ["capi-controller-manager"] }),
        });
        assert.deepEqual(settings.controllers.expect, ["capi-controller-manager"]);
        assert.deepEqual(
            problemsOf({
                "eksa-metrics:kubeconfig": VALID_KUBECONFIG,
                "eksa-metrics:controllers": JSON.stringify({ expect: ["capd"] }),
            }).map((p) => p.split(":").slice(0, 2).join(":")),
            ["eksa-metrics:controllers.expect[0]"],
        );
    });

    it("names the config key of each bad value", () => {
        const problems = problemsOf({
            "eksa-metrics:kubeconfig": VALID_KUBECONFIG,
            "eksa-metrics:createNamespace": "yes",
            "eksa-metrics:healthPort": "ten",
            "eksa-metrics:readers": "prometheus",
            "eksa-metrics:colour": "blue",
            "eksa-metrics:namespace": "Bad_Name",
        });
        assert.deepEqual(problems.map((p) => p.split(":").slice(0, 2).join(":")).sort(), [
            "eksa-metrics:colour",
            "eksa-metrics:createNamespace",
            "eksa-metrics:healthPort",
            "eksa-metrics:namespace",
            "eksa-metrics:readers",
        ]);
        assert.ok(
            problems.some((p) =>
                /^eksa-metrics:colour: is not a setting of this program\. Known keys: kubeconfig, components/.test(p),
            ),
        );
        assert.ok(problems.some((p) => /^eksa-metrics:healthPort: "ten" is not a whole number/.test(p)));
    });

    it("requires a kubeconfig and says how to set it", () => {
        const problems = problemsOf({});
        assert.deepEqual(problems, [
            "eksa-metrics:kubeconfig: is not set (the program deploys to that cluster). Set the cluster's kubeconfig with: pulumi config set --secret eksa-metrics:kubeconfig < kubeconfig",
        ]);
    });

    const badKubeconfigs: [string, string, RegExp][] = [
        ["not YAML", "clusters: [", /^is not YAML/],
        ["not a kubeconfig", "a: 1\n", /^is not a kubeconfig/],
        [
            "no current context",
            VALID_KUBECONFIG.replace("current-context: admin@mgmt", "current-context: other"),
            /^has no usable current-context \(context "other" is missing\)/,
        ],
        [
            "a missing cluster",
            VALID_KUBECONFIG.replace("cluster: mgmt, user", "cluster: gone, user"),
            /^context "admin@mgmt" names cluster "gone", which is missing/,
        ],
        [
            "an http server",
            VALID_KUBECONFIG.replace("https://10.0.0.10:6443", "http://10.0.0.10:6443"),
            /server http:\/\/10\.0\.0\.10:6443\/ is not https/,
        ],
        [
            "a missing user",
            VALID_KUBECONFIG.replace("user: admin }", "user: nobody }"),
            /names user "nobody", which is missing/,
        ],
    ];
    for (const [what, text, message] of badKubeconfigs) {
        it(`rejects a kubeconfig with ${what}`, () => {
            const problems = kubeconfigProblems(text);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], message);
            assert.ok(
                problemsOf({ "eksa-metrics:kubeconfig": text }).some((p) => p.startsWith("eksa-metrics:kubeconfig: ")),
            );
        });
    }

    it("accepts a well-formed kubeconfig", () => {
        assert.deepEqual(kubeconfigProblems(VALID_KUBECONFIG), []);
    });
});
