import { describe, expect, it } from "vitest";
import { demultiplex } from "../../../components/docker/cli";

/** One frame of an exec's output as the engine sends it without a terminal. */
function frame(stream: 1 | 2, text: string): Buffer {
    const payload = Buffer.from(text, "utf8");
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
}

describe("an exec's output through the Engine API", () => {
    it("is split into standard output and error, frames of each joined in order", () => {
        const raw = Buffer.concat([frame(1, "server a:8080;\n"), frame(2, "warn\n"), frame(1, "#served\nid ✓\n"), frame(2, "")]);
        expect(demultiplex(raw)).toEqual({ stdout: "server a:8080;\n#served\nid ✓\n", stderr: "warn\n" });
    });

    it("is empty for no output, and ignores a frame cut short", () => {
        expect(demultiplex(Buffer.alloc(0))).toEqual({ stdout: "", stderr: "" });
        expect(demultiplex(Buffer.concat([frame(1, "whole"), frame(1, "cut").subarray(0, 6)]))).toEqual({ stdout: "whole", stderr: "" });
    });
});
