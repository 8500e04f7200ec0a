// The Pulumi program's entry point (Pulumi.yaml `main`): index.ts, loaded without type-checking on every run.
require("./tools/register-typescript").register();
module.exports = require("./index.ts");
