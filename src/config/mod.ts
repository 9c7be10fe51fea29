/** Configuration: TOML with Postfix parameter names and meanings. */
export { Config, type ServiceSpec } from "./config.ts";
export { findLine, loadConfig, parseConfig } from "./load.ts";
export { defaultValue, PARAMETERS, type ParamKind, type ParamSpec } from "./parameters.ts";
export { parseBool, parseTime, splitList } from "./values.ts";
