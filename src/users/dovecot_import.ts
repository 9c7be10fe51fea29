/**
 * From a Dovecot passwd-file to users rows: the hash is kept exactly as
 * written ({SHA512-CRYPT}, {BLF-CRYPT}, {ARGON2ID}, {PLAIN}..., or no prefix
 * = Dovecot's default CRYPT), so a Postfix+Dovecot server moves over
 * without password resets. The caller runs this inside one transaction.
 */
import { parseExtraFields, parsePasswdFile } from "../auth/passwd_file.ts";
import { splitScheme, SUPPORTED_SCHEMES } from "../auth/schemes.ts";
import { UsersError } from "./errors.ts";
import { type Address, parseMailboxAddress, parseQuota, quote } from "./syntax.ts";
import type { ImportResult } from "./types.ts";

/** The reads and writes an import needs, inside the caller's transaction. */
export interface ImportTransaction {
  domainExists(domain: string): boolean;
  userExists(address: string): boolean;
  insertDomain(domain: string): void;
  insertUser(a: Address, hash: string, quota: number): void;
}

export interface ImportOptions {
  /** Domain of entries without "@domain" (already checked). */
  domainDefault?: string;
  /** Add the domains that do not exist yet instead of refusing their users. */
  createDomains: boolean;
}

/**
 * Dovecot quota rules "userdb_quota_rule=*:storage=1G" (or without the
 * userdb_ prefix) → bytes; other rules (percentages, other mailboxes) → none.
 */
export function quotaFromExtra(extra: string | undefined): number {
  if (!extra) return 0;
  const fields = parseExtraFields(extra);
  const rule = fields["userdb_quota_rule"] ?? fields["quota_rule"];
  const m = rule === undefined ? null : /^\*:storage=(\d+[kmgt]?)b?$/i.exec(rule);
  return m ? parseQuota(m[1]) : 0;
}

const KNOWN = new Set<string>(SUPPORTED_SCHEMES);

export function importPasswdFile(
  text: string,
  tx: ImportTransaction,
  opts: ImportOptions,
): ImportResult {
  const parsed = parsePasswdFile(text);
  const result: ImportResult = { imported: 0, skipped: 0, errors: [...parsed.errors] };
  for (const entry of parsed.entries) {
    const fail = (message: string) => result.errors.push({ line: entry.line, message });
    const name = entry.user.includes("@") || opts.domainDefault === undefined
      ? entry.user
      : `${entry.user}@${opts.domainDefault}`;
    if (!name.includes("@")) {
      fail(`user ${quote(entry.user)} has no @domain: give the domain to use (--domain)`);
      continue;
    }
    let a: Address;
    try {
      a = parseMailboxAddress(name);
    } catch (e) {
      if (!(e instanceof UsersError)) throw e;
      fail(e.message);
      continue;
    }
    if (entry.password === "") {
      fail(`user ${a.address} has an empty password field: not imported`);
      continue;
    }
    const { scheme } = splitScheme(entry.password);
    if (!KNOWN.has(scheme)) {
      fail(`user ${a.address}: password scheme {${scheme}} cannot be checked by facteur`);
      continue;
    }
    if (tx.userExists(a.address)) {
      result.skipped++;
      continue;
    }
    if (!tx.domainExists(a.domain)) {
      if (!opts.createDomains) {
        fail(`user ${a.address}: no such domain ${a.domain} (add it first, or create domains)`);
        continue;
      }
      tx.insertDomain(a.domain);
    }
    let quota: number;
    try {
      quota = quotaFromExtra(entry.extra);
    } catch {
      fail(`user ${a.address}: bad quota rule in ${quote(entry.extra ?? "")}`);
      continue;
    }
    tx.insertUser(a, entry.password, quota);
    result.imported++;
  }
  result.errors.sort((x, y) => x.line - y.line);
  return result;
}
