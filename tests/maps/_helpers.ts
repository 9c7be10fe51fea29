/** Shared by the maps tests: a temporary directory with table files. */

import { equal as assertEqual, match as assertMatch } from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import type { LookupTable, MapOptions } from "../../src/maps/types.ts";

const created: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of created) Deno.removeSync(dir, { recursive: true });
});

/** A temporary directory, removed when the test module ends. */
export function tempDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "facteur-maps-" });
  created.push(dir);
  return dir;
}

/** Write `text` to DIR/name and return the path. */
export function writeTable(dir: string, name: string, text: string): string {
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, text);
  return path;
}

/** Open a table and collect its warnings instead of printing them. */
export function open(
  spec: string,
  opts: MapOptions = {},
): { table: LookupTable; warnings: string[] } {
  const warnings: string[] = [];
  const table = openMap(spec, { onWarning: (m) => warnings.push(m), ...opts });
  return { table, warnings };
}

/** Look up several keys; absent keys map to undefined. */
export async function lookupAll(
  table: LookupTable,
  keys: string[],
): Promise<Record<string, string | undefined>> {
  const result: Record<string, string | undefined> = {};
  for (const key of keys) result[key] = await table.lookup(key);
  return result;
}

/** fn() throws a ConfigError with exactly this message (and this line, when given). */
export function assertConfigError(
  fn: () => unknown,
  message: string | RegExp,
  line?: number,
): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${thrown}`);
  if (typeof message === "string") assertEqual(thrown.message, message);
  else assertMatch(thrown.message, message);
  if (line !== undefined) assertEqual(thrown.line, line);
}
