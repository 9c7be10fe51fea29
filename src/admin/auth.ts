/**
 * Bearer tokens (RFC 6750 2.1) for the admin API. The config holds only
 * hashes ("sha256:HEX" in admin_tokens) or a file with one token in clear
 * (admin_token_file, which the CLI reads too). A presented token is hashed
 * and compared with every known digest in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";

const HASHED = /^sha256:([0-9a-fA-F]{64})$/;
/** RFC 6750 2.1 b64token */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text, "utf8").digest());
}

/** "sha256:HEX" of a token, the form admin_tokens takes (facteur token new). */
export function hashToken(token: string): string {
  return "sha256:" + createHash("sha256").update(token, "utf8").digest("hex");
}

/** The token of an Authorization header, or undefined when it carries none (scheme case-insensitive). */
export function bearerToken(header: string | undefined | null): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return m && B64TOKEN.test(m[1]) ? m[1] : undefined;
}

export class TokenSet {
  readonly #digests: readonly Uint8Array[];
  /** Things an administrator should know (a token file others can read). */
  readonly warnings: readonly string[];

  constructor(digests: Uint8Array[], warnings: string[] = []) {
    this.#digests = digests;
    this.warnings = warnings;
  }

  get size(): number {
    return this.#digests.length;
  }

  /** Whether `token` is one of ours; every digest is compared, so the time says nothing. */
  matches(token: string | undefined): boolean {
    if (token === undefined) return false;
    const presented = sha256(token);
    let found = false;
    for (const digest of this.#digests) found = timingSafeEqual(presented, digest) || found;
    return found;
  }
}

/** Digests from admin_tokens; a malformed entry is a ConfigError naming it. */
function hashedTokens(config: Config): Uint8Array[] {
  return config.list("admin_tokens").map((entry) => {
    const m = HASHED.exec(entry);
    if (!m) {
      throw new ConfigError(
        `parameter "admin_tokens": "${entry.slice(0, 20)}..." is not "sha256:" and 64 hex digits ` +
          "(make one with facteur token new)",
        { file: config.file, param: "admin_tokens" },
      );
    }
    return new Uint8Array(m[1].match(/../g)!.map((h) => parseInt(h, 16)));
  });
}

/** The token on the first line of admin_token_file, and a warning if others may read it. */
async function fileToken(path: string): Promise<{ digest: Uint8Array; warning?: string }> {
  let text: string;
  let mode: number | null;
  try {
    text = await Deno.readTextFile(path);
    mode = (await Deno.stat(path)).mode;
  } catch (err) {
    throw new ConfigError(`admin_token_file ${path}: ${(err as Error).message}`, {
      param: "admin_token_file",
    });
  }
  const token = text.split(/\r?\n/, 1)[0].trim();
  if (!B64TOKEN.test(token)) {
    throw new ConfigError(
      `admin_token_file ${path}: the first line must hold the token (letters, digits, -._~+/)`,
      { param: "admin_token_file" },
    );
  }
  const open = mode !== null && (mode & 0o077) !== 0;
  const warning = open
    ? `admin_token_file ${path} can be read by others (mode ${(mode! & 0o777).toString(8)}); ` +
      "make it 0600"
    : undefined;
  return { digest: sha256(token), warning };
}

/** Every token the config allows; rejects with ConfigError on a malformed hash or unreadable file. */
export async function loadTokens(config: Config): Promise<TokenSet> {
  const digests = hashedTokens(config);
  const warnings: string[] = [];
  const path = config.path("admin_token_file");
  if (path) {
    const { digest, warning } = await fileToken(path);
    digests.push(digest);
    if (warning) warnings.push(warning);
  }
  return new TokenSet(digests, warnings);
}

/**
 * The tokens of the running configuration, loaded again when it changes (a
 * reload). A token file that cannot be read refuses everyone, loudly, rather
 * than failing the requests with 500.
 */
export class TokenCache {
  #config?: Config;
  #tokens: Promise<TokenSet> = Promise.resolve(new TokenSet([]));
  readonly #log: (text: string) => void;

  constructor(log: (text: string) => void) {
    this.#log = log;
  }

  current(config: Config): Promise<TokenSet> {
    if (config !== this.#config) {
      this.#config = config;
      this.#tokens = loadTokens(config).then(
        (tokens) => {
          for (const warning of tokens.warnings) this.#log(`admin: warning: ${warning}`);
          if (tokens.size === 0) {
            this.#log("admin: no admin_tokens or admin_token_file: every request is refused");
          }
          return tokens;
        },
        (err) => {
          this.#log(`admin: error: ${(err as Error).message}: every request is refused`);
          return new TokenSet([]);
        },
      );
    }
    return this.#tokens;
  }
}
