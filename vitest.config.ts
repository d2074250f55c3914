import { defineConfig } from "vitest/config";

// Integration files each start their own PGlite (~800 MB, ~2 s) and s3rver, so keep the
// worker count at the machine's two cores and give slow starts room.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
