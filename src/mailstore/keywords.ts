/**
 * Dovecot's dovecot-keywords file (doc.dovecot.org "Maildir mailbox
 * format", Keywords): one "<index> <name>" line per keyword; index 0 is the
 * letter 'a' in file names, 25 is 'z'. Keywords past the 26th cannot be put
 * in a file name; like Dovecot, the store then keeps them in its index only.
 */
import { join } from "node:path";
import { writeFileAtomic } from "./fsutil.ts";

export const KEYWORDS_FILE = "dovecot-keywords";
const MAX_LETTERS = 26;

/** Keyword names by letter index (sparse). */
export type KeywordTable = (string | undefined)[];

/** Parses dovecot-keywords; malformed lines are skipped, as Dovecot does. */
export function parseKeywords(text: string): KeywordTable {
  const table: KeywordTable = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\S+)$/.exec(line.trimEnd());
    if (!m) continue;
    const idx = Number(m[1]);
    if (idx < MAX_LETTERS && !table.includes(m[2])) table[idx] = m[2];
  }
  return table;
}

export function formatKeywords(table: KeywordTable): string {
  return table.map((name, i) => (name === undefined ? "" : `${i} ${name}\n`)).join("");
}

export function letterOf(table: KeywordTable, name: string): string | undefined {
  const i = table.indexOf(name);
  return i < 0 ? undefined : String.fromCharCode(0x61 + i);
}

export function nameOf(table: KeywordTable, letter: string): string | undefined {
  return table[letter.charCodeAt(0) - 0x61];
}

/** RFC 3501 flag-keyword = atom: no specials, no "\\" (system flags are not keywords). */
export function isValidKeyword(name: string): boolean {
  return /^[\x21-\x7e]+$/.test(name) && !/[(){%*"\\\]]/.test(name);
}

/** The keywords table of a Maildir folder, re-read when the file changes. */
export class KeywordFile {
  #table: KeywordTable = [];
  #mtime = -1;
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, KEYWORDS_FILE);
  }

  async load(): Promise<KeywordTable> {
    let mtime = 0;
    try {
      mtime = (await Deno.stat(this.path)).mtime?.getTime() ?? 0;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      this.#table = [];
      this.#mtime = 0;
      return this.#table;
    }
    if (mtime !== this.#mtime) {
      this.#table = parseKeywords(await Deno.readTextFile(this.path));
      this.#mtime = mtime;
    }
    return this.#table;
  }

  /** Letters for `names`, adding the missing ones to the file while letters are free. */
  async lettersFor(names: Iterable<string>): Promise<Map<string, string>> {
    const table = [...await this.load()];
    const out = new Map<string, string>();
    let changed = false;
    for (const name of names) {
      let letter = letterOf(table, name);
      if (!letter) {
        let free = 0;
        while (free < MAX_LETTERS && table[free] !== undefined) free++;
        if (free === MAX_LETTERS) continue; // index only
        table[free] = name;
        letter = String.fromCharCode(0x61 + free);
        changed = true;
      }
      out.set(name, letter);
    }
    if (changed) {
      await writeFileAtomic(this.path, formatKeywords(table));
      this.#table = table;
      this.#mtime = (await Deno.stat(this.path)).mtime?.getTime() ?? 0;
    }
    return out;
  }
}
