import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SWEEP_EVERY_RELEASES } from "../../components/docker/providers/releaseHistory";
import { appCopy, docker, ThrowawayStack, throwawayStack } from "./harness";

/** Images a stack built that are still on the engine, and their total size. */
function builtImages(stackName: string): { ids: string[]; bytes: number } {
    const ids = [...new Set(docker("image", "ls", "-q", "--no-trunc", "--filter", `label=berth.built-by=${stackName}`).split("\n").filter(Boolean))];
    const bytes = ids.length ? docker("image", "inspect", "--format", "{{.Size}}", ...ids).split("\n").map(Number).reduce((a, b) => a + b, 0) : 0;
    return { ids, bytes };
}

// 8 releases with keepReleases 3: pruning has removed 4 builds by the end, and a sweep (the first release, then
// every SWEEP_EVERY_RELEASES-th) an image the stack built that never became a release. The bench runs 20 more.
const RELEASES = 8;

/** An image labelled as the stack's build that no release names (what a deploy that failed after its build leaves). */
function unreleasedBuild(stackName: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-unreleased-"));
    try {
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM debian:bookworm-slim\n");
        docker("build", "-q", "--label", `berth.built-by=${stackName}`, "--label", `berth.unreleased=${dir}`, dir);
        return docker("image", "ls", "-q", "--no-trunc", "--filter", `label=berth.unreleased=${dir}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe(`cleanup: ${RELEASES} releases leave only what rollback needs`, () => {
    let stack: ThrowawayStack;
    let neighbour: ThrowawayStack;
    const context = appCopy();
    const neighbourContext = appCopy();

    beforeAll(async () => {
        neighbour = await throwawayStack({ appContext: neighbourContext, keepReleases: "1" });
        for (const release of [1, 2]) {
            fs.appendFileSync(path.join(neighbourContext, "server.js"), `\n// neighbour release ${release}\n`);
            await neighbour.stack.up({ color: "never" });
        }
        stack = await throwawayStack({ appContext: context, keepReleases: "3" });
    });
    afterAll(async () => {
        await stack?.remove();
        await neighbour?.remove();
        fs.rmSync(context, { recursive: true, force: true });
        fs.rmSync(neighbourContext, { recursive: true, force: true });
    });

    it("keeps the current and 3 previous images, sweeps unreleased builds, leaves no exited containers, never touches another stack", async () => {
        expect(RELEASES).toBeGreaterThan(SWEEP_EVERY_RELEASES + 1); // a sweep comes after the unreleased build
        const neighbourImages = builtImages(neighbour.name).ids;
        expect(neighbourImages).toHaveLength(2);
        const refs: string[] = [];
        let peak = 0;
        let unreleased = "";
        for (let release = 1; release <= RELEASES; release++) {
            fs.appendFileSync(path.join(context, "server.js"), `\n// release ${release}\n`);
            const { outputs } = await stack.stack.up({ color: "never" });
            refs.push(outputs.imageRef.value);
            if (release === 1) unreleased = unreleasedBuild(stack.name);
            peak = Math.max(peak, builtImages(stack.name).ids.length);
            if (release > 1) expect(outputs.previousImageRef.value).toBe(refs[release - 2]);
        }
        const left = builtImages(stack.name);
        console.log(`after ${RELEASES} releases: ${left.ids.length} images (${(left.bytes / 1e6).toFixed(0)} MB) kept of ${RELEASES} built; peak ${peak}`);
        expect(left.ids).toHaveLength(4);
        expect(unreleased).toMatch(/^sha256:/);
        expect(left.ids).not.toContain(unreleased);
        const outputs = await stack.stack.outputs();
        expect(outputs.releases.value).toEqual(refs.slice(-4).reverse());
        for (const ref of outputs.releases.value) docker("image", "inspect", ref); // each kept release is still runnable
        expect(docker("ps", "-a", "--filter", `label=berth.stack=${stack.name}`, "--filter", "status=exited", "-q")).toBe("");
        expect(builtImages(neighbour.name).ids.sort()).toEqual(neighbourImages.sort());
    });
});
