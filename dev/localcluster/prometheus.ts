/** Running the real Prometheus (dev/toolchain/setup.sh prometheus) beside a local control plane: tests and benchmarks. */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export interface Job {
    job_name: string;
    kubernetes_sd_configs: Record<string, unknown>[];
    tls_config: Record<string, unknown>;
    authorization: Record<string, unknown>;
    [field: string]: unknown;
}

/** The scrapeConfig output's jobs as a Prometheus outside the cluster runs them: three paths, nothing else (README, "Outside the cluster"). */
export function outsideTheCluster(
    scrapeConfig: string,
    files: { kubeconfig: string; ca: string; token: string },
): Job[] {
    return (yaml.load(scrapeConfig) as { scrape_configs: Job[] }).scrape_configs.map((job) => ({
        ...job,
        kubernetes_sd_configs: job.kubernetes_sd_configs.map((sd) => ({ ...sd, kubeconfig_file: files.kubeconfig })),
        tls_config: { ...job.tls_config, ca_file: files.ca },
        authorization: { ...job.authorization, credentials_file: files.token },
    }));
}

/** Polls `check` until it returns without throwing, for at most `seconds`. */
export async function eventually<T>(seconds: number, check: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        try {
            return await check();
        } catch (err) {
            if (Date.now() > deadline) {
                throw err;
            }
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
}

/**
 * A Prometheus on `address` with its files in `dir`, ready when this returns; stop it with kill().
 * `binary` is `prometheus` unless a test needs the build whose TLS clock it moves (setup.sh).
 */
export async function startPrometheus(
    dir: string,
    config: unknown,
    address: string,
    { binary = "prometheus", env = process.env }: { binary?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildProcess> {
    fs.writeFileSync(path.join(dir, "prometheus.yml"), yaml.dump(config));
    const log = fs.openSync(path.join(dir, "prometheus.log"), "a");
    const child = spawn(
        binary,
        [
            `--config.file=${path.join(dir, "prometheus.yml")}`,
            `--storage.tsdb.path=${path.join(dir, "data")}`,
            `--web.listen-address=${address}`,
        ],
        { stdio: ["ignore", log, log], env },
    );
    await eventually(60, async () =>
        assert.equal(
            (await fetch(`http://${address}/-/ready`)).status,
            200,
            fs.readFileSync(path.join(dir, "prometheus.log"), "utf8"),
        ),
    );
    return child;
}

/** Prometheus' HTTP API at `base`: the `data` of a successful answer. */
export async function prometheusApi(base: string, query: string): Promise<any> {
    const body = (await (await fetch(`${base}${query}`)).json()) as { status: string; data: unknown };
    assert.equal(body.status, "success", `${query}: ${JSON.stringify(body)}`);
    return body.data;
}

export async function instantQuery(
    base: string,
    promql: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    return (await prometheusApi(base, `/api/v1/query?query=${encodeURIComponent(promql)}`)).result;
}
