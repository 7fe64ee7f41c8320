/**
 * The fleet runner's test policy pack: no namespace named kube-system, a value a stack's config
 * (`eksa-metrics:namespace`) decides. The test copies this directory next to a node_modules link
 * to policy/node_modules, where @pulumi/policy and the SDK's run-policy-pack are installed; the
 * repository's type-check cannot resolve @pulumi/policy from here, hence require() and the few
 * types spelled out below.
 */
interface ResourceArgs {
    type: string;
    name: string;
    props: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- tsc cannot resolve @pulumi/policy from here (see above)
const { PolicyPack } = require("@pulumi/policy");

new PolicyPack("fleet-test-pack", {
    policies: [
        {
            name: "no-kube-system",
            description: "Nothing of the metrics stack goes into kube-system.",
            enforcementLevel: "mandatory",
            validateResource: (args: ResourceArgs, reportViolation: (message: string) => void) => {
                if (args.type === "pulumi-nodejs:dynamic:Resource" && args.props.name === "kube-system") {
                    reportViolation(`namespace '${args.props.name}' is reserved for the cluster's own components`);
                }
            },
        },
    ],
});

export {};
