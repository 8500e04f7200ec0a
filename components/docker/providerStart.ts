// Only modules the language host has already loaded: the whole of @pulumi/pulumi would take ~0.5 s more first.
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";

/**
 * Asks the engine to start the plugin that serves berth's Docker resources (Pulumi's Node.js dynamic provider) now,
 * while the program is still loading, instead of when the program registers its first resource. The engine starts a
 * package's default provider the first time anything needs it, and an invoke of one of that package's functions
 * does: the provider answers "unknown function" and that answer is ignored; it is the start that counts. Saves the
 * plugin's start (~1 s: a second Node.js process loading @pulumi/pulumi) on every run, `preview` included.
 *
 * The request is the one every berth resource implies: package `pulumi-nodejs`, no version, so the engine's default
 * provider for it is the same one the resources use (no second plugin, nothing new in state).
 */
export async function startDockerProviderEarly(): Promise<void> {
    const monitor = getMonitor();
    if (!monitor) return; // unit tests' mocks: there is no engine to ask
    const request = new resproto.ResourceInvokeRequest();
    request.setTok("pulumi-nodejs:dynamic:start");
    request.setArgs(structproto.Struct.fromJavaScript({}));
    request.setAcceptresources(true);
    monitor.invoke(request, () => undefined);
    // The call is written to the engine's connection on the next turn of the event loop; let it go out before the
    // program's modules are loaded, which holds the loop for a second.
    await new Promise((resolve) => setImmediate(resolve));
}
