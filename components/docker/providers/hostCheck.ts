import * as pulumi from "@pulumi/pulumi";
import { DockerHost, engineVersion } from "../cli";
import { RegistryLogin, withRegistryLogin } from "./image";

export interface HostCheckInputs {
    host: DockerHost;
    /** The registry the host pulls from: its engine must reach it, trust its certificate and accept the login. */
    registry?: RegistryLogin;
}

/**
 * What a host needs before anything changes on any host: SSH login with a known host key, a Docker engine the
 * user may use, and the stack's registry reachable and trusted from that engine. Failures name the host and the
 * fix (DockerError's hints).
 */
async function check(inputs: HostCheckInputs): Promise<{ serverVersion: string }> {
    const serverVersion = await engineVersion(inputs.host, 60_000);
    // `docker login` is answered by the host's engine, which contacts the registry itself: reach, TLS trust, password.
    if (inputs.registry) await withRegistryLogin(inputs.host, inputs.registry, async () => undefined);
    return { serverVersion };
}

/** Checked at every preview and `up` (in diff): a host that broke since the last run is caught before any change. */
export const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HostCheckInputs) {
        return { id: inputs.host, outs: { host: inputs.host, ...(await check(inputs)) } };
    },
    async diff(_id: string, olds: { host: string; serverVersion: string }, news: HostCheckInputs) {
        const { serverVersion } = await check(news);
        return { changes: olds.host !== news.host || olds.serverVersion !== serverVersion };
    },
    async update(_id: string, _olds: unknown, news: HostCheckInputs) {
        return { outs: { host: news.host, ...(await check(news)) } };
    },
    async read(id: string, props: unknown) {
        return { id, props };
    },
    async delete() {},
};
