/**
 * cidr: tables (cidr_table(5)): ordered rules, the first match wins.
 *
 *   network/prefix result   or   address result   (brackets allowed: [2001:db8::]/32)
 *   !network/prefix result       result when the key is not in the network
 *   if network/prefix ... endif  (or "if !network/prefix"), nests
 *
 * Patterns and keys are compared as binary addresses, so IPv6 spelling does
 * not matter. A rule only applies to keys of its own address family; a key
 * that is not an IP address (or is written in brackets) matches nothing. The
 * host bits of a pattern must be zero. Read once at open, like Postfix. A bad
 * rule is reported with file:line and skipped, the rest loads (dict_cidr.c:
 * "skipping this rule").
 */

import { formatIp, type IpAddress, maskAddress, parseIp, samePrefix } from "./ip.ts";
import { isSpace, trimSpace } from "./lines.ts";
import { keyword, parseRuleLines, tableSource } from "./rule_source.ts";
import type { LookupTable } from "./types.ts";

interface Network extends IpAddress {
  prefix: number;
  negate: boolean;
}

type CidrRule =
  | { op: "match"; line: number; net: Network; result: string }
  | { op: "if"; line: number; net: Network; endif: number }
  | { op: "endif"; line: number };

/** "!pattern": negations, then the pattern; returns the rest of the text. */
function takeNetwork(text: string): { net: Network; rest: string } {
  let i = 0;
  let negate = false;
  for (; i < text.length; i++) {
    if (text[i] === "!") negate = !negate;
    else if (!isSpace(text[i])) break;
  }
  const end = text.slice(i).search(/[ \t\n\v\f\r]/);
  const token = end < 0 ? text.slice(i) : text.slice(i, i + end);
  const rest = end < 0 ? "" : text.slice(i + end);
  if (token === "") throw new Error("no address pattern");
  return { net: { ...parseNetwork(token), negate }, rest };
}

/** "addr", "addr/len", "[addr]/len" or "[addr/len]". */
export function parseNetwork(token: string): IpAddress & { prefix: number } {
  let text = token;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new Error(`missing ']' character after "${token}"`);
    text = text.slice(1, close) + text.slice(close + 1);
  }
  const slash = text.indexOf("/");
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) throw new Error(`bad address pattern: "${token}"`);
  const maxPrefix = address.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const mask = text.slice(slash + 1);
    if (!/^\d+$/.test(mask)) throw new Error(`bad mask value in "${token}"`);
    prefix = Number(mask);
    if (prefix > maxPrefix) throw new Error(`bad mask length in "${token}"`);
  }
  const network = maskAddress(address.bytes, prefix);
  if (network.some((byte, i) => byte !== address.bytes[i])) {
    const suggestion = `${formatIp({ family: address.family, bytes: network })}/${prefix}`;
    throw new Error(
      `non-null host address bits in "${token}", perhaps you should use "${suggestion}" instead`,
    );
  }
  return { ...address, prefix };
}

function parseCidrRule(text: string, line: number): CidrRule {
  if (keyword(text, "if")) {
    const { net, rest } = takeNetwork(text.slice(2));
    if (trimSpace(rest) !== "") {
      throw new Error(`extra text after IF statement: "${trimSpace(rest)}"`);
    }
    return { op: "if", line, net, endif: -1 };
  }
  if (keyword(text, "endif")) {
    if (trimSpace(text.slice(5)) !== "") throw new Error("extra text after ENDIF");
    return { op: "endif", line };
  }
  const { net, rest } = takeNetwork(text);
  const result = trimSpace(rest);
  if (result === "") throw new Error("no lookup result");
  return { op: "match", line, net, result };
}

/** Same family and (not) inside the network; a rule of the other family never applies. */
function applies(net: Network, key: IpAddress): boolean {
  if (net.family !== key.family) return false;
  return samePrefix(net.bytes, key.bytes, net.prefix) !== net.negate;
}

export function evaluateCidr(rules: CidrRule[], key: string): string | undefined {
  const address = parseIp(key);
  if (!address) return undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.op === "endif") continue;
    if (rule.op === "if") {
      if (!applies(rule.net, address)) i = rule.endif;
      continue;
    }
    if (applies(rule.net, address)) return rule.result;
  }
  return undefined;
}

export function openCidr(
  spec: string,
  name: string,
  resolvePath: (p: string) => string,
  warn: (message: string) => void = () => {},
): LookupTable {
  const { lines, ctx } = tableSource(spec, name, resolvePath);
  const rules = parseRuleLines(lines, ctx, parseCidrRule, (m) => warn(`${m} (table ${spec})`));
  return { spec, pattern: true, lookup: (key) => Promise.resolve(evaluateCidr(rules, key)) };
}
