// The linter the tests run (test/run.sh): typescript-eslint's recommended rules, no type information
// (fast), over the product, the harness and the tests.
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["**/node_modules/**", "**/*.js"] },
    ...tseslint.configs.recommended,
    {
        rules: {
            // Kubernetes objects and the engine's JSON are untyped data here; tsc's strict mode guards the rest.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
        },
    },
);
