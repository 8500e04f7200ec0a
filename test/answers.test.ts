import { execFile } from "child_process";
import * as http from "http";
import * as path from "path";
import { promisify } from "util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = path.join(__dirname, "..", "scripts", "answers.js");

/** `npm start` prints the dev stack's URL only once scripts/answers.js saw a real answer from it. */
describe("scripts/answers.js", () => {
    let server: http.Server;
    let base: string;
    beforeAll(async () => {
        server = http.createServer((req, res) => {
            const status = Number(req.url!.slice(1)) || 200;
            res.writeHead(status).end();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => server.close());

    it("succeeds when the app answers, even with a 404", async () => {
        await expect(run("node", [script, `${base}/200`, "2"])).resolves.toBeTruthy();
        await expect(run("node", [script, `${base}/404`, "2"])).resolves.toBeTruthy();
    });

    it("fails with what it got when only the proxy answers (502/504) or nothing listens", async () => {
        await expect(run("node", [script, `${base}/504`, "1"])).rejects.toMatchObject({ code: 1, stdout: "HTTP 504\n" });
        server.close();
        await expect(run("node", [script, `${base}/200`, "1"])).rejects.toMatchObject({ code: 1, stdout: "ECONNREFUSED\n" });
    });
});
