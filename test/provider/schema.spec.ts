/**
 * The component's schema as every Pulumi language sees it: Pulumi's component schema inference
 * (`@pulumi/pulumi/provider/experimental`'s analyzer, through provider/'s MetricsStackProvider, what
 * `pulumi package get-schema ./provider` serves) run on the package's sources. Every argument and every
 * field of its types has a description, the kubeconfig is a secret, choices are enums and the outputs are typed.
 */
import { strict as assert } from "assert";
import { MetricsStackProvider, PACKAGE_NAME } from "../../provider/schema";
import { CONFIG_KEYS } from "../../config/stackConfig";

const TOKEN = `${PACKAGE_NAME}:index:MetricsStack`;
const ref = (name: string) => `#/types/${PACKAGE_NAME}:index:${name}`;

describe("the component's schema (Pulumi's component schema inference)", function () {
    this.timeout(600_000); // the analyzer builds a TypeScript program of the sources: ~10 s of CPU
    let schema: any;
    let component: any;

    before(async () => {
        schema = JSON.parse(await new MetricsStackProvider().getSchema());
        component = schema.resources[TOKEN];
    });

    it("is the component eksa-metrics:index:MetricsStack, with the kubernetes package it refers to", () => {
        assert.equal(schema.name, "eksa-metrics");
        assert.equal(component.isComponent, true);
        assert.deepEqual(schema.dependencies, [{ name: "kubernetes", version: "4.25.0" }]);
    });

    it("has every argument (every stack config key), each with its description", () => {
        assert.deepEqual(Object.keys(component.inputProperties).sort(), Object.keys(CONFIG_KEYS).sort());
        for (const [key, property] of Object.entries<any>(component.inputProperties)) {
            assert.ok(property.description?.length > 10, `${key} has a description`);
        }
    });

    it("describes every field of the arguments' and outputs' types, and every enum member", () => {
        const undocumented: string[] = [];
        for (const [token, type] of Object.entries<any>(schema.types)) {
            for (const [field, property] of Object.entries<any>(type.properties ?? {})) {
                if (!property.description) {
                    undocumented.push(`${token}.${field}`);
                }
            }
        }
        // The Kubernetes resource requirements are the kubernetes SDK's own type, documented there.
        assert.deepEqual(
            undocumented.filter((f) => !/:(ResourceRequirements|ResourceClaim)\./.test(f)),
            [],
        );
    });

    it("takes the kubeconfig as a secret string", () => {
        assert.equal(component.inputProperties.kubeconfig.type, "string");
        assert.equal(component.inputProperties.kubeconfig.secret, true);
        for (const [key, property] of Object.entries<any>(component.inputProperties)) {
            assert.equal(property.secret === true, key === "kubeconfig", `${key}: secret only for the kubeconfig`);
        }
    });

    it("spells choices as enums", () => {
        const enumValues = (name: string) =>
            schema.types[`${PACKAGE_NAME}:index:${name}`].enum.map((e: any) => e.value);
        assert.deepEqual(enumValues("VerificationMode").sort(), ["cluster", "local"]);
        assert.deepEqual(enumValues("EtcdTopology").sort(), ["external", "stacked"]);
        assert.deepEqual(enumValues("ReaderKind").sort(), ["Group", "ServiceAccount", "User"]);
        assert.equal(schema.types[`${PACKAGE_NAME}:index:VerifyOptions`].properties.mode.$ref, ref("VerificationMode"));
        assert.deepEqual(enumValues("TlsPhase").sort(), ["bundle published", "moved to the new CA", "single CA"]);
    });

    it("types every output", () => {
        const outputs = Object.fromEntries(
            Object.entries<any>(component.properties).map(([key, { description: _d, ...type }]) => [key, type]),
        );
        assert.deepEqual(outputs, {
            namespace: { type: "string" },
            endpoints: { type: "array", items: { $ref: ref("EndpointInfo") } },
            readerRoleName: { type: "string" },
            caCertificate: { type: "string" },
            tlsServerName: { type: "string" },
            scrapeConfig: { type: "string" },
            tlsRenewal: { $ref: ref("TlsForecast") },
            alertRules: { type: "string" },
            verificationPlan: { $ref: ref("VerificationPlan") },
            verificationReport: { type: "string", optional: true },
            daemonSets: {
                type: "array",
                items: { $ref: "/kubernetes/v4.25.0/schema.json#/resources/kubernetes:apps%2Fv1:DaemonSet" },
            },
        });
        for (const [key, property] of Object.entries<any>(component.properties)) {
            assert.ok(property.description, `output ${key} has a description`);
        }
    });
});
