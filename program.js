// The Pulumi program's entry point (Pulumi.yaml `main`): index.ts, loaded without type-checking on every run. The
// Docker resources' provider is asked for first, so that it starts while index.ts loads.
require("./tools/register-typescript").register();
module.exports = require("./components/docker/providerStart.ts").startDockerProviderEarly().then(() => require("./index.ts"));
