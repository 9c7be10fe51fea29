/**
 * A user's mail store: a Maildir root (INBOX) with Maildir++ folders and
 * one SQLite index for all of them. One Mailstore object per root in the
 * process (openMailstore's registry), so two sessions of one user share its
 * Mailbox objects and hear each other's changes.
 */
import { join, resolve } from "node:path";
import { ensureMaildir } from "./maildir.ts";
import {
  canonicalName,
  checkName,
  folderDir,
  folderName,
  formatSubscriptions,
  MailboxNameError,
  parseSubscriptions,
  SEPARATOR,
  specialUse,
  SUBSCRIPTIONS_FILE,
} from "./folders.ts";
import { isNotFound, listNames, readTextIfExists, writeFileAtomic } from "./fsutil.ts";
import { INDEX_FILE, IndexDb, openIndex } from "./index_db.ts";
import { Mailbox, MailstoreError } from "./mailbox.ts";
import {
  appendMaildirsize,
  currentMaildirsize,
  overQuota,
  QuotaExceededError,
  type QuotaLimit,
  type QuotaUsage,
  rewriteMaildirsize,
} from "./quota.ts";
import { parseUidList } from "./uidlist.ts";

export interface MailstoreOptions {
  /** Host name for new file names; default this host's. */
  hostname?: string;
}

export interface MailboxListing {
  name: string;
  /** RFC 3501 / RFC 3348 / RFC 6154 attributes: \HasChildren or \HasNoChildren, special use. */
  attributes: string[];
  subscribed: boolean;
}

export interface QuotaReport {
  usage: QuotaUsage;
  limit: QuotaLimit;
  /** Where the usage comes from: the shared maildirsize file, or the index. */
  source: "maildirsize" | "index";
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** The rename aside of a damaged index, so that it can be looked at. */
async function setAside(path: string): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "");
  await Deno.rename(path, `${path}.broken-${stamp}`).catch(() => {});
  for (const ext of ["-wal", "-shm"]) await Deno.remove(path + ext).catch(() => {});
}

export class Mailstore {
  readonly root: string;
  readonly index: IndexDb;
  /** The index file did not exist (new store or deleted index): dovecot-uidlist UIDs may be taken over. */
  readonly indexWasMissing: boolean;
  /** The index was unreadable and was set aside; its UIDVALIDITYs are new. */
  readonly indexWasRebuilt: boolean;
  readonly #hostname: string;
  readonly #mailboxes = new Map<string, Mailbox>();
  readonly #opening = new Map<string, Promise<Mailbox>>();
  #lastUidValidity = 0;
  #closed = false;

  private constructor(
    root: string,
    index: IndexDb,
    flags: { missing: boolean; rebuilt: boolean },
    hostname: string,
  ) {
    this.root = root;
    this.index = index;
    this.indexWasMissing = flags.missing;
    this.indexWasRebuilt = flags.rebuilt;
    this.#hostname = hostname;
  }

  /** Opens (creating the Maildir and index as needed) without the registry: use openMailstore(). */
  static async create(root: string, options: MailstoreOptions = {}): Promise<Mailstore> {
    await ensureMaildir(root);
    const path = join(root, INDEX_FILE);
    let missing = false;
    try {
      await Deno.lstat(path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      missing = true;
    }
    let db;
    let rebuilt = false;
    try {
      db = openIndex(path);
    } catch {
      // Damaged: the Maildir is the truth, start again from it (new UIDVALIDITY).
      await setAside(path);
      db = openIndex(path);
      rebuilt = true;
    }
    return new Mailstore(
      root,
      new IndexDb(db),
      { missing, rebuilt },
      options.hostname ?? hostName(),
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A new UIDVALIDITY: the time in seconds (RFC 3501 2.3.1.1), strictly increasing in this store. */
  #uidValidity(): number {
    this.#lastUidValidity = Math.max(Math.floor(Date.now() / 1000), this.#lastUidValidity + 1);
    return this.#lastUidValidity;
  }

  #hooks() {
    return {
      hostname: this.#hostname,
      checkQuota: (bytes: number, messages: number) => this.checkQuota(bytes, messages),
      recordUsage: (bytes: number, messages: number) => this.#recordUsage(bytes, messages),
    };
  }

  /** The folder `name`, synced on first use; NONEXISTENT when its directory is missing. */
  async mailbox(name: string): Promise<Mailbox> {
    let canonical: string;
    try {
      canonical = checkName(name);
    } catch (e) {
      if (e instanceof MailboxNameError) throw new MailstoreError("CANNOT", e.message);
      throw e;
    }
    const open = this.#mailboxes.get(canonical);
    if (open) return open;
    let opening = this.#opening.get(canonical);
    if (!opening) {
      opening = this.#open(canonical).finally(() => this.#opening.delete(canonical));
      this.#opening.set(canonical, opening);
    }
    return await opening;
  }

  async #open(canonical: string): Promise<Mailbox> {
    const dir = folderDir(this.root, canonical);
    try {
      if (!(await Deno.stat(join(dir, "cur"))).isDirectory) throw new Deno.errors.NotFound();
    } catch (e) {
      if (!isNotFound(e) && !(e instanceof Deno.errors.NotADirectory)) throw e;
      throw new MailstoreError("NONEXISTENT", `mailbox ${canonical} does not exist`);
    }
    let row = this.index.mailbox(canonical);
    let importing;
    if (!row) {
      const uidlist = this.indexWasRebuilt ? undefined : parseUidList(
        (await readTextIfExists(join(dir, "dovecot-uidlist"))) ?? "",
      );
      row = this.index.mailbox(canonical) ??
        this.index.addMailbox(
          canonical,
          uidlist?.uidValidity ?? this.#uidValidity(),
          uidlist?.nextUid ?? 1,
        );
      importing = uidlist;
    }
    const mailbox = new Mailbox(this.index, row, dir, this.#hooks());
    mailbox.importUids = importing;
    await mailbox.sync();
    this.#mailboxes.set(canonical, mailbox);
    return mailbox;
  }

  /** The mailbox if it was opened in this store (for delivery notification). */
  openedMailbox(name: string): Mailbox | undefined {
    return this.#mailboxes.get(canonicalName(name));
  }

  /** Every folder: INBOX and the Maildir++ directories, with attributes and subscription. */
  async list(): Promise<MailboxListing[]> {
    const names = ["INBOX"];
    for (const entry of await listNames(this.root)) {
      const name = folderName(entry);
      if (name === undefined) continue;
      try {
        if ((await Deno.stat(join(this.root, entry))).isDirectory) names.push(name);
      } catch {
        // gone meanwhile
      }
    }
    const subscribed = new Set(await this.subscriptions());
    // Maildir++ has no directory for a parent of ".A.B" alone: list "A" as \NonExistent (RFC 5258 3).
    const exists = new Set(names);
    for (const name of [...names]) {
      const levels = name.split(SEPARATOR);
      for (let i = 1; i < levels.length; i++) {
        const parent = levels.slice(0, i).join(SEPARATOR);
        if (!exists.has(parent) && !names.includes(parent)) names.push(parent);
      }
    }
    names.sort((a, b) => (a === "INBOX" ? -1 : b === "INBOX" ? 1 : a < b ? -1 : a > b ? 1 : 0));
    return names.map((name) => {
      const children = names.some((n) => n.startsWith(name + SEPARATOR));
      const attributes = exists.has(name) ? [] : ["\\NonExistent"];
      attributes.push(children ? "\\HasChildren" : "\\HasNoChildren");
      const use = specialUse(name);
      if (use) attributes.push(use);
      return { name, attributes, subscribed: subscribed.has(name) };
    });
  }

  /** CREATE: the folder's Maildir and its maildirfolder file (as Dovecot and Courier make them). */
  async createMailbox(name: string): Promise<void> {
    const canonical = this.#checked(name);
    if (canonical === "INBOX") throw new MailstoreError("ALREADYEXISTS", "INBOX always exists");
    const dir = folderDir(this.root, canonical);
    try {
      await Deno.mkdir(dir, { mode: 0o700 });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        throw new MailstoreError("ALREADYEXISTS", `mailbox ${canonical} already exists`);
      }
      throw e;
    }
    for (const sub of ["cur", "new", "tmp"]) await Deno.mkdir(join(dir, sub), { mode: 0o700 });
    await Deno.writeFile(join(dir, "maildirfolder"), new Uint8Array(), { mode: 0o600 });
  }

  /**
   * DELETE: removes the folder's directory (its messages go; quota
   * recounted). Children stay (Maildir++ folders are independent
   * directories). INBOX cannot be deleted (RFC 3501 6.3.4).
   */
  async deleteMailbox(name: string): Promise<void> {
    const canonical = this.#checked(name);
    if (canonical === "INBOX") throw new MailstoreError("CANNOT", "INBOX cannot be deleted");
    const dir = folderDir(this.root, canonical);
    const doomed = join(this.root, `.${Deno.pid}.deleting.${Date.now()}`);
    try {
      await Deno.rename(dir, doomed); // atomic: the folder disappears at once
    } catch (e) {
      if (isNotFound(e)) {
        throw new MailstoreError("NONEXISTENT", `mailbox ${canonical} does not exist`);
      }
      throw e;
    }
    const mailbox = this.#mailboxes.get(canonical);
    this.#mailboxes.delete(canonical);
    const row = this.index.mailbox(canonical);
    if (row) this.index.transaction(() => this.index.dropMailbox(row.id));
    await Deno.remove(doomed, { recursive: true });
    if (mailbox) await mailbox.sync().catch(() => {});
    const size = await currentMaildirsize(this.root);
    if (size) await rewriteMaildirsize(this.root, size.limit);
  }

  /**
   * RENAME (RFC 3501 6.3.5): the folder and its children move, keeping
   * their UIDs and UIDVALIDITY. Renaming INBOX moves its messages to a new
   * folder and leaves INBOX empty.
   */
  async renameMailbox(from: string, to: string): Promise<void> {
    const source = this.#checked(from);
    const target = this.#checked(to);
    if (target === "INBOX") throw new MailstoreError("ALREADYEXISTS", "INBOX already exists");
    if (source === "INBOX") return await this.#renameInbox(target);
    const existing = await this.list();
    if (existing.some((m) => m.name === target)) {
      throw new MailstoreError("ALREADYEXISTS", `mailbox ${target} already exists`);
    }
    if (target.startsWith(source + SEPARATOR)) {
      throw new MailstoreError("CANNOT", `cannot rename ${source} into itself`);
    }
    const moving = existing.map((m) => m.name).filter((n) =>
      n === source || n.startsWith(source + SEPARATOR)
    );
    if (!moving.includes(source)) {
      throw new MailstoreError("NONEXISTENT", `mailbox ${source} does not exist`);
    }
    for (const name of moving) {
      const renamed = target + name.slice(source.length);
      await Deno.rename(folderDir(this.root, name), folderDir(this.root, renamed));
      this.index.transaction(() => this.index.renameMailbox(name, renamed));
      const open = this.#mailboxes.get(name);
      if (open) {
        this.#mailboxes.delete(name);
        open.renamed(renamed, folderDir(this.root, renamed));
        this.#mailboxes.set(renamed, open);
      }
    }
    const subs = await this.subscriptions();
    if (subs.some((s) => moving.includes(s))) {
      await this.#writeSubscriptions(
        subs.map((s) => (moving.includes(s) ? target + s.slice(source.length) : s)),
      );
    }
  }

  async #renameInbox(target: string): Promise<void> {
    await this.createMailbox(target);
    const inbox = await this.mailbox("INBOX");
    await inbox.move(inbox.uids(), await this.mailbox(target));
  }

  #checked(name: string): string {
    try {
      return checkName(name);
    } catch (e) {
      if (e instanceof MailboxNameError) throw new MailstoreError("CANNOT", e.message);
      throw e;
    }
  }

  /** Subscribed names (Dovecot's subscriptions file). */
  async subscriptions(): Promise<string[]> {
    const text = await readTextIfExists(join(this.root, SUBSCRIPTIONS_FILE));
    return text === undefined ? [] : parseSubscriptions(text);
  }

  async subscribe(name: string): Promise<void> {
    const canonical = this.#checked(name);
    const subs = await this.subscriptions();
    if (!subs.includes(canonical)) await this.#writeSubscriptions([...subs, canonical]);
  }

  async unsubscribe(name: string): Promise<void> {
    const canonical = canonicalName(name);
    const subs = await this.subscriptions();
    if (subs.includes(canonical)) {
      await this.#writeSubscriptions(subs.filter((s) => s !== canonical));
    }
  }

  async #writeSubscriptions(names: string[]): Promise<void> {
    await writeFileAtomic(join(this.root, SUBSCRIPTIONS_FILE), formatSubscriptions(names));
  }

  /**
   * Usage and limit. With a maildirsize file (Maildir++ quota, shared with
   * Dovecot/Courier and the delivery agents) it is the source; otherwise the
   * index totals of the folders opened so far.
   */
  async quota(): Promise<QuotaReport> {
    const size = await currentMaildirsize(this.root);
    if (size) return { usage: size.usage, limit: size.limit, source: "maildirsize" };
    return { usage: this.index.usage(), limit: {}, source: "index" };
  }

  /** Sets the per-user limit: maildirsize is (re)written with it and a fresh count. */
  async setQuotaLimit(limit: QuotaLimit): Promise<void> {
    await rewriteMaildirsize(this.root, limit);
  }

  /** Throws QuotaExceededError when adding `bytes` in `messages` messages would pass the limit. */
  async checkQuota(bytes: number, messages: number): Promise<void> {
    const size = await currentMaildirsize(this.root);
    if (size && overQuota(size.limit, size.usage, bytes, messages)) throw new QuotaExceededError();
  }

  async #recordUsage(bytes: number, messages: number): Promise<void> {
    if (bytes === 0 && messages === 0) return;
    try {
      await appendMaildirsize(this.root, bytes, messages);
    } catch (e) {
      if (!isNotFound(e)) throw e; // no quota file: nothing to keep up to date
    }
  }

  /** Closes the index; use closeMailstore() for stores from openMailstore(). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mailboxes.clear();
    this.index.close();
  }
}

interface Entry {
  store: Promise<Mailstore>;
  users: number;
}

const registry = new Map<string, Entry>();

function key(root: string): string {
  const abs = resolve(root);
  return abs.length > 1 && abs.endsWith("/") ? abs.slice(0, -1) : abs;
}

/**
 * The store of `root`, shared by every caller in this process until each
 * has called closeMailstore() (reference counted).
 */
export async function openMailstore(
  root: string,
  options: MailstoreOptions = {},
): Promise<Mailstore> {
  const k = key(root);
  let entry = registry.get(k);
  if (!entry) {
    entry = { store: Mailstore.create(k, options), users: 0 };
    registry.set(k, entry);
    entry.store.catch(() => registry.delete(k));
  }
  entry.users++;
  return await entry.store;
}

/** Releases one openMailstore(); the last one closes the index. */
export async function closeMailstore(store: Mailstore): Promise<void> {
  const k = key(store.root);
  const entry = registry.get(k);
  if (!entry || (await entry.store) !== store) return store.close();
  if (--entry.users > 0) return;
  registry.delete(k);
  store.close();
}

/** The open store of `root`, if any (delivery uses it to notify sessions). */
export async function openedMailstore(root: string): Promise<Mailstore | undefined> {
  const entry = registry.get(key(root));
  if (!entry) return undefined;
  try {
    return await entry.store;
  } catch {
    return undefined;
  }
}
