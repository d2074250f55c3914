import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config.js";
import { REPO_ROOT } from "../support/spawn-server.js";

/** No Docker engine runs here, so the compose file and Dockerfile are checked for what they wire. */
describe("docker-compose.yml and Dockerfile", () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, "docker-compose.yml"), "utf8"));

  it("wires Pinset to the compose Postgres and to MinIO with the bucket the setup job creates", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["create-bucket", "minio", "pinset", "postgres"]);
    const env = compose.services.pinset.environment as Record<string, string>;
    const config = loadConfig(env);
    expect(new URL(config.databaseUrl!).hostname).toBe("postgres");
    expect(config.s3).toMatchObject({ bucket: "pinset-blobs", endpoint: "http://minio:9000", forcePathStyle: true });
    expect(compose.services["create-bucket"].entrypoint).toContain(`local/${config.s3!.bucket}`);
    expect(compose.services.pinset.depends_on.postgres.condition).toBe("service_healthy");
    expect(compose.services.pinset.depends_on["create-bucket"].condition).toBe("service_completed_successfully");
  });

  it("copies only paths that exist and runs the compiled registry (test/e2e/dockerfile.e2e.test.ts runs every step)", () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8");
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copies.length).toBeGreaterThan(3);
    for (const source of copies) expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/^(CMD|ENTRYPOINT|HEALTHCHECK).*tsx/m);
  });
});
