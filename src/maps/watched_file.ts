/**
 * A table source file that is read once at open and read again when it
 * changes, the way a Postfix daemon notices a rebuilt .db file: on lookup, at
 * most once per interval, a cheap stat() compares mtime, size and inode. A new
 * version that fails to parse is reported and the previous contents stay in
 * use (Postfix keeps using the old .db when postmap fails). The first read
 * parses leniently (bad lines skipped with a warning, as postmap does);
 * reloads parse strictly: a new version with a bad line is refused whole.
 */

import { ConfigError } from "../errors.ts";
import { tableError } from "./table_error.ts";

export interface WatchedFileOptions<T> {
  spec: string;
  path: string;
  /** strict: this is a reload; a bad line must throw rather than be skipped. */
  parse: (text: string, strict: boolean) => T;
  warn: (message: string) => void;
  intervalMs: number;
}

function fingerprint(info: Deno.FileInfo): string {
  return `${info.mtime?.getTime()}/${info.size}/${info.ino}`;
}

function reason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "No such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "Permission denied";
  return err instanceof Error ? err.message : String(err);
}

/** Read a table file synchronously (tables are opened while the configuration loads). */
export function readTableFile(spec: string, path: string): { text: string; info: Deno.FileInfo } {
  try {
    const info = Deno.statSync(path);
    if (info.isDirectory) throw new Error("Is a directory");
    return { text: Deno.readTextFileSync(path), info };
  } catch (err) {
    throw tableError({ spec }, `open ${path}: ${reason(err)}`);
  }
}

export class WatchedFile<T> {
  #opts: WatchedFileOptions<T>;
  #data: T;
  #fingerprint: string;
  #checkedAt = Date.now();
  #pending?: Promise<void>;
  #lastProblem = "";

  constructor(opts: WatchedFileOptions<T>) {
    this.#opts = opts;
    const { text, info } = readTableFile(opts.spec, opts.path);
    this.#data = opts.parse(text, false);
    this.#fingerprint = fingerprint(info);
  }

  /** The contents, re-read first when the file changed since the last check. */
  async current(): Promise<T> {
    const now = Date.now();
    if (!this.#pending && now - this.#checkedAt >= this.#opts.intervalMs) {
      this.#checkedAt = now;
      this.#pending = this.#reloadIfChanged().finally(() => (this.#pending = undefined));
    }
    if (this.#pending) await this.#pending;
    return this.#data;
  }

  async #reloadIfChanged(): Promise<void> {
    const { path, spec, parse } = this.#opts;
    try {
      const before = await Deno.stat(path);
      // File systems stamp mtime with a coarse clock: two writes a few ms apart can leave the
      // same mtime and size. A file written in the last two seconds is read again to be sure.
      const recent = Date.now() - (before.mtime?.getTime() ?? 0) < 2000;
      if (fingerprint(before) === this.#fingerprint && !recent) return;
      const text = await Deno.readTextFile(path);
      const after = await Deno.stat(path);
      // Changed while we read it: keep the old fingerprint so the next check reads it again.
      if (fingerprint(after) === fingerprint(before)) this.#fingerprint = fingerprint(before);
      this.#data = parse(text, true);
      this.#lastProblem = "";
    } catch (err) {
      const problem = err instanceof ConfigError ? err.message : `${path}: ${reason(err)}`;
      if (problem !== this.#lastProblem) {
        this.#opts.warn(`${spec}: keeping the previous contents: ${problem}`);
        this.#lastProblem = problem;
      }
    }
  }
}
