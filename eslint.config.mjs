// The linter the tests run (test/run.sh): typescript-eslint's recommended rules, no type information
// (fast), over the product, the harness and the tests, plus the layer rule below.
import path from "node:path";
import tseslint from "typescript-eslint";

/**
 * The product's layers, lowest first: a file may import its own layer and the layers below it, never
 * one above (DEVELOPMENT.md, "Layers"). The policy pack is published on its own and may import only the
 * core; the harness (dev/) may import any product layer but not the tests; the tests may import anything.
 */
const LAYERS = ["core", "config", "cluster", "verify", "components", "program", "fleet"];
const ALLOWED = {
    policy: ["policy", "core"],
    dev: ["dev", ...LAYERS],
    test: ["test", "dev", "policy", ...LAYERS],
};
const root = path.dirname(new URL(import.meta.url).pathname);

/** The layer a repository path belongs to; index.ts is the program. */
function layerOf(file) {
    const rel = path.relative(root, file).split(path.sep);
    if (rel.length === 1) {
        return rel[0] === "index.ts" ? "program" : undefined;
    }
    return rel[0] in ALLOWED || LAYERS.includes(rel[0]) ? rel[0] : undefined;
}

function allowed(from, to) {
    if (from in ALLOWED) {
        return ALLOWED[from].includes(to);
    }
    return LAYERS.indexOf(to) <= LAYERS.indexOf(from);
}

const importsDownward = {
    meta: {
        type: "problem",
        messages: {
            upward: "{{from}}/ may not import {{to}}/ ({{spec}}): imports go only to lower layers (eslint.config.mjs LAYERS)",
        },
    },
    create(context) {
        const from = layerOf(context.filename);
        function check(node, source) {
            if (!from || !source || typeof source.value !== "string" || !source.value.startsWith(".")) {
                return;
            }
            const to = layerOf(path.resolve(path.dirname(context.filename), source.value));
            if (to && to !== from && !allowed(from, to)) {
                context.report({ node, messageId: "upward", data: { from, to, spec: source.value } });
            }
        }
        return {
            ImportDeclaration: (node) => check(node, node.source),
            ExportNamedDeclaration: (node) => check(node, node.source),
            ExportAllDeclaration: (node) => check(node, node.source),
            ImportExpression: (node) => check(node, node.source),
            CallExpression: (node) =>
                node.callee.type === "Identifier" && node.callee.name === "require" && check(node, node.arguments[0]),
        };
    },
};

export default tseslint.config(
    { ignores: ["**/node_modules/**", "**/*.js", "**/dist/**"] },
    ...tseslint.configs.recommended,
    {
        plugins: { layers: { rules: { "imports-downward": importsDownward } } },
        rules: {
            "layers/imports-downward": "error",
            // Kubernetes objects and the engine's JSON are untyped data here; tsc's strict mode guards the rest.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
            ],
        },
    },
);
