import { describe, expect, it, vi } from "vitest";
import { execOutput } from "../../../components/docker/cli";
import { parseReadBack, proxyReadBack, readProxyAhead } from "../../../components/docker/providers/nginx";

vi.mock("../../../components/docker/cli", async (original) => ({
    ...(await original<typeof import("../../../components/docker/cli")>()),
    // Each exec answers with its own number, so a test sees which exec a part's answer came from.
    execOutput: vi.fn(async () => `upstream\n#routes\nexec ${vi.mocked(execOutput).mock.calls.length}\n#site\nsite\n`),
}));

describe("the proxy's read-back", () => {
    const file = "server shop-1:8080 max_fails=1 fail_timeout=2s;\n";
    const answer = (id: string) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n${id}\n`;

    it("splits one exec's output into the upstream file and the two answers", () => {
        expect(parseReadBack(`${file}#routes\n${answer("r1")}#site\n${answer("s1")}`)).toEqual({ upstreamFile: file, routes: answer("r1"), site: answer("s1") });
    });

    it("a file without its last line break still splits", () => {
        expect(parseReadBack(`server a:1 max_fails=1;#routes\n${answer("r1")}#site\n`)).toEqual({ upstreamFile: "server a:1 max_fails=1;", routes: answer("r1"), site: "" });
    });

    it("an answer cut short leaves what it did not reach undefined", () => {
        expect(parseReadBack(file)).toEqual({ upstreamFile: file, routes: undefined, site: undefined });
        expect(parseReadBack(`${file}#routes\n${answer("r1")}`)).toEqual({ upstreamFile: file, routes: answer("r1"), site: undefined });
    });
});

describe("one read-back for a proxy's routes and site", () => {
    const execs = () => vi.mocked(execOutput).mock.calls.length;

    it("read ahead by the proxy container's diff, it answers both parts; a part asking again reads afresh", async () => {
        const before = execs();
        readProxyAhead("", "proxy-a");
        expect((await proxyReadBack("", "proxy-a", "site")).routes).toBe(`exec ${before + 1}\n`);
        expect((await proxyReadBack("", "proxy-a", "routes")).routes).toBe(`exec ${before + 1}\n`);
        expect(execs()).toBe(before + 1);
        expect((await proxyReadBack("", "proxy-a", "routes")).routes).toBe(`exec ${before + 2}\n`);
    });

    it("without a read ahead, the first part to ask reads for the other too; each proxy has its own", async () => {
        const before = execs();
        const site = await proxyReadBack("ssh://deploy@h1", "proxy-b", "site");
        const otherProxy = await proxyReadBack("", "proxy-b", "routes");
        const routes = await proxyReadBack("ssh://deploy@h1", "proxy-b", "routes");
        expect(routes).toBe(site);
        expect(otherProxy.routes).toBe(`exec ${before + 2}\n`);
        expect(execs()).toBe(before + 2);
    });
});
