/** `facteur config`: postconf for facteur. Output is TOML, so it can be pasted back. */
import { Config, loadConfig, PARAMETERS } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import { closest } from "../config/closest.ts";

export interface ConfigOptions {
  config: string;
  nonDefault?: boolean;
  defaults?: boolean;
  expand?: boolean;
}

export async function configCommand(names: string[], opts: ConfigOptions): Promise<number> {
  const config = opts.defaults ? new Config() : await loadConfig(opts.config);
  for (const name of names) {
    // A set per-transport name (mysmtp_destination_concurrency_limit) was validated at load.
    if (!(name in PARAMETERS) && !config.isSet(name)) {
      const near = closest(name, Object.keys(PARAMETERS));
      throw new ConfigError(
        `unknown parameter "${name}"${near ? `; did you mean "${near}"?` : ""}`,
      );
    }
  }
  const selected = names.length > 0
    ? names
    : opts.nonDefault
    ? config.setNames()
    : Object.keys(PARAMETERS).sort();
  for (const name of selected) {
    const value = opts.expand ? config.get(name) : config.raw(name);
    console.log(`${name} = ${JSON.stringify(value)}`);
  }
  return 0;
}
