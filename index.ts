// Wiring only: typed config in, components out. See components/ for the logic.
import * as pulumi from "@pulumi/pulumi";
import { isSecretConfig, loadSettings, readTestHosts, secretState } from "./components/config";
import { Environment } from "./components/environment";

const config = new pulumi.Config("berth");
const stack = pulumi.getStack();
// The secret variables' names only: their values are read as Pulumi secrets below, never as plain config.
const secretEnvNames = Object.keys(JSON.parse(pulumi.runtime.allConfig()["berth:secretEnv"] ?? "{}"));
// Validated before any resource exists: bad config fails preview, naming every problem, and changes nothing.
const settings = loadSettings({
    source: (key) => config.get(key),
    keys: Object.keys(pulumi.runtime.allConfig()).filter((key) => key.startsWith("berth:")).map((key) => key.slice("berth:".length)),
    secretState: (key) => secretState(config, key),
    projectDir: __dirname,
    secretEnvNames,
    testHosts: readTestHosts(),
    secretValue: (key) => pulumi.runtime.allConfig()[`berth:${key}`],
    stack,
    isSecret: (key) => isSecretConfig(config, key),
});

const environment = new Environment(stack, {
    stack,
    settings,
    projectDir: __dirname,
    secret: (key) => config.requireSecret(key),
    secretEnv: config.getSecretObject<Record<string, string>>("secretEnv") ?? pulumi.output({}),
});

export const url = environment.urls[0];
export const urls = environment.urls;
export const hostReleases = environment.hostReleases;
export const releaseCommandOutput = environment.releaseCommandOutput;
export const imageRef = environment.imageRef;
export const previousImageRef = environment.previousImageRef;
export const releases = environment.releases;
export const version = environment.version;
export const containers = environment.containers;
export const processes = environment.processes;
export const services = environment.services;
