/**
 * Lookup tables, `type:name` as in Postfix (DATABASE_README, postconf(5)
 * "lookup tables"). One interface, many kinds.
 */

export interface LookupTable {
  /** The spec the table was opened with, e.g. "hash:/etc/postfix/access". */
  readonly spec: string;
  /**
   * True for tables whose keys are patterns (regexp, pcre, cidr). Postfix only
   * queries these with the full lookup string, never with the partial keys of a
   * search order (parent domains, user@, ...): DICT_FLAG_PATTERN vs DICT_FLAG_FIXED.
   */
  readonly pattern?: boolean;
  /**
   * Value for exactly this key, or undefined. Keys are case-folded to lower case
   * like Postfix for the hash/texthash/inline/static/aliases/unix kinds (regexp
   * kinds get the key as is). Rejects with ConfigError when the table cannot
   * answer (e.g. a regexp result that expands to the empty string).
   */
  lookup(key: string): Promise<string | undefined>;
  close?(): void;
}

/** Options for openMap(). */
export interface MapOptions {
  /** Parse hash:/texthash: sources as aliases(5) files (alias_maps, alias_database). */
  aliases?: boolean;
  /** Directory that relative table paths are resolved against (default: the process cwd). */
  baseDir?: string;
  /**
   * Receives the warnings Postfix would log but that do not stop the table
   * from working (duplicate keys, "key: value" lines in a postmap file, a
   * table that failed to reload). Default: console.warn.
   */
  onWarning?: (message: string) => void;
  /** hash: tables stat their source at most this often, in ms (default 1000). */
  reloadIntervalMs?: number;
  /**
   * Deadline of a regexp:/pcre: lookup that runs in the regex sandbox, in ms
   * (default 250); past it the lookup fails with a temporary error.
   */
  regexTimeoutMs?: number;
  /**
   * Table kinds served by modules above this one (the `facteur:` tables of
   * src/users), by type name: the maps module stays the ground floor.
   */
  kinds?: Readonly<Record<string, (spec: string, name: string) => LookupTable>>;
}
