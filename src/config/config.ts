/**
 * A loaded configuration: main.cf-style parameters (raw text as written,
 * expanded on read like Postfix) plus master.cf-style services.
 * Immutable; a per-service view layers the service's overrides on top.
 */
import { ConfigError } from "../errors.ts";
import { expand, ExpansionError } from "./expand.ts";
import { defaultValue, PARAMETERS } from "./parameters.ts";
import { parseBool, parseInteger, parseTime, splitList } from "./values.ts";
import { dirname, isAbsolute, join } from "node:path";

/** One `[services.NAME]` table: a master.cf line. */
export interface ServiceSpec {
  name: string;
  /** master.cf service type: "inet" (TCP) or "unix" (a local socket path). */
  type: "inet" | "unix";
  /**
   * Where to listen, as written: "127.0.0.1:2525", "[::1]:25", "2525" (every inet_interfaces
   * address); a delivery agent's is its name (it listens nowhere).
   */
  listen: string;
  /**
   * The daemon: "smtpd" (listens), or a delivery agent ("smtp", "lmtp", "local", "virtual",
   * "error", "discard") that qmgr calls as transport NAME: per_transport.ts.
   */
  command: string;
  /** master.cf maxproc: max concurrent sessions; 0 = no limit; unset = default_process_limit. */
  processLimit?: number;
  /** master.cf -o name=value: per-service parameter overrides, raw. */
  overrides: Readonly<Record<string, string>>;
  enabled: boolean;
}

export class Config {
  readonly #values: ReadonlyMap<string, string>;
  readonly #cache = new Map<string, string>();
  readonly #expanding = new Set<string>();

  /**
   * @param values raw parameter values as written (unexpanded); absent = default
   * @param file the TOML file they came from, for messages and relative paths
   */
  constructor(
    values: ReadonlyMap<string, string> | Record<string, string> = new Map(),
    readonly services: readonly ServiceSpec[] = [],
    readonly file?: string,
  ) {
    this.#values = values instanceof Map ? values : new Map(Object.entries(values));
  }

  /** Directory relative paths are resolved from (the config file's). */
  get baseDir(): string {
    return this.file ? dirname(this.file) : Deno.cwd();
  }

  /** Whether `name` was set explicitly (not its default). */
  isSet(name: string): boolean {
    return this.#values.has(name);
  }

  /** Explicitly set names, for `facteur config -n`. */
  setNames(): string[] {
    return [...this.#values.keys()].sort();
  }

  /** The value as written, or the default, unexpanded (postconf without -x). */
  raw(name: string): string {
    const set = this.#values.get(name);
    if (set !== undefined) return set;
    if (!(name in PARAMETERS)) throw new ConfigError(`unknown parameter "${name}"`);
    return defaultValue(name, (n) => this.get(n));
  }

  /** The expanded value ($name, ${name?x}, ...). */
  get(name: string): string {
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    if (this.#expanding.has(name)) {
      throw new ConfigError(`parameter "${name}" refers to itself through $ expansion`, {
        file: this.file,
        param: name,
      });
    }
    this.#expanding.add(name);
    try {
      const keep = PARAMETERS[name]?.runtimeVars ?? [];
      const value = expand(this.raw(name), (n) => this.#resolve(n), keep);
      this.#cache.set(name, value);
      return value;
    } catch (e) {
      if (e instanceof ExpansionError) {
        throw new ConfigError(`parameter "${name}": ${e.message}`, {
          file: this.file,
          param: name,
        });
      }
      throw e;
    } finally {
      this.#expanding.delete(name);
    }
  }

  #resolve(name: string): string | undefined {
    if (this.#values.has(name) || name in PARAMETERS) return this.get(name);
    return undefined;
  }

  list(name: string): string[] {
    return splitList(this.get(name));
  }

  /** Seconds. */
  time(name: string): number {
    const v = parseTime(this.get(name), PARAMETERS[name]?.unit);
    if (v === undefined) throw this.#bad(name, 'a time such as "300s", "5m", "1h" or "5d"');
    return v;
  }

  int(name: string): number {
    const v = parseInteger(this.get(name));
    if (v === undefined) throw this.#bad(name, "a whole number");
    return v;
  }

  bool(name: string): boolean {
    const v = parseBool(this.get(name));
    if (v === undefined) throw this.#bad(name, '"yes" or "no"');
    return v;
  }

  /** An absolute path; relative values are taken from the config file's directory. */
  path(name: string): string {
    const v = this.get(name);
    if (!v) return v;
    return isAbsolute(v) ? v : join(this.baseDir, v);
  }

  /** The view a service sees: its master.cf-style -o overrides over the main values. */
  forService(service: ServiceSpec): Config {
    if (Object.keys(service.overrides).length === 0) return this;
    const merged = new Map(this.#values);
    for (const [k, v] of Object.entries(service.overrides)) merged.set(k, v);
    return new Config(merged, this.services, this.file);
  }

  #bad(name: string, expected: string): ConfigError {
    return new ConfigError(
      `parameter "${name}" has value "${this.get(name)}"; expected ${expected}`,
      { file: this.file, param: name },
    );
  }
}
