/**
 * The syntax of what the users store holds: mailbox addresses, domain names,
 * alias keys and targets, quotas and mailbox paths. Each check returns the
 * normalised value or throws a UsersError("invalid") naming the problem.
 */
import { UsersError } from "./errors.ts";

const encoder = new TextEncoder();
const octets = (text: string) => encoder.encode(text).length;

// RFC 5322 3.2.3 atext, plus any non-ASCII character (RFC 6531 3.3 UTF8-non-ascii).
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+$/u;
// RFC 1035 2.3.1 labels (letters, digits, hyphens), or U-labels (RFC 5890) kept as is.
const LABEL =
  /^[a-z0-9\u0080-\u{10ffff}]([a-z0-9\-\u0080-\u{10ffff}]*[a-z0-9\u0080-\u{10ffff}])?$/u;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\s]/u;

function invalid(message: string): UsersError {
  return new UsersError("invalid", message);
}

/** Shown in messages: at most 80 characters, controls escaped by JSON. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text);
}

/**
 * A domain name, lower-cased without a trailing dot: labels of letters,
 * digits and inner hyphens, 1-63 octets each, 255 in all (RFC 1035 2.3.4).
 */
export function parseDomain(input: string): string {
  const name = input.trim().toLowerCase().replace(/\.$/, "");
  if (name === "") throw invalid("empty domain name");
  if (CONTROLS.test(name)) throw invalid(`bad domain name ${quote(input)}: spaces or controls`);
  if (name.startsWith("[")) {
    throw invalid(`bad domain name ${quote(input)}: address literals cannot be mail domains here`);
  }
  if (octets(name) > 255) throw invalid(`bad domain name ${quote(input)}: longer than 255 octets`);
  for (const label of name.split(".")) {
    if (label === "") throw invalid(`bad domain name ${quote(input)}: empty label`);
    if (octets(label) > 63) {
      throw invalid(`bad domain name ${quote(input)}: label longer than 63 octets`);
    }
    if (!LABEL.test(label)) {
      throw invalid(
        `bad domain name ${
          quote(input)
        }: "${label}" (labels are letters, digits and inner hyphens)`,
      );
    }
  }
  return name;
}

/**
 * A dot-atom local part (RFC 5322 3.2.3, UTF-8 allowed by RFC 6531), at most
 * 64 octets (RFC 5321 4.5.3.1.1). Quoted local parts are refused.
 */
function checkLocalPart(local: string, input: string): void {
  const bad = (why: string) => invalid(`bad address ${quote(input)}: ${why}`);
  if (local === "") throw bad("empty local part");
  if (local.startsWith('"')) throw bad("quoted local parts are not supported");
  if (octets(local) > 64) throw bad("local part longer than 64 octets");
  if (local.split(".").some((atom) => atom === "")) {
    throw bad('local part starts or ends with ".", or has ".." (RFC 5322 dot-atom)');
  }
  if (!local.split(".").every((atom) => ATEXT.test(atom))) {
    throw bad("local part has characters outside RFC 5322 atext (spaces, @, <, >, comma...)");
  }
}

export interface Address {
  /** "local@domain", lower-cased. */
  address: string;
  local: string;
  domain: string;
}

/** Splits at the last "@" (RFC 5321 4.1.2: the domain follows the last "@"). */
function split(text: string): { local: string; domain?: string } {
  const at = text.lastIndexOf("@");
  return at < 0 ? { local: text } : { local: text.slice(0, at), domain: text.slice(at + 1) };
}

/**
 * A mailbox address "local@domain", lower-cased as virtual(8) folds it. The
 * local part may not hold "/": it names a directory of the mailbox path.
 */
export function parseMailboxAddress(input: string): Address {
  const text = input.trim();
  if (text === "") throw invalid("empty address");
  if (CONTROLS.test(text)) throw invalid(`bad address ${quote(input)}: spaces or controls`);
  const { local, domain } = split(text.toLowerCase());
  if (domain === undefined) throw invalid(`bad address ${quote(input)}: no "@domain"`);
  checkLocalPart(local, input);
  if (local.includes("/")) {
    throw invalid(`bad address ${quote(input)}: "/" in a local part (it would name a directory)`);
  }
  const name = parseDomain(domain);
  return { address: `${local}@${name}`, local, domain: name };
}

/** An alias key: "local@domain", or "@domain" for the domain's catch-all (virtual(5)). */
export function parseAliasAddress(input: string): Address {
  const text = input.trim();
  if (text.startsWith("@")) {
    const domain = parseDomain(text.slice(1));
    return { address: `@${domain}`, local: "", domain };
  }
  if (text === "") throw invalid("empty alias address");
  if (CONTROLS.test(text)) throw invalid(`bad address ${quote(input)}: spaces or controls`);
  const { local, domain } = split(text.toLowerCase());
  if (domain === undefined) {
    throw invalid(`bad alias address ${quote(input)}: use "user@domain" or "@domain"`);
  }
  checkLocalPart(local, input);
  const name = parseDomain(domain);
  return { address: `${local}@${name}`, local, domain: name };
}

/**
 * One alias target as virtual(5) takes it: "user@domain", or a bare "user"
 * (cleanup appends @$myorigin). Case is kept: remote local parts may care.
 */
export function parseAliasTarget(input: string): string {
  const text = input.trim();
  if (text === "") throw invalid("empty alias target");
  if (CONTROLS.test(text) || text.includes(",")) {
    throw invalid(`bad alias target ${quote(input)}: spaces, commas or controls`);
  }
  if (text.startsWith("|") || text.startsWith("/") || text.startsWith(":include:")) {
    throw invalid(
      `bad alias target ${quote(input)}: commands, files and :include: belong in aliases(5), ` +
        "not virtual aliases",
    );
  }
  const { local, domain } = split(text);
  checkLocalPart(local, input);
  if (domain === undefined) return local;
  return `${local}@${parseDomain(domain)}`;
}

/** A target list: at least one, each valid, none twice. */
export function parseAliasTargets(inputs: readonly string[]): string[] {
  const targets = inputs.flatMap((t) => t.split(",")).filter((t) => t.trim() !== "")
    .map(parseAliasTarget);
  if (targets.length === 0) throw invalid("an alias needs at least one target");
  const seen = new Set<string>();
  for (const target of targets) {
    const key = target.toLowerCase();
    if (seen.has(key)) throw invalid(`alias target ${quote(target)} is listed twice`);
    seen.add(key);
  }
  return targets;
}

const UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A quota in bytes: "0" (none), "1073741824", "500M", "1G", "1GiB", "2 T"
 * (binary multiples, as Dovecot's quota_rule storage= sizes).
 */
export function parseQuota(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw invalid(`bad quota ${input}: a whole number of bytes, 0 for none`);
    }
    return input;
  }
  const m = /^(\d{1,16})\s*([kmgt]?)(?:i?b)?$/i.exec(input.trim());
  const bytes = m ? Number(m[1]) * UNITS[m[2].toLowerCase()] : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw invalid(`bad quota ${quote(input)}: a size such as 0 (none), 500M, 1G or 1073741824`);
  }
  return bytes;
}

/** 1073741824 → "1G"; sizes that are not whole multiples stay in bytes. */
export function formatQuota(bytes: number): string {
  if (bytes === 0) return "none";
  for (const unit of ["T", "G", "M", "K"]) {
    const size = UNITS[unit.toLowerCase()];
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/**
 * A mailbox path relative to virtual_mailbox_base (virtual(8)): a trailing
 * "/" means Maildir. No absolute paths and no ".." (it must stay inside the base).
 */
export function parseMaildirPath(input: string): string {
  const path = input.trim();
  if (path === "") throw invalid("empty mailbox path");
  if (/[\u0000-\u001f\u007f]/.test(path)) {
    throw invalid(`bad mailbox path ${quote(input)}: controls`);
  }
  if (path.startsWith("/")) {
    throw invalid(`bad mailbox path ${quote(input)}: it is relative to virtual_mailbox_base`);
  }
  if (path.split("/").includes("..")) {
    throw invalid(`bad mailbox path ${quote(input)}: ".." would leave virtual_mailbox_base`);
  }
  return path;
}

/** The default mailbox path from a template: %d = domain, %n = local part, %u = address, %% = %. */
export function mailboxPath(template: string, address: Address): string {
  const path = template.replace(
    /%([dnu%])/g,
    (_, c: string) =>
      c === "d" ? address.domain : c === "n" ? address.local : c === "u" ? address.address : "%",
  );
  return parseMaildirPath(path);
}

/** Passwords: not empty, no NUL or line breaks (they could not be typed or sent), ≤ 1024 bytes. */
export function checkPassword(password: string): void {
  if (password === "") throw invalid("empty password");
  if (/[\u0000\r\n]/.test(password)) throw invalid("password contains NUL or a line break");
  if (octets(password) > 1024) throw invalid("password longer than 1024 bytes");
}
