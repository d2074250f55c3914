/**
 * The architecture rules (docs/architecture.md), checked by test/unit/architecture.test.ts on
 * every run of the suite. Type-only imports count: a cycle of types is still a cycle to read.
 */
const DOMAINS = "(analysis|artifacts|audit|auth|blobs|environments|gc|incidents|projects|rollouts|schemas|version-sets|webhooks)";

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "Modules form a tree of dependencies: a cycle (type imports included) means a port is declared in the wrong file.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-imports-nothing-of-ours",
      comment: "src/core holds the few types every layer shares; it depends on no other folder of ours.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: "^src/", pathNot: "^src/core/" },
    },
    {
      name: "http-not-to-domains",
      comment: "src/http is the shared middleware: it names ports (http/token-lookup.ts), never a domain folder.",
      severity: "error",
      from: { path: "^src/http/" },
      to: { path: `^src/${DOMAINS}/` },
    },
    {
      name: "domains-not-to-http",
      comment: "Only a domain's routes file (and the HTTP adapters beside it) speaks HTTP; services and stores never import src/http.",
      severity: "error",
      from: { path: `^src/${DOMAINS}/`, pathNot: `^src/${DOMAINS}/([^/]*routes|sse|watch|resolve-response)\\.ts$` },
      to: { path: "^src/http/" },
    },
    {
      name: "no-other-domains-stores",
      comment: "A store queries its own domain's tables, and nothing in a domain imports another domain's store: another domain's data comes through that domain's port (only app.ts wires stores).",
      severity: "error",
      from: { path: `^src/${DOMAINS}/` },
      to: { path: `^src/${DOMAINS}/[^/]*store\\.ts$`, pathNot: "^src/$1/" },
    },
    {
      name: "client-and-cli-not-to-server",
      comment: "The SDK and the CLI ship to users: they talk HTTP, they never import server code.",
      severity: "error",
      from: { path: "^src/(client|cli)/" },
      to: { path: "^src/", pathNot: "^src/(client|cli)/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    moduleSystems: ["es6", "cjs"],
  },
};
