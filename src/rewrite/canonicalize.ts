/**
 * trivial-rewrite(8) "rewrite" service: the address completion cleanup(8)
 * asks for before any table lookup (ADDRESS_REWRITING_README "Rewrite
 * addresses to standard form"). Pure functions over internal (unquoted)
 * addresses, in Postfix's order:
 *
 * 1. "" stays ""; a lone "@" becomes "";
 * 2. a source route "@a,@b:user@c" is dropped;
 * 3. an address without "@": "site!user" → "user@site" (swap_bangpath), else
 *    "user%site" → "user@site" (allow_percent_hack), else "user" →
 *    "user@$origin" (append_at_myorigin);
 * 4. a domain without "." gets ".$domain" (append_dot_mydomain), except a
 *    domain literal;
 * 5. a trailing "." of the domain is removed.
 *
 * The "local" context completes with $myorigin and $mydomain; the "remote"
 * context (headers from clients outside local_header_rewrite_clients) with
 * $remote_header_rewrite_domain (postconf(5)).
 */
import type { Config } from "../config/mod.ts";

/** Where incomplete addresses are completed from (trivial-rewrite RWR_CONTEXT). */
export interface RewriteContext {
  name: "local" | "remote";
  /** Appended as "@origin" to an address without a domain; "" = nothing appended. */
  origin: string;
  /** Appended as ".domain" to a domain without a dot; "" = nothing appended. */
  domain: string;
}

/** The boolean switches of postconf(5) that shape the rewrite. */
export interface RewriteSwitches {
  swap_bangpath: boolean;
  allow_percent_hack: boolean;
  append_at_myorigin: boolean;
  append_dot_mydomain: boolean;
}

export function rewriteSwitches(config: Config): RewriteSwitches {
  return {
    swap_bangpath: config.bool("swap_bangpath"),
    allow_percent_hack: config.bool("allow_percent_hack"),
    append_at_myorigin: config.bool("append_at_myorigin"),
    append_dot_mydomain: config.bool("append_dot_mydomain"),
  };
}

/** rewrite.c local_context: $myorigin and $mydomain. */
export function localContext(config: Config): RewriteContext {
  return { name: "local", origin: config.get("myorigin"), domain: config.get("mydomain") };
}

/**
 * rewrite.c remote_context: both from remote_header_rewrite_domain; undefined
 * when it is empty (cleanup then leaves remote clients' headers alone).
 */
export function remoteContext(config: Config): RewriteContext | undefined {
  const domain = config.get("remote_header_rewrite_domain").trim();
  return domain === "" ? undefined : { name: "remote", origin: domain, domain };
}

/**
 * A localpart Postfix would quote (quote_822_local): then it is one quoted
 * token to tok822, and a "!" or "%" inside it is not an operator.
 */
function quotedLocalpart(local: string): boolean {
  return /[\x00-\x20\x7f()<>@,;:\\".[\]]/.test(local.replace(/\./g, "a")) ||
    local.startsWith(".") || local.endsWith(".") || local.includes("..");
}

/** Step 3: the forms without "@". */
function completeLocal(address: string, ctx: RewriteContext, sw: RewriteSwitches): string {
  const operators = !quotedLocalpart(address);
  const bang = address.indexOf("!");
  if (sw.swap_bangpath && operators && bang >= 0) {
    // rewrite.c: the first "!" splits site from the rest ("a!b!u" → "b!u@a").
    return `${address.slice(bang + 1)}@${address.slice(0, bang)}`;
  }
  const percent = address.lastIndexOf("%");
  if (sw.allow_percent_hack && operators && percent >= 0) {
    return `${address.slice(0, percent)}@${address.slice(percent + 1)}`;
  }
  if (sw.append_at_myorigin && ctx.origin !== "") return `${address}@${ctx.origin}`;
  return address;
}

/** trivial-rewrite's rewrite_tree() for one address in internal form. */
export function canonicalizeAddress(
  address: string,
  ctx: RewriteContext,
  sw: RewriteSwitches,
): string {
  if (address === "" || address === "@") return "";
  let out = address;
  // RFC 5321 4.1.1.3: a source route may be ignored.
  if (out.startsWith("@")) {
    const colon = out.indexOf(":");
    if (colon >= 0 && colon < out.length - 1) out = out.slice(colon + 1);
  }
  if (!out.includes("@")) out = completeLocal(out, ctx, sw);
  const at = out.lastIndexOf("@");
  const domain = at < 0 ? "" : out.slice(at + 1);
  // Leave broken forms ending in "@" alone, and never touch a domain literal.
  if (
    sw.append_dot_mydomain && ctx.domain !== "" && at >= 0 && domain !== "" &&
    !domain.includes("[") && !domain.includes(".")
  ) {
    out = `${out}.${ctx.domain}`;
  }
  // A trailing dot goes, but not from "..", nor "@." (kept for the diagnostics).
  if (out.endsWith(".") && out.length > 1 && !/[.@]$/.test(out.slice(0, -1))) {
    out = out.slice(0, -1);
  }
  return out;
}
