/**
 * The EHLO reply: the service extensions offered (RFC 5321 4.1.1.1), in
 * Postfix's order, minus postconf(5) smtpd_discard_ehlo_keywords.
 */
import type { SmtpdSettings } from "./settings.ts";

/** Whether an EHLO keyword is announced (not discarded by configuration). */
export function announced(settings: SmtpdSettings, keyword: string): boolean {
  return !settings.discardEhloKeywords.has(keyword.toLowerCase());
}

/** Keyword lines after the greeting line, e.g. ["PIPELINING", "SIZE 10240000", ...]. */
export function ehloKeywords(settings: SmtpdSettings, offers: { etrn?: boolean } = {}): string[] {
  const offered: [string, string][] = [
    ["PIPELINING", "PIPELINING"], // RFC 2920
    ["SIZE", settings.messageSizeLimit > 0 ? `SIZE ${settings.messageSizeLimit}` : "SIZE"], // RFC 1870
  ];
  if (!settings.disableVrfy) offered.push(["VRFY", "VRFY"]);
  if (offers.etrn) offered.push(["ETRN", "ETRN"]); // RFC 1985, when a flush service is wired in
  // STARTTLS and AUTH are announced once they are implemented.
  offered.push(
    ["ENHANCEDSTATUSCODES", "ENHANCEDSTATUSCODES"], // RFC 2034
    ["8BITMIME", "8BITMIME"], // RFC 6152
    ["DSN", "DSN"], // RFC 3461
  );
  if (settings.smtputf8Enable) offered.push(["SMTPUTF8", "SMTPUTF8"]); // RFC 6531
  offered.push(["CHUNKING", "CHUNKING"]); // RFC 3030
  // RFC 3030 3: BODY=BINARYMIME needs CHUNKING too.
  if (announced(settings, "CHUNKING")) offered.push(["BINARYMIME", "BINARYMIME"]);
  return offered.filter(([k]) => announced(settings, k)).map(([, line]) => line);
}

/** Reply text of several lines: "250-a\r\n250 b" (RFC 5321 4.2.1), without the final CRLF. */
export function multiline(code: number, lines: string[]): string {
  return lines.map((l, i) => `${code}${i === lines.length - 1 ? " " : "-"}${l}`).join("\r\n");
}
