/**
 * The fleet runner's test program: the project's config keys, a dynamic resource in place of the
 * cluster objects (the kubernetes and command provider plugins cannot be built here). The test
 * copies this directory next to a node_modules link, so stack files stay out of the repository.
 */
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config("eksa-metrics");
const kubeconfig = config.requireSecret("kubeconfig");
const namespace = config.get("namespace") ?? "eksa-metrics";

interface NamespaceInputs {
    name: string;
}

const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: NamespaceInputs) {
        return { id: `namespace-${inputs.name}`, outs: inputs };
    },
};

/** Stands for the stack's namespace: its `name` is what the test policy pack checks. */
class FakeNamespace extends pulumi.dynamic.Resource {
    constructor(name: string, args: { name: pulumi.Input<string> }) {
        super(provider, name, args);
    }
}

new FakeNamespace("namespace", { name: namespace });

/** Secret, like its input: shows that the kubeconfig arrived whole. */
export const kubeconfigLength = kubeconfig.apply((text) => text.length);
