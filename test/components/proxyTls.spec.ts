import { strict as assert } from "assert";
import { only, registerUnder, valueOf } from "../support/mockEngine";
import * as pulumi from "@pulumi/pulumi";
import { resolveSettings } from "../../config/settings";
import { registerProxyTls } from "../../components/proxyTls";
import { renewalEpoch } from "../../components/tls";

describe("registerProxyTls", function () {
    this.timeout(20_000);

    it("issues the certificate for the server name and validity, re-issued each renewal period, its output secret", async () => {
        const settings = resolveSettings({ tls: { serverName: "proxy.example.internal", validityDays: 90 } });
        const { children } = await registerUnder((opts) => registerProxyTls("metrics", settings, "ns", opts));
        const issuing = only(children, "command:local:Command", "metrics-certificate");
        assert.match(
            issuing.props.create,
            /^node --require ts-node\/register\/transpile-only \S*components\/issueCertificate\.ts$/,
        );
        assert.deepEqual(issuing.props.environment, { SERVER_NAME: "proxy.example.internal", VALIDITY_DAYS: "90" });
        assert.deepEqual(issuing.props.triggers, [renewalEpoch(90)]);
        assert.equal(issuing.props.logging, "none");
        assert.deepEqual(issuing.opts.additionalSecretOutputs, ["stdout", "stderr"]);
    });

    it("puts the issued certificate, key, CA and haproxy's bundle in an immutable TLS Secret; the certificate stays secret", async () => {
        const { result, children } = await registerUnder((opts) =>
            registerProxyTls("metrics", resolveSettings({}), pulumi.output("obs"), opts),
        );
        const issued = await valueOf(result.certificate);
        const secret = only(children, "kubernetes:core/v1:Secret", "metrics-tls");
        assert.equal(secret.props.metadata.namespace, "obs");
        assert.equal(secret.props.type, "kubernetes.io/tls");
        assert.equal(secret.props.immutable, true);
        assert.deepEqual(secret.props.stringData, {
            "tls.crt": issued.certificate,
            "tls.key": issued.privateKey,
            "ca.crt": issued.caCertificate,
            "haproxy.pem": `${issued.certificate}${issued.privateKey}`,
        });
        assert.equal(await pulumi.isSecret(result.certificate), true, "the key inside is private");
    });
});
