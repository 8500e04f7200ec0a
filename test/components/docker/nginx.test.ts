import { describe, expect, it } from "vitest";
import { parseReadBack } from "../../../components/docker/providers/nginx";

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
