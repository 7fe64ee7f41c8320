/**
 * The component provider that serves MetricsStack to every Pulumi language (PulumiPlugin.yaml): Pulumi's
 * own, whose schema `@pulumi/pulumi/provider/experimental` infers from MetricsStackArgs and the class's
 * public fields, with the one thing that inference cannot say (it has no notion of secrets up to
 * @pulumi/pulumi 3.276): the kubeconfig is a secret input.
 */
import * as path from "path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { MetricsStack } from "../components/metricsStack";

/** The package's name: the first part of the component's type token, eksa-metrics:index:MetricsStack. */
export const PACKAGE_NAME = "eksa-metrics";
/** Inputs that hold credentials. */
export const SECRET_INPUTS = ["kubeconfig"];
/** This folder (the analyzer reads its tsconfig.json and index.ts), from its sources or from dist/provider/. */
export const PROVIDER_DIR =
    path.extname(__filename) === ".ts" ? __dirname : path.resolve(__dirname, "..", "..", "provider");

export class MetricsStackProvider extends ComponentProvider {
    constructor() {
        super({ components: [MetricsStack], dirname: PROVIDER_DIR, name: PACKAGE_NAME });
    }

    async getSchema(): Promise<string> {
        const schema = JSON.parse(await super.getSchema());
        const inputs = schema.resources[`${PACKAGE_NAME}:index:MetricsStack`].inputProperties;
        for (const key of SECRET_INPUTS) {
            inputs[key].secret = true;
        }
        return JSON.stringify(schema);
    }
}
