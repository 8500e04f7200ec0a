import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanHosts, http, projectRoot, requireToolchain, testHosts } from "./harness";

/** A small app that is not the sample: Perl (what debian:bookworm-slim carries), no services, its own healthcheck. */
function perlApp(dir: string, options: { readsPort: boolean; healthcheck: boolean }): string {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "server.pl"), `use strict; use IO::Socket::INET;
my $port = ${options.readsPort ? "$ENV{PORT} || 5000" : "5000"};
my $server = IO::Socket::INET->new(LocalPort => $port, Listen => 16, ReuseAddr => 1, Proto => 'tcp') or die "listen $port: $!";
$| = 1; print "perl app on $port\\n";
while (my $c = $server->accept) {
    while (my $h = <$c>) { last if $h =~ /^\\r?\\n$/ }
    my $body = '{"version":"perl-1"}';
    print $c "HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: " . length($body) . "\\r\\nConnection: close\\r\\n\\r\\n$body";
    close $c;
}
`);
    fs.writeFileSync(path.join(dir, "Dockerfile"), [
        "FROM debian:bookworm-slim",
        "COPY server.pl /srv/server.pl",
        ...(options.healthcheck ? [`HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ENV{PORT}") or exit 1'`] : []),
        'CMD ["perl", "/srv/server.pl"]',
    ].join("\n") + "\n");
    return dir;
}

const init = (...args: string[]) => spawnSync("npm", ["run", "--silent", "init", "--", ...args], { cwd: projectRoot, encoding: "utf8", timeout: 600_000 });

/** `npm run init` for an app of its own, then the stack it wrote: preview, up on two test hosts, answers. */
describe("npm run init: your own app onto your own servers", () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "berth-init-"));
    const name = `init-${crypto.randomBytes(3).toString("hex")}`;
    const stackFile = path.join(projectRoot, `Pulumi.${name}.yaml`);
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "berth-state-"));
    let engines: string[];
    let stack: Stack | undefined;

    beforeAll(async () => {
        requireToolchain();
        engines = await testHosts(2);
    });
    afterAll(async () => {
        await stack?.destroy({ color: "never", excludeProtected: true }).catch(() => undefined);
        await stack?.workspace.removeStack(name, { force: true }).catch(() => undefined);
        if (engines) cleanHosts(engines, name);
        for (const file of [stackFile, path.join(projectRoot, `Pulumi.${name}-bad.yaml`)]) fs.rmSync(file, { force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
        fs.rmSync(backend, { recursive: true, force: true });
    });

    it("names what the image lacks: the port it listens on instead of PORT, and a missing healthcheck", () => {
        const bad = init("--stack", `${name}-bad`, "--app", "perlbad", "--context", perlApp(path.join(scratch, "bad"), { readsPort: false, healthcheck: false }));
        expect(bad.status, bad.stderr).toBe(1);
        expect(bad.stderr).toContain("it listens on 5000, not on PORT=8080: read the port from $PORT, or run init again with --port 5000");
        expect(bad.stderr).toContain("the image has no HEALTHCHECK");
        // Every bad option named at once, before anything is built.
        const usage = init("--stack", "x", "--app", "Perl_App", "--context", scratch, "--hosts", "ftp://h", "--services", "redis,mongo");
        expect(usage.status).toBe(2);
        for (const key of ["--app", "--hosts[0]", "--services[1]"]) expect(usage.stderr).toContain(`${key} = `);
    });

    it("writes a stack of the app's own (no services), which previews clean and serves on two test hosts", async () => {
        const app = perlApp(path.join(scratch, "good"), { readsPort: true, healthcheck: true });
        const made = init("--stack", name, "--app", "perlapp", "--context", app, "--hosts", engines.join(","));
        expect(made.status, made.stderr + made.stdout).toBe(0);
        expect(made.stdout).toContain("the image listens on PORT 8080 and its healthcheck passes");
        expect(made.stdout).toContain(`npm run pulumi -- stack init ${name}\n  npm run pulumi -- config set --secret berth:registryPassword --stack ${name}`);
        expect(fs.readFileSync(stackFile, "utf8")).toContain(`  berth:services: {}\n  berth:dependsOn: []\n  berth:hosts:\n    - "${engines[0]}"\n    - "${engines[1]}"\n  berth:replicas: 2\n  berth:bindAddress: "0.0.0.0"\n`);
        expect(init("--stack", name, "--app", "perlapp", "--context", app).stderr).toContain(`Pulumi.${name}.yaml exists already: --force writes it again`);

        // The next steps it printed, through the Automation API: the registry's secret, a port of its own on the hosts.
        const envVars = { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "integration-tests", PULUMI_CONFIG_PASSPHRASE_FILE: "", PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
        stack = await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: projectRoot }, { envVars });
        await stack.setConfig("berth:registryPassword", { value: fs.readFileSync(process.env.BERTH_REGISTRY_PASSWORD_FILE!, "utf8").trim(), secret: true });
        await stack.setConfig("berth:hostPort", { value: String(21000 + crypto.randomInt(8000)) });
        const preview = await stack.preview({ color: "never" });
        expect(Object.keys(preview.changeSummary)).toEqual(["create"]);
        const { outputs } = await stack.up({ color: "never" });
        expect(outputs.urls.value).toHaveLength(2);
        for (const url of outputs.urls.value as string[]) expect((await http("GET", `${url}/`)).json).toEqual({ version: "perl-1" });
        expect(outputs.services.value).toEqual({});
    });
});
