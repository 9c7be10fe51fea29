/**
 * Tables made of tables (postconf(5) / DATABASE_README, dict_union.c, dict_pipe.c):
 *
 *   unionmap:{type:name, type:name, ...}  every table is asked; "All found
 *       results are concatenated, separated by comma"; nothing found in any
 *       of them is "not found".
 *   pipemap:{type:name, type:name, ...}   "the lookup result from one table
 *       is used as the lookup key for the next table"; not found anywhere
 *       along the way is not found.
 *
 * Inside the braces the tables are separated by commas or white space; a
 * table's own braces keep it together. "The first table determines the
 * pattern-matching flags" (dict_union.c), so a union that starts with a
 * regexp: table is a pattern table; one that starts with a fixed-key table
 * is a fixed-key table, and like every fixed-key table its key is folded to
 * lower case (maps.c, postmap -q: DICT_FLAG_FOLD_FIX) before any member sees
 * it, regexp members included (checked with postmap -q). An error from any member is the error of
 * the whole lookup (Postfix: DICT_ERR_VAL_RETURN with the member's error).
 */

import { splitOutsideBraces, unbrace } from "./braces.ts";
import { tableError } from "./table_error.ts";
import type { LookupTable } from "./types.ts";

export type CompositeKind = "unionmap" | "pipemap";

/** The member specs of `{type:name, ...}`; Postfix's wording when the syntax is wrong. */
export function memberSpecs(spec: string, kind: CompositeKind, name: string): string[] {
  const bad = () => tableError({ spec }, `bad syntax: "${spec}"; need "${kind}:{type:name...}"`);
  const body = unbrace(name);
  if ("error" in body) throw bad();
  const members = splitOutsideBraces(body.inner);
  if (members.length === 0 || members.some((m) => !m.includes(":"))) throw bad();
  return members;
}

async function unionLookup(members: LookupTable[], key: string): Promise<string | undefined> {
  const found: string[] = [];
  for (const table of members) {
    const value = await table.lookup(key);
    if (value !== undefined) found.push(value);
  }
  return found.length > 0 ? found.join(",") : undefined;
}

async function pipeLookup(members: LookupTable[], key: string): Promise<string | undefined> {
  let current: string | undefined = key;
  for (const table of members) {
    current = await table.lookup(current);
    if (current === undefined) return undefined;
  }
  return current;
}

export function openComposite(
  spec: string,
  kind: CompositeKind,
  name: string,
  openMember: (spec: string) => LookupTable,
): LookupTable {
  const members: LookupTable[] = [];
  try {
    for (const member of memberSpecs(spec, kind, name)) members.push(openMember(member));
  } catch (err) {
    for (const table of members) table.close?.();
    throw err;
  }
  const lookup = kind === "unionmap" ? unionLookup : pipeLookup;
  const pattern = members[0].pattern ?? false;
  return {
    spec,
    pattern,
    lookup: (key) => lookup(members, pattern ? key : key.toLowerCase()),
    close() {
      for (const table of members) table.close?.();
    },
  };
}
