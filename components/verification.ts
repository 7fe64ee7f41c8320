/**
 * The verification on `pulumi up`: its plan (verify/plan.ts planOf, from what the stack's objects resolve
 * to) and the command that runs verify/main.ts with it once the proxy has rolled out.
 */
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand } from "./scripts";
import { Settings } from "../config/settings";
import { planOf, VerificationPlan } from "../verify/plan";

type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** What the plan is built from: the stack's objects' outputs. */
export interface VerificationPlanInput {
    caCertificate: pulumi.Input<string>;
    tlsSecretName: pulumi.Input<string>;
    haproxyConfigMapNames: pulumi.Input<string>[];
    proxyImage: pulumi.Input<string>;
    gateImage: pulumi.Input<string>;
    /** curl, of the cluster mode's pods. */
    verifyImage: pulumi.Input<string>;
    proxyResources: pulumi.Input<ResourceRequirements>;
    gateResources: pulumi.Input<ResourceRequirements>;
    /** The RBAC objects' uids ("" for one the stack does not create). */
    rbacUids: pulumi.Input<string>[];
}

export function verificationPlan(settings: Settings, input: VerificationPlanInput): pulumi.Output<VerificationPlan> {
    return pulumi
        .all([
            input.caCertificate,
            input.tlsSecretName,
            pulumi.all(input.haproxyConfigMapNames),
            pulumi.output({ proxyImage: input.proxyImage, gateImage: input.gateImage }),
            pulumi.output(input.proxyResources),
            pulumi.output(input.gateResources),
            pulumi.all(input.rbacUids),
            input.verifyImage,
        ])
        .apply(([caCertificate, tlsSecretName, haproxyConfigMapNames, images, proxy, gate, rbacUids, verifyImage]) =>
            planOf(settings, {
                caCertificate,
                tlsSecretName,
                haproxyConfigMapNames,
                images,
                verifyImage,
                resources: [proxy, gate],
                rbacUids,
            }),
        );
}

/** Runs the verification; returns its table (plain: it names nodes, addresses and statuses, never a token). */
export function registerVerification(
    name: string,
    plan: pulumi.Output<VerificationPlan>,
    kubeconfig: pulumi.Input<string>,
    dependsOn: pulumi.Resource[],
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    const verification = new command.local.Command(
        `${name}-verify`,
        {
            create: scriptCommand("..", "verify", "main.ts"),
            environment: {
                EKSA_METRICS_VERIFY_PLAN: pulumi.jsonStringify(plan),
                EKSA_METRICS_KUBECONFIG: pulumi.secret(kubeconfig),
            },
            logging: "none",
        },
        { ...opts, additionalSecretOutputs: ["stdout", "stderr"], dependsOn },
    );
    return pulumi.unsecret(verification.stdout);
}
