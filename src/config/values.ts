/** Postfix value syntax: lists, time units, booleans. Pure functions. */

/**
 * Splits a list value on whitespace and commas, keeping `{ ... }` groups
 * whole (postconf(5): "Specify a list of values separated by comma or
 * whitespace"; inline:{ a=b, c=d } stays one element).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let current = "";
  let depth = 0;
  for (const ch of value) {
    if (ch === "{") depth++;
    if (ch === "}") depth = Math.max(0, depth - 1);
    if (depth === 0 && (ch === "," || /\s/.test(ch))) {
      if (current) out.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (current) out.push(current);
  return out;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;
export type TimeUnit = keyof typeof UNIT_SECONDS;

/** "300s", "5d", "1h", or a bare number in `unit`. Returns seconds, or undefined if malformed. */
export function parseTime(value: string, unit: TimeUnit = "s"): number | undefined {
  const m = /^\s*(\d+)\s*([smhdw])?\s*$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[(m[2] as TimeUnit | undefined) ?? unit];
}

/** postconf(5) booleans are yes/no; true/false accepted because TOML has them. */
export function parseBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === "yes" || v === "true") return true;
  if (v === "no" || v === "false") return false;
  return undefined;
}

export function parseInteger(value: string): number | undefined {
  return /^\s*\d+\s*$/.test(value) ? Number(value) : undefined;
}
