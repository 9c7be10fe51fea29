/**
 * :include: files (aliases(5)): a list of destinations, one or more per
 * line, "#" lines are comments. local(8) reads them with the privileges of
 * their owner; facteur, running as one user, instead refuses a nested
 * include that belongs to someone else, so a user's list can never make it
 * read files that user could not.
 */
import { type AliasTarget, parseAliasTargets } from "../../maps/aliases.ts";
import { bounced, deferred, type Outcome } from "./mailbox.ts";

export function parseIncludeFile(text: string): AliasTarget[] {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  return parseAliasTargets(lines.join(", "));
}

export interface IncludeFile {
  targets: AliasTarget[];
  /** uid of the file's owner: nested includes must belong to the same user. */
  owner: number;
}

/**
 * Reads an include file after local(8)'s checks. `trustedOwner` is the uid
 * of the include file this one is named in (undefined when named in an alias
 * table, which the administrator owns).
 */
export async function readIncludeFile(
  path: string,
  trustedOwner: number | undefined,
): Promise<IncludeFile | Outcome> {
  // include.c: "mail system configuration error" for these.
  if (!path.startsWith("/")) {
    return bounced(
      "5.3.5",
      `mail system configuration error: :include:${path} is not an absolute path`,
    );
  }
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = await Deno.stat(path);
    if (!info.isFile) {
      return bounced("5.3.5", `mail system configuration error: ${path} is not a regular file`);
    }
    text = await Deno.readTextFile(path);
  } catch (e) {
    return deferred("4.3.0", `cannot open include file ${path}: ${(e as Error).message}`);
  }
  if ((info.mode ?? 0) & 0o002) {
    return bounced(
      "5.3.5",
      `mail system configuration error: include file ${path} is world writable`,
    );
  }
  const owner = info.uid ?? 0;
  if (trustedOwner !== undefined && trustedOwner !== 0 && owner !== trustedOwner) {
    return bounced(
      "5.3.5",
      `mail system configuration error: include file ${path} is not owned by uid ${trustedOwner}`,
    );
  }
  return { targets: parseIncludeFile(text), owner };
}
