import { strict as assert } from "assert";
import { matchesSelector, parseLabelSelector, stackLabelValue } from "../../core/labels";

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

describe("stack label", () => {
    it("is <project>.<stack> when that is a valid label value", () => {
        assert.equal(stackLabelValue("eksa-metrics", "mgmt-cluster"), "eksa-metrics.mgmt-cluster");
    });

    it("makes any project and stack name a valid label value, and keeps different names apart", () => {
        const long = "x".repeat(80);
        for (const [project, stack] of [
            ["eksa-metrics", "org/team/prod"],
            ["eksa-metrics", long],
            ["-p-", "_s_"],
            ["eksa-metrics", `${long}a`],
        ]) {
            assert.match(stackLabelValue(project, stack), LABEL_VALUE, `${project}.${stack}`);
        }
        assert.notEqual(stackLabelValue("eksa-metrics", long), stackLabelValue("eksa-metrics", `${long}a`));
        assert.notEqual(stackLabelValue("eksa-metrics", "a/b"), stackLabelValue("eksa-metrics", "a-b"));
    });
});

describe("label selectors, parsed and matched", () => {
    const matches = (selector: string, labels: Record<string, string>) =>
        matchesSelector(parseLabelSelector(selector), labels);

    it("an empty selector matches everything", () => {
        assert.deepEqual(parseLabelSelector(" ").requirements, []);
        assert.equal(matches("", {}), true);
    });

    it("parses =, ==, !=, in, notin, exists and !exists, commas inside parentheses kept together", () => {
        assert.deepEqual(
            parseLabelSelector("tier=edge, env in (prod, stage),!paused,zone,x!=y,app notin (a),k==v").requirements,
            [
                { key: "tier", op: "in", values: ["edge"] },
                { key: "env", op: "in", values: ["prod", "stage"] },
                { key: "paused", op: "!exists" },
                { key: "zone", op: "exists" },
                { key: "x", op: "notin", values: ["y"] },
                { key: "app", op: "notin", values: ["a"] },
                { key: "k", op: "in", values: ["v"] },
            ],
        );
    });

    it("matches as the API server's -l does", () => {
        const labels = { tier: "edge", env: "prod", "cluster.x-k8s.io/cluster-name": "w1" };
        assert.equal(matches("tier=edge,env in (prod,stage)", labels), true);
        assert.equal(matches("tier=edge,env notin (prod)", labels), false);
        assert.equal(matches("cluster.x-k8s.io/cluster-name", labels), true);
        assert.equal(matches("!paused", labels), true);
        assert.equal(matches("!tier", labels), false);
        assert.equal(matches("zone!=a", labels), true, "!= matches a missing label");
        assert.equal(matches("zone=a", labels), false);
    });

    it("names the term that is wrong", () => {
        assert.throws(() => parseLabelSelector("tier=edge,env in prod"), {
            message:
                '"env in prod" is not a requirement: write key=value, key!=value, key in (a,b), key notin (a,b), key or !key',
        });
        assert.throws(() => parseLabelSelector("tier=ed ge"), /"tier=ed ge" is not a requirement/);
        assert.throws(() => parseLabelSelector("tier=-edge"), {
            message: '"tier=-edge" has a value that is not a label value',
        });
        assert.throws(() => parseLabelSelector("-x=1"), { message: '"-x=1" has "-x", which is not a label key' });
    });
});
