#!/usr/bin/env bash
# End-to-end check of the Pulumi toolchain, offline: in a scratch directory outside the repo
# (using the repo's node_modules), a TypeScript program with a dynamic resource is deployed to
# a file backend, a local policy pack must block a violating preview, and the stack is
# destroyed. Fails if any step fails or if the CLI's verbose log names an http(s) address.
# Needs dev/toolchain/setup.sh first. Takes about 20 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=env.sh
source "$here/env.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/eksa-metrics-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/prog" "$work/policy" "$work/state" "$work/pulumi-home"
export PULUMI_BACKEND_URL="file://$work/state" PULUMI_CONFIG_PASSPHRASE=smoke
# A PULUMI_HOME of its own (no workspace files or logs left in the shared one), with the
# shared one's installed plugins.
mkdir -p "$PULUMI_HOME/plugins"
ln -s "$PULUMI_HOME/plugins" "$work/pulumi-home/plugins"
export PULUMI_HOME="$work/pulumi-home"

ln -s "$repo/node_modules" "$work/prog/node_modules"
printf 'name: smoke\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n' >"$work/prog/Pulumi.yaml"
echo '{ "name": "smoke", "main": "index.ts" }' >"$work/prog/package.json"
cat >"$work/prog/index.ts" <<'EOF'
import * as pulumi from "@pulumi/pulumi";

class EchoProvider implements pulumi.dynamic.ResourceProvider {
    async create(inputs: any) {
        return { id: `echo-${inputs.message}`, outs: { message: inputs.message, length: inputs.message.length } };
    }
}
class Echo extends pulumi.dynamic.Resource {
    public readonly length!: pulumi.Output<number>;
    constructor(name: string, message: string) {
        super(new EchoProvider(), name, { message, length: undefined });
    }
}
export const length = new Echo("echo", new pulumi.Config().require("message")).length;
EOF

ln -s "$repo/policy/node_modules" "$work/policy/node_modules"
echo 'runtime: nodejs' >"$work/policy/PulumiPolicy.yaml"
echo '{ "name": "smoke-policy", "version": "0.0.1", "main": "index.ts" }' >"$work/policy/package.json"
cat >"$work/policy/index.ts" <<'EOF'
import { PolicyPack } from "@pulumi/policy";

new PolicyPack("smoke-policy", {
    policies: [{
        name: "short-messages",
        description: "echo messages are at most 5 characters",
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            if (args.type === "pulumi-nodejs:dynamic:Resource" && String(args.props.message).length > 5) {
                reportViolation(`message '${args.props.message}' is longer than 5 characters`);
            }
        },
    }],
});
EOF

step() { printf '[smoke] %s\n' "$*"; }
cd "$work/prog"
pulumi stack init smoke >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }
pulumi config set message hi

step "pulumi up (dynamic resource, policy pack)"
pulumi up --yes --policy-pack "$work/policy" -v=9 --logtostderr >"$work/up.log" 2>&1 ||
  { tail -n 40 "$work/up.log"; exit 1; }
[ "$(pulumi stack output length)" = 2 ] || { echo "[smoke] FAIL: stack output length is not 2"; exit 1; }
if grep -qE 'https?://' "$work/up.log"; then
  grep -oE 'https?://[^" ]+' "$work/up.log" | sort -u | head
  echo "[smoke] FAIL: the CLI's log names an http(s) address"
  exit 1
fi

step "pulumi preview with a violating value must fail"
pulumi config set message too-long
if pulumi preview --policy-pack "$work/policy" >"$work/preview.log" 2>&1; then
  echo "[smoke] FAIL: the mandatory policy did not block the preview"
  exit 1
fi
grep -q "longer than 5 characters" "$work/preview.log" || { tail -n 30 "$work/preview.log"; exit 1; }

step "pulumi destroy"
pulumi destroy --yes >"$work/destroy.log" 2>&1 || { tail -n 30 "$work/destroy.log"; exit 1; }
step "ok: $(pulumi version), language host $(pulumi-language-nodejs -version), node $(node --version)"
