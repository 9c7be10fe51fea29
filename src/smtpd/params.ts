/**
 * ESMTP parameters of MAIL FROM and RCPT TO: SIZE (RFC 1870), BODY (RFC 6152,
 * RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461).
 * Reply texts follow Postfix's smtpd.
 */
import { MailError } from "../errors.ts";
import type { DsnNotify } from "../queue/types.ts";
import { decodeXtext } from "./xtext.ts";

export interface EsmtpParam {
  /** Upper-cased keyword. */
  keyword: string;
  value?: string;
  /** As written, for error messages. */
  raw: string;
}

/** What the server offers, deciding which parameters are accepted. */
export interface ParamCapabilities {
  /** message_size_limit in bytes; 0 = none. */
  messageSizeLimit: number;
  smtputf8: boolean;
  dsn: boolean;
  binarymime: boolean;
}

export interface MailParams {
  size?: number;
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  smtputf8: boolean;
  ret?: "FULL" | "HDRS";
  envid?: string;
}

export interface RcptParams {
  notify?: DsnNotify[];
  /** "addr-type;address", xtext decoded. */
  orcpt?: string;
}

const unsupported = (raw: string) => new MailError(555, "5.5.4", `Unsupported option: ${raw}`);
const dsnDisabled = () => new MailError(501, "5.7.1", "DSN support is disabled");

/** Splits "SIZE=100 BODY=8BITMIME" (RFC 5321 4.1.2 esmtp-param) into keywords and values. */
export function splitParams(text: string): EsmtpParam[] | MailError {
  if (text.trim() === "") return [];
  const params: EsmtpParam[] = [];
  for (const raw of text.trim().split(/[ \t]+/)) {
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value excludes "=", SP, controls.
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:=([^=\x00-\x20\x7f]+))?$/u.exec(raw);
    if (!m) return unsupported(raw);
    params.push({ keyword: m[1].toUpperCase(), value: m[2], raw });
  }
  return params;
}

export function parseMailParams(
  params: EsmtpParam[],
  caps: ParamCapabilities,
): MailParams | MailError {
  const out: MailParams = { smtputf8: false };
  const seen = new Set<string>();
  for (const p of params) {
    const again = seen.has(p.keyword);
    seen.add(p.keyword);
    switch (p.keyword) {
      case "SIZE": { // RFC 1870
        if (p.value === undefined || !/^\d+$/.test(p.value) || again) {
          return new MailError(501, "5.5.4", "Bad message size syntax");
        }
        const size = Number(p.value);
        if (caps.messageSizeLimit > 0 && size > caps.messageSizeLimit) {
          return new MailError(552, "5.3.4", "Message size exceeds fixed limit");
        }
        out.size = size;
        break;
      }
      case "BODY": { // RFC 6152, RFC 3030 3
        const body = p.value?.toUpperCase();
        if (body === "7BIT" || body === "8BITMIME" || (body === "BINARYMIME" && caps.binarymime)) {
          if (again) return new MailError(501, "5.5.4", "Bad BODY parameter syntax");
          out.body = body;
          break;
        }
        return unsupported(p.raw);
      }
      case "SMTPUTF8": // RFC 6531 3.4: no value
        if (!caps.smtputf8 || p.value !== undefined) return unsupported(p.raw);
        out.smtputf8 = true;
        break;
      case "RET": { // RFC 3461 4.3
        if (!caps.dsn) return dsnDisabled();
        const ret = p.value?.toUpperCase();
        if ((ret !== "FULL" && ret !== "HDRS") || again) {
          return new MailError(501, "5.5.4", "Bad RET parameter syntax");
        }
        out.ret = ret;
        break;
      }
      case "ENVID": { // RFC 3461 4.4: xtext, at most 100 characters, printable
        if (!caps.dsn) return dsnDisabled();
        const envid = p.value === undefined ? undefined : decodeXtext(p.value);
        if (envid === undefined || again || envid.length > 100 || !/^[\x20-\x7e]+$/.test(envid)) {
          return new MailError(501, "5.5.4", "Bad ENVID parameter syntax");
        }
        out.envid = envid;
        break;
      }
      default:
        return unsupported(p.raw);
    }
  }
  return out;
}

export function parseRcptParams(
  params: EsmtpParam[],
  caps: ParamCapabilities,
): RcptParams | MailError {
  const out: RcptParams = {};
  for (const p of params) {
    switch (p.keyword) {
      case "NOTIFY": { // RFC 3461 4.1
        if (!caps.dsn) return dsnDisabled();
        const notify = out.notify === undefined ? parseNotify(p.value) : undefined;
        if (!notify) return new MailError(501, "5.5.4", "Error: Bad NOTIFY parameter syntax");
        out.notify = notify;
        break;
      }
      case "ORCPT": { // RFC 3461 4.2: addr-type ";" xtext, at most 500 characters
        if (!caps.dsn) return dsnDisabled();
        const orcpt = out.orcpt === undefined ? parseOrcpt(p.value) : undefined;
        if (!orcpt) return new MailError(501, "5.5.4", "Error: Bad ORCPT parameter syntax");
        out.orcpt = orcpt;
        break;
      }
      default:
        return unsupported(p.raw);
    }
  }
  return out;
}

/** "NEVER" alone, or a set of SUCCESS, FAILURE, DELAY. */
export function parseNotify(value: string | undefined): DsnNotify[] | undefined {
  if (!value) return undefined;
  const items = value.toUpperCase().split(",");
  const allowed = ["SUCCESS", "FAILURE", "DELAY", "NEVER"];
  if (!items.every((i) => allowed.includes(i))) return undefined;
  if (new Set(items).size !== items.length) return undefined;
  if (items.includes("NEVER") && items.length > 1) return undefined;
  return items as DsnNotify[];
}

/** "rfc822;user+2Bx@example.com" → "rfc822;user+x@example.com". */
export function parseOrcpt(value: string | undefined): string | undefined {
  if (!value || value.length > 500) return undefined;
  const semi = value.indexOf(";");
  if (semi <= 0) return undefined;
  const type = value.slice(0, semi);
  if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/.test(type)) return undefined; // RFC 3461 addr-type = atom
  const address = decodeXtext(value.slice(semi + 1));
  if (address === undefined || address === "") return undefined;
  return `${type};${address}`;
}
