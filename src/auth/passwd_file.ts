/**
 * Dovecot passwd-file reader, for importing users (doc.dovecot.org,
 * "Passwd-file"): one user per line,
 *
 *   user:password:uid:gid:(gecos):home:(shell):extra_fields
 *
 * Fields after the password are optional; the password may carry {SCHEME}.
 * Blank lines and lines starting with "#" are ignored. Like Dovecot
 * (db-passwd-file.c), a later duplicate of a user is reported and skipped,
 * and uid/gid must be non-zero numbers. Extra fields are a space-separated
 * list of key=value (a "userdb_" prefix applies them to the userdb); the old
 * format "...:shell::mail" (empty 8th field) becomes userdb_mail=mail.
 */

export interface PasswdEntry {
  user: string;
  /** As written, including any {SCHEME} prefix; may be empty. */
  password: string;
  uid?: number;
  gid?: number;
  home?: string;
  /** The raw extra fields, e.g. "userdb_quota_rule=*:storage=1G allow_nets=127.0.0.1". */
  extra?: string;
  /** 1-based line number in the file. */
  line: number;
}

export interface PasswdFileError {
  line: number;
  message: string;
}

export interface PasswdFile {
  entries: PasswdEntry[];
  errors: PasswdFileError[];
}

/** Parses the text of a passwd-file; bad lines are listed in `errors`, never thrown. */
export function parsePasswdFile(text: string): PasswdFile {
  const entries: PasswdEntry[] = [];
  const errors: PasswdFileError[] = [];
  const seen = new Set<string>();
  text.split("\n").forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "" || line.startsWith("#")) return;
    const result = parseLine(line, lineNumber);
    if ("message" in result) return errors.push(result);
    if (seen.has(result.user)) {
      return errors.push({
        line: lineNumber,
        message: `user ${result.user} exists more than once`,
      });
    }
    seen.add(result.user);
    entries.push(result);
  });
  return { entries, errors };
}

function parseLine(line: string, lineNumber: number): PasswdEntry | PasswdFileError {
  const fail = (message: string) => ({ line: lineNumber, message });
  const fields = line.split(":");
  const [user, password = "", uid, gid, _gecos, home, _shell, ...rest] = fields;
  if (user === "") return fail("empty user name");
  if (/\s/.test(user)) return fail(`user name "${user}" contains white space`);
  const entry: PasswdEntry = { user, password, line: lineNumber };
  if (fields.length === 1) return fail(`no ":" after user ${user} (need at least user:password)`);
  if (uid) {
    const value = parseId(uid);
    if (value === undefined) return fail(`user ${user} has invalid UID "${uid}"`);
    entry.uid = value;
  }
  if (gid) {
    const value = parseId(gid);
    if (value === undefined) return fail(`user ${user} has invalid GID "${gid}"`);
    entry.gid = value;
  }
  if (home) entry.home = home;
  const extra = extraFields(rest);
  if (extra) entry.extra = extra;
  return entry;
}

/** db-passwd-file.c: the old "::mail" form, else the fields rejoined with ":". */
function extraFields(rest: string[]): string | undefined {
  if (rest.length === 0) return undefined;
  if (rest[0] === "") {
    const mail = rest.slice(1).join(":");
    return mail ? `userdb_mail=${mail}` : undefined;
  }
  return rest.join(":");
}

/** A numeric uid/gid; Dovecot also refuses 0 (root). System user names are not resolved. */
function parseId(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 && value < 2 ** 32 - 1 ? value : undefined;
}

/** Splits extra fields into key/value pairs ("key" alone means "key="; later keys win). */
export function parseExtraFields(extra: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const item of extra.split(" ").filter(Boolean)) {
    const at = item.indexOf("=");
    if (at < 0) fields[item] = "";
    else fields[item.slice(0, at)] = item.slice(at + 1);
  }
  return fields;
}
