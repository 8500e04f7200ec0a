import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // Integration tests drive one real Docker engine; running them side by side on 2 cores only adds noise.
        fileParallelism: false,
        pool: "forks",
        globalSetup: ["test/hostPool.ts"],
        testTimeout: 15 * 60_000,
        hookTimeout: 15 * 60_000,
    },
});
