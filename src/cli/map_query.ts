/**
 * `facteur map query TYPE:NAME KEY...`: postmap -q for every table kind
 * facteur reads (src/maps). Like postmap(1): one key prints its value alone;
 * keys read from stdin (`-`), or several keys, print "key<TAB>value" for
 * each key found; exit 0 when at least one key was found, 1 otherwise.
 * Relative table paths are taken from the current directory, as postmap does;
 * facteur: tables are read from the data directory of the configuration (-c).
 */
import { loadConfig } from "../config/mod.ts";
import { openMap } from "../maps/mod.ts";
import { facteurKinds } from "../users/mod.ts";
import type { LookupTable } from "../maps/types.ts";

/** postmap -q - reads one key per line: the whole line without its newline; empty lines are skipped. */
export function keysFromText(text: string): string[] {
  return text.split("\n").map((line) => line.replace(/\r$/, "")).filter((line) => line !== "");
}

/** The lines to print and how many keys were found. Rejects with the table's ConfigError. */
export async function queryTable(
  table: LookupTable,
  keys: string[],
  tabbed: boolean,
): Promise<{ lines: string[]; found: number }> {
  const lines: string[] = [];
  let found = 0;
  for (const key of keys) {
    const value = await table.lookup(key);
    if (value === undefined) continue;
    found++;
    lines.push(tabbed ? `${key}\t${value}` : value);
  }
  return { lines, found };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

export async function mapQueryCommand(
  spec: string,
  keys: string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
  configFile?: string,
): Promise<number> {
  // facteur:users and friends live in the data directory the configuration names.
  const kinds = /^(proxy:)*facteur:/i.test(spec) && configFile
    ? facteurKinds((await loadConfig(configFile)).path("data_directory"))
    : undefined;
  // A ConfigError names the problem: main prints it.
  const table = openMap(spec, { baseDir: Deno.cwd(), kinds });
  try {
    const fromStdin = keys.includes("-");
    const stdinKeys = fromStdin ? keysFromText(await readAll(stdin)) : [];
    const all = keys.flatMap((k) => k === "-" ? stdinKeys : [k]);
    const { lines, found } = await queryTable(table, all, fromStdin || keys.length > 1);
    if (lines.length) console.log(lines.join("\n"));
    return found > 0 ? 0 : 1;
  } finally {
    table.close?.();
  }
}
