// Wiring only: typed config in, components out. See components/ for the logic.
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "./components/config";
import { Environment } from "./components/environment";

const config = new pulumi.Config("berth");
const stack = pulumi.getStack();
const settings = parseSettings((key) => config.get(key));

const environment = new Environment(stack, {
    stack,
    settings,
    projectDir: __dirname,
    registryPassword: config.requireSecret("registryPassword"),
    postgresPassword: config.requireSecret("postgresPassword"),
});

export const url = environment.url;
export const imageRef = environment.imageRef;
export const version = environment.version;
export const containers = environment.containers;
