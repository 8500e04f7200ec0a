import { execFileSync } from "child_process";
import { promises as dns } from "dns";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { projectRoot } from "./harness";

const hosts = (...args: string[]) => execFileSync("bash", [path.join(projectRoot, "scripts/hosts.sh"), ...args], { encoding: "utf8" }).trim();
const dockerAt = (engine: string, ...args: string[]) => execFileSync("docker", ["--host", engine, ...args], { encoding: "utf8", timeout: 60_000 }).trim();
const sshTo = (address: string, ...options: string[]) =>
    // A fresh connection (ControlPath=none: no reuse of a multiplexed one), so each check is a real handshake.
    execFileSync("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ControlPath=none", ...options, `deploy@${address}`, "true"], { encoding: "utf8", stdio: "pipe" });
const namespaces = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith("berth-h"));

/** `npm run hosts`: local machines that behave like servers, each reached over SSH with its own Docker engine. */
describe("test hosts", () => {
    afterAll(() => {
        hosts("down");
    });

    it("`up 2` makes two hosts, each with its own engine behind key-only SSH, and prints their addresses", () => {
        const engines = hosts("up", "2").split("\n").slice(-2);
        expect(engines).toEqual(["ssh://deploy@192.168.240.11", "ssh://deploy@192.168.240.12"]);
        const seen = engines.map((engine) => JSON.parse(dockerAt(engine, "info", "--format", "{{json .}}")));
        expect(seen.map((info) => info.Name)).toEqual(["h1", "h2"]);
        expect(new Set(seen.map((info) => info.DockerRootDir)).size).toBe(2);
        expect(seen.every((info) => info.LiveRestoreEnabled)).toBe(true);
        // A container on one host is not on the other, and its published port answers at that host's address.
        dockerAt(engines[0], "network", "create", "only-on-h1");
        expect(dockerAt(engines[1], "network", "ls", "--format", "{{.Name}}")).not.toContain("only-on-h1");
        dockerAt(engines[0], "network", "rm", "only-on-h1");
    });

    it("refuses another key and an unknown host key (no StrictHostKeyChecking=no anywhere)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-ssh-"));
        try {
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "other")]);
            // Without the user's config (which names berth's key), offering only another key.
            const knownHosts = path.join(os.homedir(), ".ssh", "berth_known_hosts");
            expect(() => sshTo("192.168.240.11", "-F", "/dev/null", "-i", path.join(dir, "other"), "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`))
                .toThrow(/Permission denied/);
            expect(() => sshTo("192.168.240.11", "-o", `UserKnownHostsFile=${path.join(dir, "empty")}`)).toThrow(/Host key verification failed/);
            expect(sshTo("192.168.240.11")).toBe("");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("`up --acme` adds pebble and its DNS on a host of their own: names resolve to h1 unless `dns` says otherwise", async () => {
        const lines = hosts("up", "2", "--acme").split("\n");
        expect(lines.slice(-4, -2)).toEqual(["acme: https://192.168.240.3:14000/dir", `acme-roots: ${path.join(os.homedir(), ".cache/berth/hosts/acme/roots.pem")}`]);
        expect(fs.readFileSync(lines.at(-3)!.slice("acme-roots: ".length), "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
        // The directory, over TLS that the hosts' CA vouches for.
        const ca = fs.readFileSync(path.join(os.homedir(), ".cache/berth/hosts/registry/tls/ca.crt"), "utf8");
        const directory = await new Promise<any>((resolve, reject) => https.get("https://192.168.240.3:14000/dir", { ca, headers: { "user-agent": "berth-test" } }, (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk)).on("end", () => resolve(JSON.parse(body)));
        }).on("error", reject));
        expect(directory.newOrder).toBe("https://192.168.240.3:14000/order-plz");
        const resolver = new dns.Resolver();
        resolver.setServers(["192.168.240.3:8053"]);
        expect(await resolver.resolve4("shop.test")).toEqual(["192.168.240.11"]);
        hosts("dns", "login-page.staging.shop.test", "h2");
        expect(await resolver.resolve4("login-page.staging.shop.test")).toEqual(["192.168.240.12"]);
        expect(await resolver.resolve4("shop.test")).toEqual(["192.168.240.11"]);
        expect(() => hosts("dns", "x.test", "nowhere")).toThrow(/not a test host or an IPv4 address: nowhere/);
    });

    it("`up 1` removes the extra host; a killed host is rebuilt; `down` leaves nothing", () => {
        hosts("up", "1");
        expect(namespaces()).toEqual(["berth-h1"]);
        const pids = fs.readFileSync(path.join(os.homedir(), ".cache/berth/hosts/h1/pids"), "utf8").split("\n").filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), "SIGKILL");
        expect(hosts("up", "1").split("\n").at(-1)).toBe("ssh://deploy@192.168.240.11");
        expect(dockerAt("ssh://deploy@192.168.240.11", "info", "--format", "{{.Name}}")).toBe("h1");
        hosts("down");
        expect(namespaces()).toEqual([]);
        expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain("berth-acme");
        expect(fs.readFileSync("/proc/mounts", "utf8")).not.toContain("/berth/hosts/");
    });
});
