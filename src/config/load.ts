/**
 * Reads the TOML configuration and checks it: nothing is silently ignored.
 * An unknown key names the file, line and closest known name; a real Postfix
 * parameter facteur lacks says so; a bad value names what is allowed.
 */
import { parse, TomlError } from "smol-toml";
import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { Config, type ServiceSpec } from "./config.ts";
import { PARAMETERS, type ParamSpec } from "./parameters.ts";
import { POSTFIX_PARAMETER_NAMES } from "./postfix_names.ts";
import { closest } from "./closest.ts";
import { parseBool, parseInteger, parseTime } from "./values.ts";
import {
  DELIVERY_COMMANDS,
  PER_TRANSPORT_DEFAULTS,
  splitPerTransport,
  transportNames,
} from "./per_transport.ts";

/** Where a problem is: for ConfigError messages. */
type Where = { file?: string; line?: number; param?: string };

const SERVICE_FIELDS = ["type", "listen", "command", "process_limit", "enabled"] as const;
const COMMANDS = ["smtpd", "admin", "pop3d", ...DELIVERY_COMMANDS] as const;
const DEFAULT_COMMANDS: Record<string, string> = {
  smtp: "smtpd",
  submission: "smtpd",
  smtps: "smtpd",
  pop3: "pop3d",
};

/** The services a configuration without `[services]` gets: Postfix's master.cf smtp line. */
const DEFAULT_SERVICES: ServiceSpec[] = [
  {
    name: "smtp",
    type: "inet",
    listen: "25",
    command: "smtpd",
    overrides: {},
    enabled: true,
  },
];

export async function loadConfig(path: string): Promise<Config> {
  const file = resolve(path);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new ConfigError(`cannot read configuration: ${(e as Error).message}`, { file });
  }
  return parseConfig(text, file);
}

/** Parses and validates TOML text; `file` is used in messages and for relative paths. */
export function parseConfig(text: string, file?: string): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const line = e instanceof TomlError ? e.line : undefined;
    const msg = (e as Error).message.split("\n")[0];
    throw new ConfigError(`TOML syntax error: ${msg}`, { file, line });
  }
  const where = (table: string[], key: string) => ({
    file,
    line: findLine(text, table, key),
    param: key,
  });

  const values = new Map<string, string>();
  // Services first: they declare the transports that may prefix parameter names.
  const services = "services" in doc
    ? readServices(doc.services, (table, k) => where(table, k))
    : DEFAULT_SERVICES;
  const transports = transportNames(services);
  for (const [key, value] of Object.entries(doc)) {
    if (key === "services") continue;
    checkParameterName(key, where([], key), transports);
    values.set(key, toRaw(value, key, where([], key)));
  }

  const config = new Config(values, services, file);
  validate(config, (name) => where([], name));
  validatePerTransport(config, (name) => where([], name));
  for (const s of services) validate(config.forService(s), (n) => where(["services", s.name], n));
  return config;
}

function checkParameterName(key: string, at: Where, transports?: ReadonlySet<string>) {
  if (key in PARAMETERS) return;
  // postconf(5): <transport>_destination_concurrency_limit and friends, for a declared transport.
  const perTransport = transports && splitPerTransport(key);
  if (perTransport) {
    if (transports.has(perTransport.transport)) return;
    throw new ConfigError(
      `"${key}": no transport "${perTransport.transport}" is declared ` +
        `(declare [services.${perTransport.transport}] with type = "unix" and command = ` +
        `${DELIVERY_COMMANDS.map((c) => `"${c}"`).join(", ")}; or use ${
          PER_TRANSPORT_DEFAULTS[perTransport.suffix]
        })`,
      at,
    );
  }
  if (POSTFIX_PARAMETER_NAMES.has(key)) {
    throw new ConfigError(
      `"${key}" is a Postfix parameter that facteur does not implement yet ` +
        `(remove it; "facteur config -d" lists the supported parameters)`,
      at,
    );
  }
  const near = closest(key, Object.keys(PARAMETERS));
  throw new ConfigError(
    `unknown parameter "${key}"${near ? `; did you mean "${near}"?` : ""}`,
    at,
  );
}

/** TOML value → Postfix raw text: arrays join with ", ", booleans become yes/no. */
function toRaw(value: unknown, key: string, at: Where): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ");
  throw new ConfigError(
    `parameter "${key}" must be a string, a number, a boolean or an array of strings`,
    at,
  );
}

function readServices(
  value: unknown,
  where: (table: string[], key: string) => Where,
): ServiceSpec[] {
  if (!isTable(value)) {
    throw new ConfigError(
      "[services] must be a table of [services.NAME] tables",
      where([], "services"),
    );
  }
  return Object.entries(value).map(([name, body]) => {
    const at = (k: string) => where(["services", name], k);
    if (!isTable(body)) {
      throw new ConfigError(`[services.${name}] must be a table`, where(["services"], name));
    }
    const overrides: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) {
      if ((SERVICE_FIELDS as readonly string[]).includes(k)) continue;
      if (!(k in PARAMETERS) && !POSTFIX_PARAMETER_NAMES.has(k)) {
        const near = closest(k, [...SERVICE_FIELDS, ...Object.keys(PARAMETERS)]);
        throw new ConfigError(
          `unknown key "${k}" in [services.${name}]${near ? `; did you mean "${near}"?` : ""}`,
          at(k),
        );
      }
      checkParameterName(k, at(k));
      overrides[k] = toRaw(v, k, at(k));
    }
    const command = body.command ?? (DEFAULT_COMMANDS[name] ?? name);
    const delivery = (DELIVERY_COMMANDS as readonly unknown[]).includes(command);
    // master.cf: delivery agents are unix services qmgr talks to; listeners are inet.
    const type = body.type ?? (delivery ? "unix" : "inet");
    if (type !== "inet" && type !== "unix") {
      throw new ConfigError(
        `[services.${name}] type must be "inet" or "unix", not ${JSON.stringify(type)}`,
        at("type"),
      );
    }
    // master.cf: the smtp, submission and smtps services run smtpd.
    if (!(COMMANDS as readonly string[]).includes(String(command)) && body.command === undefined) {
      throw new ConfigError(
        `[services.${name}] has no command, and "${name}" is not a facteur daemon: add ` +
          `command = "smtpd" for an SMTP listener (or one of ${COMMANDS.join(", ")})`,
        where(["services"], name),
      );
    }
    if (!(COMMANDS as readonly string[]).includes(String(command))) {
      throw new ConfigError(
        `[services.${name}] command ${JSON.stringify(command)} is not a facteur daemon (have: ${
          COMMANDS.join(", ")
        })`,
        at("command"),
      );
    }
    if (delivery && type !== "unix") {
      throw new ConfigError(
        `[services.${name}] command "${command}" is a delivery agent: it needs type = "unix"`,
        at("type"),
      );
    }
    if (delivery && body.listen !== undefined) {
      throw new ConfigError(
        `[services.${name}] a delivery agent does not listen: remove "listen" ` +
          `(route mail to it with transport_maps, e.g. "${name}:[host]")`,
        at("listen"),
      );
    }
    // A delivery service is reached by its name, as master.cf's private/NAME socket.
    const listen = body.listen ?? (type === "inet" || delivery ? name : undefined);
    if (typeof listen !== "string" && typeof listen !== "number") {
      throw new ConfigError(
        `[services.${name}] needs listen = "host:port" or a port`,
        at("listen"),
      );
    }
    const limit = body.process_limit;
    if (
      limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0)
    ) {
      throw new ConfigError(
        `[services.${name}] process_limit must be a whole number >= 0`,
        at("process_limit"),
      );
    }
    const enabled = body.enabled ?? true;
    if (typeof enabled !== "boolean") {
      throw new ConfigError(`[services.${name}] enabled must be true or false`, at("enabled"));
    }
    return {
      name,
      type,
      listen: String(listen),
      command: String(command),
      processLimit: limit,
      overrides,
      enabled,
    };
  });
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Every parameter must expand and parse as its kind; errors point at the line that set it. */
function validate(config: Config, at: (name: string) => Where) {
  for (const [name, spec] of Object.entries(PARAMETERS)) {
    let value: string;
    try {
      value = config.get(name);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(stripWhere(e), at(name));
      throw e;
    }
    checkValue(name, spec, value, at);
  }
}

function checkValue(name: string, spec: ParamSpec, value: string, at: (name: string) => Where) {
  const expected = expectedValue(spec, value);
  if (expected === undefined) return;
  throw new ConfigError(
    `parameter "${name}" = "${value}" is invalid: expected ${expected}`,
    at(name),
  );
}

/** What `value` should have been, or undefined when it is valid for `spec`. */
function expectedValue(spec: ParamSpec, value: string): string | undefined {
  switch (spec.kind) {
    case "time":
      if (parseTime(value, spec.unit) === undefined) return 'a time like "300s", "10m", "5d"';
      break;
    case "int":
      if (parseInteger(value) === undefined) return "a whole number >= 0";
      break;
    case "bool":
      if (parseBool(value) === undefined) return '"yes" or "no"';
      break;
    case "code":
      if (!/^[45]\d\d$/.test(value.trim())) return "an SMTP reply code 4xx or 5xx";
      break;
  }
  if (spec.choices && !spec.choices.includes(value)) {
    return `one of ${spec.choices.map((c) => `"${c}"`).join(", ")}`;
  }
  return spec.check?.(value);
}

/** Per-transport names (mysmtp_destination_concurrency_limit) validate like the parameter they override. */
function validatePerTransport(config: Config, at: (name: string) => Where) {
  for (const name of config.setNames()) {
    if (name in PARAMETERS) continue;
    const split = splitPerTransport(name);
    if (!split) continue;
    checkValue(name, PARAMETERS[PER_TRANSPORT_DEFAULTS[split.suffix]], config.get(name), at);
  }
}

function stripWhere(e: ConfigError): string {
  return e.message.replace(/^[^:]*:\d*:? ?/, e.file ? "" : "$&");
}

/**
 * The line (1-based) where `key` is set inside table `table` (e.g. [] for
 * the top level, ["services","smtp"]). A line scan, because smol-toml keeps
 * no positions; good enough for messages.
 */
export function findLine(text: string, table: string[], key: string): number | undefined {
  const want = table.join(".");
  let current = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      current = header[1].replace(/\s+/g, "").replace(/"/g, "");
      if (want && current === want && key === "") return i + 1;
      continue;
    }
    const k = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(line);
    if (k && current === want && k[2] === key) return i + 1;
  }
  // The key of a table itself, e.g. [services.NAME]
  const asTable = [...table, key].join(".");
  const idx = lines.findIndex((l) =>
    l.trim().replace(/\s+/g, "").replace(/"/g, "") === `[${asTable}]`
  );
  return idx >= 0 ? idx + 1 : undefined;
}
