import { spawnSync } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");

describe("remote-only setup (BERTH_SETUP=remote)", () => {
    it("never installs or starts a Docker engine: with none answering it says what to do and stops", () => {
        const run = spawnSync("bash", [path.join(root, "scripts/setup.sh"), "--remote"], {
            cwd: root, encoding: "utf8", timeout: 120_000, env: { ...process.env, DOCKER_HOST: "unix:///nonexistent/docker.sock" },
        });
        expect(run.status).toBe(1);
        expect(run.stdout + run.stderr).toContain("no Docker engine answers (DOCKER_HOST=unix:///nonexistent/docker.sock)");
        expect(run.stdout + run.stderr).toContain("Remote-only setup (BERTH_SETUP=remote) installs and starts none (that needs root)");
        expect(run.stdout + run.stderr).not.toMatch(/starting dockerd|apt-get|private registry|service images/);
    });
});
