/**
 * One folder of a store: its Maildir directory and its part of the index.
 * Every change (sync, append, flags, expunge, copy, move) runs one at a time
 * per mailbox (#serial) and in one SQLite transaction, then is announced to
 * listeners (for IMAP EXISTS/EXPUNGE/FETCH FLAGS and IDLE).
 */
import { join } from "node:path";
import { bodyStructure, envelope, parseMessage } from "../mime/mod.ts";
import type { BodyStructure, Envelope, MimePart } from "../mime/mod.ts";
import { crlfToLf } from "./maildir.ts";
import {
  curName,
  flagLetter,
  LETTER_FLAGS,
  parseName,
  safeHostname,
  SYSTEM_FLAGS,
  systemFlag,
  virtualSize,
} from "./filename.ts";
import { isNotFound, listNames } from "./fsutil.ts";
import type { IndexDb, MailboxRow, MessageRow } from "./index_db.ts";
import { isValidKeyword, KeywordFile, type KeywordTable, nameOf } from "./keywords.ts";
import type { UidList } from "./uidlist.ts";

export interface MessageInfo {
  uid: number;
  /** The Maildir base name (before ":2,"): stable, used as the POP3 UIDL. */
  base: string;
  /** Absolute path of the file when last seen. */
  path: string;
  /** System flags ("\\Seen", ...) then keywords. */
  flags: string[];
  modseq: number;
  internalDate: Date;
  /** Bytes of the file (LF line ends as stored). */
  size: number;
  /** RFC822.SIZE: with CRLF line ends. */
  rfc822Size: number;
}

export interface FlagUpdate {
  uid: number;
  flags: string[];
  modseq: number;
}

/** What listeners hear after a change is committed. */
export type MailboxChange =
  | { kind: "exists"; uids: number[] }
  | { kind: "expunge"; uids: number[] }
  | { kind: "flags"; updates: FlagUpdate[] };

export type ChangeListener = (change: MailboxChange) => void;

export interface MailboxStatus {
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  messages: number;
  unseen: number;
  deleted: number;
  size: number;
}

export interface ParsedMessage {
  tree: MimePart;
  envelope: Envelope;
  bodyStructure: BodyStructure;
  body: BodyStructure;
}

export type FlagMode = "set" | "add" | "remove";

export interface AppendOptions {
  flags?: string[];
  internalDate?: Date;
}

/** Quota hooks from the store: check before adding, record after. */
export interface StoreHooks {
  checkQuota(bytes: number, messages: number): Promise<void>;
  recordUsage(bytes: number, messages: number): Promise<void>;
  hostname: string;
}

/** An unknown UID, a folder gone, a bad flag: IMAP answers NO (RFC 5530 code in `imapCode`). */
export class MailstoreError extends Error {
  readonly imapCode: string;
  constructor(imapCode: string, message: string) {
    super(message);
    this.name = "MailstoreError";
    this.imapCode = imapCode;
  }
}

let appended = 0;

/** A new unique base name: time.M<usec>P<pid>Q<n>R<random>.host,S=<size>,W=<vsize> (Dovecot's fields). */
export function newBaseName(size: number, vsize: number, hostname: string, nowMs = Date.now()) {
  const sec = Math.floor(nowMs / 1000);
  const usec = (nowMs % 1000) * 1000;
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  appended++;
  return `${sec}.M${usec}P${Deno.pid}Q${appended}R${random}.${
    safeHostname(hostname)
  },S=${size},W=${vsize}`;
}

/** Flags in canonical order: system flags, then keywords as given; unknown system flags refused. */
export function normalizeFlags(flags: Iterable<string>): string[] {
  const system = new Set<string>();
  const keywords: string[] = [];
  for (const f of flags) {
    if (f.startsWith("\\")) {
      const known = systemFlag(f);
      if (!known) {
        if (f.toLowerCase() === "\\recent") continue; // session state (RFC 3501 2.3.2)
        throw new MailstoreError("CANNOT", `unknown system flag ${f}`);
      }
      system.add(known);
    } else {
      if (!isValidKeyword(f)) throw new MailstoreError("CANNOT", `invalid keyword "${f}"`);
      if (!keywords.includes(f)) keywords.push(f);
    }
  }
  return [...SYSTEM_FLAGS.filter((f) => system.has(f)), ...keywords];
}

function splitFlags(text: string): string[] {
  return text === "" ? [] : text.split(" ");
}

/** Flags a file name says, plus index-only keywords (no letter) the row had. */
function flagsFromLetters(letters: string, table: KeywordTable, previous: string[]): string[] {
  const out: string[] = [];
  for (const ch of letters) {
    if (LETTER_FLAGS[ch]) out.push(LETTER_FLAGS[ch]);
    else if (ch >= "a" && ch <= "z") {
      const name = nameOf(table, ch);
      if (name) out.push(name);
    }
  }
  const lettered = new Set(table.filter((n) => n !== undefined));
  for (const f of previous) if (!f.startsWith("\\") && !lettered.has(f)) out.push(f);
  return normalizeFlags(out);
}

/** The letters to write: the flags' letters, plus letters that are no flag of ours (P, unmapped a-z). */
function lettersFor(flags: string[], keep: string, keywordLetters: Map<string, string>): string[] {
  const out: string[] = [];
  for (const ch of keep) {
    const mapped = LETTER_FLAGS[ch] !== undefined || [...keywordLetters.values()].includes(ch);
    if (!mapped) out.push(ch);
  }
  for (const f of flags) {
    const letter = f.startsWith("\\") ? flagLetter(f) : keywordLetters.get(f);
    if (letter) out.push(letter);
  }
  return out;
}

function sameFlags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

function applyMode(current: string[], mode: FlagMode, change: string[]): string[] {
  if (mode === "set") return change;
  if (mode === "add") return normalizeFlags([...current, ...change]);
  const drop = new Set(change);
  return current.filter((f) => !drop.has(f));
}

async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

export class Mailbox {
  readonly #index: IndexDb;
  readonly #hooks: StoreHooks;
  readonly #listeners = new Set<ChangeListener>();
  #keywords: KeywordFile;
  #queue: Promise<unknown> = Promise.resolve();
  #name: string;
  #dir: string;
  #id: number;
  /** Set when the index of this folder was just created: UIDs to take over from dovecot-uidlist. */
  importUids?: UidList;

  constructor(index: IndexDb, row: MailboxRow, dir: string, hooks: StoreHooks) {
    this.#index = index;
    this.#hooks = hooks;
    this.#id = row.id;
    this.#name = row.name;
    this.#dir = dir;
    this.#keywords = new KeywordFile(dir);
  }

  get name(): string {
    return this.#name;
  }

  get dir(): string {
    return this.#dir;
  }

  /** The store renamed the folder: same index rows, new place. */
  renamed(name: string, dir: string): void {
    this.#name = name;
    this.#dir = dir;
    this.#keywords = new KeywordFile(dir);
  }

  /** Listens for changes; returns the function that stops listening. */
  on(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change: MailboxChange): void {
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch {
        // a listener's failure is its own business
      }
    }
  }

  /** Runs fn after every earlier change of this mailbox. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #row(): MailboxRow {
    return this.#index.mailboxById(this.#id);
  }

  status(): MailboxStatus {
    const row = this.#row();
    let unseen = 0, deleted = 0, size = 0;
    const rows = this.#index.messages(this.#id);
    for (const m of rows) {
      if (!m.flags.includes("\\Seen")) unseen++;
      if (m.flags.includes("\\Deleted")) deleted++;
      size += m.size;
    }
    return {
      uidValidity: row.uidvalidity,
      uidNext: row.uidnext,
      highestModseq: row.highestmodseq,
      messages: rows.length,
      unseen,
      deleted,
      size,
    };
  }

  /** UIDs in ascending order: message sequence number n is uids()[n - 1] (RFC 3501 2.3.1.2). */
  uids(): number[] {
    return this.#index.messages(this.#id).map((m) => m.uid);
  }

  #info(m: MessageRow): MessageInfo {
    return {
      uid: m.uid,
      base: m.base,
      path: join(this.#dir, m.file),
      flags: splitFlags(m.flags),
      modseq: m.modseq,
      internalDate: new Date(m.internal_date),
      size: m.size,
      rfc822Size: m.vsize ?? -1,
    };
  }

  /** Metadata of the given UIDs (all when absent), ascending; unknown UIDs are left out. */
  async messages(uids?: Iterable<number>): Promise<MessageInfo[]> {
    let rows = this.#index.messages(this.#id);
    if (uids !== undefined) {
      const wanted = new Set(uids);
      rows = rows.filter((r) => wanted.has(r.uid));
    }
    const out: MessageInfo[] = [];
    const counted: [number, number][] = [];
    for (const r of rows) {
      if (r.vsize === null) {
        // No ,W= in the name: count the line ends once and keep it.
        const data = await this.#readFile(r).catch(() => undefined);
        if (data === undefined) continue;
        r.vsize = virtualSize(data);
        counted.push([r.uid, r.vsize]);
      }
      out.push(this.#info(r));
    }
    // One commit for all of them, not one per message (a 10,000-message Maildir from elsewhere).
    if (counted.length > 0) {
      this.#index.transaction(() => {
        for (const [uid, vsize] of counted) this.#index.setVsize(this.#id, uid, vsize);
      });
    }
    return out;
  }

  /** Messages changed after `modseq` (CONDSTORE CHANGEDSINCE) and UIDs expunged after it (QRESYNC). */
  changedSince(modseq: number): { changed: number[]; expunged: number[] } {
    const changed = this.#index.messages(this.#id).filter((m) => m.modseq > modseq).map((m) =>
      m.uid
    );
    return { changed, expunged: this.#index.expungedSince(this.#id, modseq) };
  }

  async #readFile(row: MessageRow): Promise<Uint8Array> {
    return await Deno.readFile(join(this.#dir, row.file));
  }

  /** The index row of `uid`; throws when there is none. */
  #locate(uid: number): MessageRow {
    const row = this.#index.message(this.#id, uid);
    if (!row) throw new MailstoreError("NONEXISTENT", `no message with UID ${uid}`);
    return row;
  }

  /**
   * The message bytes as stored (LF line ends), whole or `length` bytes from
   * `start`. A file renamed meanwhile is found again by a sync.
   */
  async read(uid: number, range?: { start: number; length: number }): Promise<Uint8Array> {
    for (let attempt = 0;; attempt++) {
      const row = this.#locate(uid);
      try {
        if (!range) return await this.#readFile(row);
        const file = await Deno.open(join(this.#dir, row.file), { read: true });
        try {
          await file.seek(range.start, Deno.SeekMode.Start);
          const buf = new Uint8Array(Math.max(0, Math.min(range.length, row.size - range.start)));
          let n = 0;
          while (n < buf.length) {
            const got = await file.read(buf.subarray(n));
            if (got === null) break;
            n += got;
          }
          return buf.subarray(0, n);
        } finally {
          file.close();
        }
      } catch (e) {
        if (!isNotFound(e) || attempt > 0) {
          if (isNotFound(e)) {
            throw new MailstoreError("EXPUNGEISSUED", `message UID ${uid} is gone`);
          }
          throw e;
        }
        await this.sync();
      }
    }
  }

  /** The MIME tree, ENVELOPE, BODYSTRUCTURE and BODY of a message: parsed once, then from the index. */
  async parsed(uid: number): Promise<ParsedMessage> {
    const cached = this.#index.parsed(this.#id, uid);
    if (cached) return JSON.parse(cached) as ParsedMessage;
    const data = await this.read(uid);
    const tree = parseMessage(data);
    const out: ParsedMessage = {
      tree,
      envelope: envelope(tree),
      bodyStructure: bodyStructure(tree, true),
      body: bodyStructure(tree, false),
    };
    if (this.#index.message(this.#id, uid)) {
      this.#index.setParsed(this.#id, uid, JSON.stringify(out));
    }
    return out;
  }

  /**
   * Folds the Maildir into the index: new/ files move to cur/ (":2,"
   * added, as Dovecot does for a read-write open), files not indexed get
   * the next UIDs in (mtime, name) order, files gone are expunged, changed
   * flag letters get a new MODSEQ. UIDs never change.
   */
  sync(): Promise<void> {
    return this.#serial(() => this.#sync(true));
  }

  /**
   * Indexes what arrived in new/ only (no scan of cur/): what a delivery
   * needs to announce its message, in time independent of the mailbox size.
   */
  syncNew(): Promise<void> {
    return this.#serial(() => this.#sync(false));
  }

  async #sync(full: boolean): Promise<void> {
    const table = await this.#keywords.load();
    const found = new Map<string, string>(); // base → "cur/<name>"
    for (const name of await listNames(join(this.#dir, "new"))) {
      if (name.startsWith(".")) continue;
      const target = name.includes(":") ? name : name + ":2,";
      try {
        await Deno.rename(join(this.#dir, "new", name), join(this.#dir, "cur", target));
        if (!full) found.set(parseName(target).base, "cur/" + target);
      } catch (e) {
        if (!isNotFound(e)) throw e; // moved meanwhile: cur/ has it
      }
    }
    if (full) {
      for (const name of await listNames(join(this.#dir, "cur"))) {
        if (name.startsWith(".")) continue;
        const base = parseName(name).base;
        if (!found.has(base)) found.set(base, "cur/" + name);
      }
    }
    // Files seen for the first time: stat for the internal date (Dovecot: mtime) and size.
    const known = full ? new Set(this.#index.messages(this.#id).map((m) => m.base)) : undefined;
    const fresh: { base: string; file: string; mtime: number; size: number }[] = [];
    for (const [base, file] of found) {
      if (known ? known.has(base) : this.#index.messageByBase(this.#id, base)) continue;
      try {
        const info = await Deno.stat(join(this.#dir, file));
        fresh.push({ base, file, mtime: info.mtime?.getTime() ?? 0, size: info.size });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        found.delete(base);
      }
    }
    fresh.sort((a, b) => a.mtime - b.mtime || (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    const importing = this.importUids;
    this.importUids = undefined;

    const changes = this.#index.transaction(() => {
      const mbox = this.#row();
      let uidnext = mbox.uidnext;
      let modseq = mbox.highestmodseq;
      const nextModseq = () => (modseq === mbox.highestmodseq ? ++modseq : modseq);
      const expunged: number[] = [];
      const flagged: FlagUpdate[] = [];
      const added: number[] = [];
      for (const row of full ? this.#index.messages(this.#id) : []) {
        const file = found.get(row.base);
        if (file === undefined) {
          expunged.push(row.uid);
          this.#index.deleteMessage(this.#id, row.uid, nextModseq());
          continue;
        }
        if (file === row.file) continue;
        const before = splitFlags(row.flags);
        const after = flagsFromLetters(parseName(file).letters, table, before);
        if (sameFlags(before, after)) {
          this.#index.updateFile(this.#id, row.uid, file);
        } else {
          const ms = nextModseq();
          this.#index.updateFlags(this.#id, row.uid, file, after.join(" "), ms);
          flagged.push({ uid: row.uid, flags: after, modseq: ms });
        }
      }
      const imported = fresh.filter((f) => importing?.uids.has(f.base));
      imported.sort((a, b) => importing!.uids.get(a.base)! - importing!.uids.get(b.base)!);
      const rest = fresh.filter((f) => !importing?.uids.has(f.base));
      for (const f of [...imported, ...rest]) {
        if (this.#index.messageByBase(this.#id, f.base)) continue; // another process indexed it
        const parsed = parseName(f.file.slice(4));
        const uid = importing?.uids.get(f.base) ?? uidnext;
        if (uid >= uidnext) uidnext = uid + 1;
        const flags = flagsFromLetters(parsed.letters, table, []);
        this.#index.insertMessage(this.#id, {
          uid,
          base: f.base,
          file: f.file,
          flags: flags.join(" "),
          modseq: nextModseq(),
          internal_date: f.mtime,
          size: parsed.size ?? f.size,
          vsize: parsed.vsize ?? null,
        });
        added.push(uid);
      }
      this.#index.setCounters(this.#id, uidnext, modseq);
      return { expunged, flagged, added: added.sort((a, b) => a - b) };
    });
    if (changes.expunged.length) this.#emit({ kind: "expunge", uids: changes.expunged });
    if (changes.flagged.length) this.#emit({ kind: "flags", updates: changes.flagged });
    if (changes.added.length) this.#emit({ kind: "exists", uids: changes.added });
  }

  /**
   * Stores a message (CRLF or LF; kept with LF as Maildir readers expect)
   * with flags and internal date: tmp/ → fsync → rename into cur/, so no
   * reader ever sees part of it. Resolves to its UID. Over quota:
   * QuotaExceededError (IMAP [OVERQUOTA]).
   */
  append(data: Uint8Array, options: AppendOptions = {}): Promise<number> {
    return this.#serial(async () => {
      const flags = normalizeFlags(options.flags ?? []);
      const lf = crlfToLf(data);
      await this.#hooks.checkQuota(lf.length, 1);
      const base = newBaseName(lf.length, virtualSize(lf), this.#hooks.hostname);
      const letters = lettersFor(
        flags,
        "",
        await this.#keywords.lettersFor(flags.filter((f) => !f.startsWith("\\"))),
      );
      const name = curName(base, letters);
      const tmp = join(this.#dir, "tmp", base);
      const date = options.internalDate ?? new Date();
      try {
        const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
        try {
          for (let off = 0; off < lf.length;) off += await file.write(lf.subarray(off));
          await file.sync();
        } finally {
          file.close();
        }
        await Deno.utime(tmp, date, date); // internal date = mtime, as Dovecot reads it
        await Deno.rename(tmp, join(this.#dir, "cur", name));
      } catch (e) {
        await Deno.remove(tmp).catch(() => {});
        if (isNotFound(e)) throw new MailstoreError("NONEXISTENT", `mailbox ${this.#name} is gone`);
        throw e;
      }
      await syncDir(join(this.#dir, "cur"));
      const uid = this.#index.transaction(() => {
        const mbox = this.#row();
        const uid = mbox.uidnext;
        this.#index.insertMessage(this.#id, {
          uid,
          base,
          file: "cur/" + name,
          flags: flags.join(" "),
          modseq: mbox.highestmodseq + 1,
          internal_date: date.getTime(),
          size: lf.length,
          vsize: virtualSize(lf),
        });
        this.#index.setCounters(this.#id, uid + 1, mbox.highestmodseq + 1);
        return uid;
      });
      await this.#hooks.recordUsage(lf.length, 1);
      this.#emit({ kind: "exists", uids: [uid] });
      return uid;
    });
  }

  /**
   * STORE: sets, adds or removes flags of `uids` (unknown UIDs ignored).
   * Each changed file is renamed and gets the operation's new MODSEQ; with
   * `unchangedSince` (RFC 7162 3.1.3) a message changed later is left alone
   * and listed in `modified`. A file renamed by another program meanwhile
   * is found again by a sync and the change applied to its current flags.
   */
  async updateFlags(
    uids: Iterable<number>,
    mode: FlagMode,
    flags: string[],
    options: { unchangedSince?: number } = {},
  ): Promise<{ updated: FlagUpdate[]; modified: number[] }> {
    const change = normalizeFlags(flags);
    const wanted = new Set(uids);
    return await this.#serial(async () => {
      const letters = await this.#keywords.lettersFor(change.filter((f) => !f.startsWith("\\")));
      const table = await this.#keywords.load();
      const keywordLetters = new Map<string, string>();
      table.forEach((name, i) =>
        name !== undefined && keywordLetters.set(name, String.fromCharCode(0x61 + i))
      );
      for (const [k, v] of letters) keywordLetters.set(k, v);
      const modified: number[] = [];
      const renamed: { uid: number; file: string; flags: string[] }[] = [];
      const pending = this.#index.messages(this.#id).filter((r) => wanted.has(r.uid));
      for (let attempt = 0; pending.length && attempt < 2; attempt++) {
        const missed: MessageRow[] = [];
        for (const row of pending) {
          if (options.unchangedSince !== undefined && row.modseq > options.unchangedSince) {
            modified.push(row.uid);
            continue;
          }
          const before = splitFlags(row.flags);
          const after = applyMode(before, mode, change);
          if (sameFlags(before, after)) continue;
          const file = "cur/" +
            curName(
              row.base,
              lettersFor(after, parseName(row.file.slice(4)).letters, keywordLetters),
            );
          try {
            if (file !== row.file) {
              await Deno.rename(join(this.#dir, row.file), join(this.#dir, file));
            }
            renamed.push({ uid: row.uid, file, flags: after });
          } catch (e) {
            if (!isNotFound(e)) throw e;
            missed.push(row);
          }
        }
        pending.length = 0;
        if (missed.length === 0) break;
        await this.#sync(true); // renamed or deleted by someone else: see where it is now
        for (const m of missed) {
          const now = this.#index.message(this.#id, m.uid);
          if (now) pending.push(now);
        }
      }
      if (renamed.length === 0) return { updated: [], modified };
      const updated = this.#index.transaction(() => {
        const mbox = this.#row();
        const modseq = mbox.highestmodseq + 1;
        for (const r of renamed) {
          this.#index.updateFlags(this.#id, r.uid, r.file, r.flags.join(" "), modseq);
        }
        this.#index.setCounters(this.#id, mbox.uidnext, modseq);
        return renamed.map((r) => ({ uid: r.uid, flags: r.flags, modseq }));
      });
      this.#emit({ kind: "flags", updates: updated });
      return { updated, modified };
    });
  }

  setFlags(uids: Iterable<number>, flags: string[]) {
    return this.updateFlags(uids, "set", flags);
  }

  addFlags(uids: Iterable<number>, flags: string[]) {
    return this.updateFlags(uids, "add", flags);
  }

  removeFlags(uids: Iterable<number>, flags: string[]) {
    return this.updateFlags(uids, "remove", flags);
  }

  /** EXPUNGE / UID EXPUNGE (RFC 4315): unlinks the \Deleted messages (of `uids` when given). */
  expunge(uids?: Iterable<number>): Promise<number[]> {
    const wanted = uids === undefined ? undefined : new Set(uids);
    return this.#serial(async () => {
      const rows = this.#index.messages(this.#id).filter((r) =>
        splitFlags(r.flags).includes("\\Deleted") && (!wanted || wanted.has(r.uid))
      );
      return await this.#remove(rows);
    });
  }

  /** Unlinks the files of `rows` and drops them from the index; resolves to their UIDs. */
  async #remove(rows: MessageRow[], unlink = true): Promise<number[]> {
    if (rows.length === 0) return [];
    if (unlink) {
      for (const r of rows) {
        await Deno.remove(join(this.#dir, r.file)).catch((e) => {
          if (!isNotFound(e)) throw e; // gone already: same result
        });
      }
    }
    const uids = this.#index.transaction(() => {
      const mbox = this.#row();
      const modseq = mbox.highestmodseq + 1;
      for (const r of rows) this.#index.deleteMessage(this.#id, r.uid, modseq);
      this.#index.setCounters(this.#id, mbox.uidnext, modseq);
      return rows.map((r) => r.uid);
    });
    if (unlink) await this.#hooks.recordUsage(-rows.reduce((n, r) => n + r.size, 0), -rows.length);
    this.#emit({ kind: "expunge", uids });
    return uids;
  }

  /**
   * COPY (RFC 4315 COPYUID): each message is hard-linked (copied when the
   * link is refused) into `target` under a new base name with its flags;
   * resolves to [source UID, new UID] pairs. Counts against the quota.
   */
  async copy(uids: Iterable<number>, target: Mailbox): Promise<[number, number][]> {
    const rows = this.#rowsOf(uids);
    await this.#hooks.checkQuota(rows.reduce((n, r) => n + r.size, 0), rows.length);
    const pairs = await target.#adopt(rows, this, false);
    const bytes = rows.filter((_, i) => pairs[i]).reduce((n, r) => n + r.size, 0);
    await this.#hooks.recordUsage(bytes, pairs.length);
    return pairs;
  }

  /** MOVE (RFC 6851): rename(2) into `target`, then expunged here. Resolves to UID pairs. */
  async move(uids: Iterable<number>, target: Mailbox): Promise<[number, number][]> {
    const rows = this.#rowsOf(uids);
    if (target === this) {
      throw new MailstoreError("CANNOT", "cannot move a message to its own mailbox");
    }
    const pairs = await target.#adopt(rows, this, true);
    const moved = new Set(pairs.map(([src]) => src));
    await this.#serial(() => this.#remove(rows.filter((r) => moved.has(r.uid)), false));
    return pairs;
  }

  #rowsOf(uids: Iterable<number>): MessageRow[] {
    const wanted = new Set(uids);
    return this.#index.messages(this.#id).filter((r) => wanted.has(r.uid));
  }

  /** Puts other messages' files here (link or rename) and indexes them; [source UID, UID] pairs. */
  #adopt(rows: MessageRow[], source: Mailbox, rename: boolean): Promise<[number, number][]> {
    return this.#serial(async () => {
      const flagsOf = rows.map((r) => splitFlags(r.flags));
      const keywords = new Set(flagsOf.flat().filter((f) => !f.startsWith("\\")));
      const letters = await this.#keywords.lettersFor(keywords);
      const placed: { src: MessageRow; base: string; file: string; flags: string[] }[] = [];
      for (const [i, row] of rows.entries()) {
        const vsize = parseName(row.base).vsize ?? row.vsize ??
          virtualSize(
            await Deno.readFile(join(source.dir, row.file)).catch(() => new Uint8Array()),
          );
        const base = newBaseName(row.size, vsize, this.#hooks.hostname);
        const file = "cur/" + curName(base, lettersFor(flagsOf[i], "", letters));
        const dest = join(this.#dir, file);
        let from = join(source.dir, row.file);
        for (let attempt = 0;; attempt++) {
          try {
            if (rename) await Deno.rename(from, dest);
            else await this.#linkOrCopy(from, dest, row);
            placed.push({ src: row, base, file, flags: flagsOf[i] });
            break;
          } catch (e) {
            if (!isNotFound(e) || attempt > 0) {
              if (isNotFound(e)) break; // expunged meanwhile: nothing to copy
              throw e;
            }
            // Renamed meanwhile by another program. (Our own queue is held when source is this.)
            await (source === this ? this.#sync(true) : source.sync());
            const now = source.#index.message(source.#id, row.uid);
            if (!now) break;
            from = join(source.dir, now.file);
          }
        }
      }
      if (placed.length) await syncDir(join(this.#dir, "cur"));
      const pairs = this.#index.transaction(() => {
        const mbox = this.#row();
        let uid = mbox.uidnext;
        const modseq = mbox.highestmodseq + 1;
        const out: [number, number][] = [];
        for (const p of placed) {
          this.#index.insertMessage(this.#id, {
            uid,
            base: p.base,
            file: p.file,
            flags: p.flags.join(" "),
            modseq,
            internal_date: p.src.internal_date,
            size: p.src.size,
            vsize: p.src.vsize,
          });
          out.push([p.src.uid, uid++]);
        }
        this.#index.setCounters(this.#id, uid, modseq);
        return out;
      });
      if (pairs.length) this.#emit({ kind: "exists", uids: pairs.map(([, u]) => u) });
      return pairs;
    });
  }

  /** A hard link into cur/ (atomic); a copy through tmp/ when links are refused (another file system). */
  async #linkOrCopy(from: string, dest: string, row: MessageRow): Promise<void> {
    try {
      await Deno.link(from, dest);
      return;
    } catch (e) {
      if (isNotFound(e) || e instanceof Deno.errors.AlreadyExists) throw e;
    }
    const tmp = join(this.#dir, "tmp", parseName(dest.slice(dest.lastIndexOf("/") + 1)).base);
    try {
      await Deno.copyFile(from, tmp);
      const date = new Date(row.internal_date);
      await Deno.utime(tmp, date, date);
      await Deno.rename(tmp, dest);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }
}
