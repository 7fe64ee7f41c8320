/** Every haproxy.cfg the stack can render is accepted by the real haproxy (`haproxy -c`). */
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMPONENT_NAMES, componentsFor, kubeRbacProxyHost, NODE_ROLES } from "../../core/catalogue";
import { HAPROXY_PEM_FILE, renderHaproxyConfig, TLS_DIR } from "../../components/haproxy";
import { resolveSettings } from "../../config/settings";
import { issueProxyCertificate } from "../../components/tls";
import { mountScratch } from "../support/sandbox";

function haproxyCheck(file: string): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
        execFile(
            "haproxy",
            ["-c", "-f", file],
            { env: { ...process.env, NODE_IP: "127.0.0.2" } },
            (error, stdout, stderr) => {
                resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
            },
        );
    });
}

describe("haproxy -c on every rendered config", function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-haproxy-c-"));

    before(async () => {
        mountScratch(TLS_DIR);
        const issued = await issueProxyCertificate({ serverName: "eksa-metrics-metrics-proxy", validityDays: 2 });
        fs.writeFileSync(path.join(TLS_DIR, HAPROXY_PEM_FILE), issued.certificate + issued.privateKey);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    // Every on/off combination of the components, stacked and external etcd, both node roles.
    const permutations: { label: string; components: Record<string, boolean>; external: boolean }[] = [];
    for (let mask = 1; mask < 1 << COMPONENT_NAMES.length; mask++) {
        const components = Object.fromEntries(COMPONENT_NAMES.map((name, i) => [name, (mask & (1 << i)) !== 0]));
        for (const external of [false, true]) {
            permutations.push({
                label: `${COMPONENT_NAMES.filter((_, i) => mask & (1 << i)).join("+")}${external ? " (external etcd)" : ""}`,
                components,
                external,
            });
        }
    }

    it("accepts all of them, for both node roles and several timeouts and health ports", async () => {
        let checked = 0;
        for (const p of permutations) {
            let settings;
            try {
                settings = resolveSettings({
                    components: p.components,
                    etcd: p.external ? { topology: "external", endpoints: ["https://10.0.0.9:2379"] } : undefined,
                    serverTimeoutSeconds: 10 + (checked % 3) * 25,
                    healthPort: 10263 + (checked % 2),
                });
            } catch {
                continue; // only etcd on, with an external etcd: rejected by the settings (tested there)
            }
            for (const role of NODE_ROLES) {
                const components = componentsFor(role, settings.components);
                if (components.length === 0) {
                    continue; // no pod on these nodes
                }
                const file = path.join(dir, `${checked}.cfg`);
                fs.writeFileSync(
                    file,
                    renderHaproxyConfig({
                        components,
                        kubeRbacProxyHost: kubeRbacProxyHost(`${checked}`),
                        healthPort: settings.healthPort,
                        serverTimeoutSeconds: settings.serverTimeoutSeconds,
                        description: `${p.label} on ${role}`,
                    }),
                );
                const { code, output } = await haproxyCheck(file);
                assert.equal(code, 0, `${p.label} on ${role} nodes:\n${output}`);
                assert.match(output, /Configuration file is valid/);
                checked++;
            }
        }
        // Stacked etcd: 15 combinations on control-plane nodes, the 8 with kube-proxy on workers; external etcd: the
        // same minus the rejected one (etcd alone) on control-plane nodes.
        assert.equal(checked, 15 + 8 + 14 + 8);
    });

    it("fails a config haproxy cannot load (the check can fail)", async () => {
        const file = path.join(dir, "broken.cfg");
        fs.writeFileSync(file, 'frontend x\n    bind "${NODE_IP}:10257" ssl crt /nonexistent.pem\n');
        const { code, output } = await haproxyCheck(file);
        assert.notEqual(code, 0);
        assert.match(output, /nonexistent\.pem/);
    });
});
