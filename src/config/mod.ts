/** Configuration: TOML with Postfix parameter names and meanings. */
export { Config, type ServiceSpec } from "./config.ts";
export { findLine, loadConfig, parseConfig } from "./load.ts";
export {
  defaultValue,
  type Feedback,
  PARAMETERS,
  type ParamKind,
  type ParamSpec,
  parseFeedback,
} from "./parameters.ts";
export { parseBool, parseTime, splitList } from "./values.ts";
export {
  BUILTIN_TRANSPORTS,
  DELIVERY_COMMANDS,
  isDeliveryService,
  PER_TRANSPORT_DEFAULTS,
  PER_TRANSPORT_SUFFIXES,
  perTransportName,
  splitPerTransport,
  transportNames,
} from "./per_transport.ts";
