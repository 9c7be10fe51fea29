/**
 * unix:passwd.byname and unix:group.byname (DATABASE_README "unix"): the
 * system account files, looked up by name (folded to lower case). The result
 * is the entry in its file format, as getpwnam()/getgrnam() give it to
 * Postfix: "name:passwd:uid:gid:gecos:home:shell" and
 * "name:passwd:gid:member,member".
 */

import { trimSpace } from "./lines.ts";
import { tableError } from "./table_error.ts";
import type { LookupTable } from "./types.ts";
import { WatchedFile } from "./watched_file.ts";

const UNIX_FILES: Record<string, { path: string; fields: number }> = {
  "passwd.byname": { path: "/etc/passwd", fields: 7 },
  "group.byname": { path: "/etc/group", fields: 4 },
};

/** name → entry, first entry wins like getpwnam(); NIS "+"/"-" lines and comments are skipped. */
export function parseAccountFile(text: string, fields: number): Map<string, string> {
  const entries = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = trimSpace(raw);
    if (line === "" || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) {
      continue;
    }
    const parts = line.split(":");
    if (parts.length !== fields || parts[0] === "") continue;
    if (!entries.has(parts[0])) entries.set(parts[0], parts.join(":"));
  }
  return entries;
}

export interface UnixOptions {
  warn: (message: string) => void;
  intervalMs: number;
  /** Test hook: read this file instead of /etc/passwd or /etc/group. */
  path?: string;
}

export function openUnix(spec: string, name: string, opts: UnixOptions): LookupTable {
  const kind = UNIX_FILES[name];
  if (!kind) {
    throw tableError(
      { spec },
      `unknown unix: table "${name}" (supported: ${Object.keys(UNIX_FILES).join(", ")})`,
    );
  }
  const file = new WatchedFile({
    spec,
    path: opts.path ?? kind.path,
    parse: (text) => parseAccountFile(text, kind.fields),
    warn: opts.warn,
    intervalMs: opts.intervalMs,
  });
  return {
    spec,
    pattern: false,
    async lookup(key: string) {
      return (await file.current()).get(key.toLowerCase());
    },
  };
}
