import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TestCertificate {
    certificate: string;
    privateKey: string;
}

/** A self-signed certificate (and its key) for `name` and 127.0.0.1, made with openssl, valid `days` days. */
export function selfSignedCertificate(name = "localhost", days = 30): TestCertificate {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-tls-"));
    try {
        execFileSync("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", String(days),
            "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name},IP:127.0.0.1`,
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
        ], { stdio: "ignore" });
        return { certificate: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"), privateKey: fs.readFileSync(path.join(dir, "key.pem"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
