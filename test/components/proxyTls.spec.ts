import { strict as assert } from "assert";
import { FAKE_CERTIFICATE } from "../support/fakeCertificate";
import { only, registerUnder, valueOf } from "../support/mockEngine";
import * as pulumi from "@pulumi/pulumi";
import { resolveSettings } from "../../config/settings";
import { registerProxyTls } from "../../components/proxyTls";

describe("registerProxyTls", function () {
    this.timeout(20_000);

    it("runs the certificate command on create and update with the policy and the renewal period, its output secret", async () => {
        const settings = resolveSettings({ tls: { serverName: "proxy.example.internal", validityDays: 90 } });
        const { children } = await registerUnder((opts) => registerProxyTls("metrics", settings, "ns", opts));
        const issuing = only(children, "command:local:Command", "metrics-certificate");
        assert.match(
            issuing.props.create,
            /^node --require ts-node\/register\/transpile-only \S*components\/issueCertificate\.ts$/,
        );
        // An update hands the command its stored state (the CA's key with it).
        assert.equal(issuing.props.update, issuing.props.create);
        assert.deepEqual(issuing.props.environment, {
            SERVER_NAME: "proxy.example.internal",
            VALIDITY_DAYS: "90",
            CA_VALIDITY_DAYS: "3650",
            PERIOD: issuing.props.environment.PERIOD,
        });
        assert.match(issuing.props.environment.PERIOD, /^60d#\d+$/, "the period, not the time");
        assert.equal(issuing.props.triggers, undefined);
        assert.deepEqual(issuing.opts.ignoreChanges, ["triggers"], "a stack of the previous version updates");
        assert.equal(issuing.props.logging, "none");
        assert.deepEqual(issuing.opts.additionalSecretOutputs, ["stdout", "stderr"]);
    });

    it("puts the serving certificate, key, signing CA and haproxy's bundle in an immutable TLS Secret; publishes the bundle and dates plainly", async () => {
        const { result, children } = await registerUnder((opts) =>
            registerProxyTls("metrics", resolveSettings({}), pulumi.output("obs"), opts),
        );
        const { serving, cas } = FAKE_CERTIFICATE;
        const secret = only(children, "kubernetes:core/v1:Secret", "metrics-tls");
        assert.equal(secret.props.metadata.namespace, "obs");
        assert.equal(secret.props.type, "kubernetes.io/tls");
        assert.equal(secret.props.immutable, true);
        assert.deepEqual(secret.props.stringData, {
            "tls.crt": serving.certificate,
            "tls.key": serving.privateKey,
            "ca.crt": cas[0].certificate,
            "haproxy.pem": `${serving.certificate}${serving.privateKey}`,
        });
        assert.equal(await valueOf(result.caCertificate), cas[0].certificate);
        const published: pulumi.Output<unknown>[] = [
            result.caCertificate,
            result.view,
            result.renewal,
            result.alertInput,
        ];
        for (const output of published) {
            assert.equal(await pulumi.isSecret(output), false);
            assert.doesNotMatch(JSON.stringify(await valueOf(output)), /KEY-PEM/);
        }
        assert.deepEqual(await valueOf(result.alertInput), {
            certificate: { serverName: "eksa-metrics-metrics-proxy", notAfter: serving.notAfter, validityDays: 90 },
            ca: { notAfter: cas[0].notAfter, warningDays: 210 },
        });
        assert.equal((await valueOf(result.renewal)).phase, "single CA");
    });
});
