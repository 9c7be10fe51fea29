/**
 * SMTP/LMTP server replies as a client sees them: parsing the (multi-line)
 * reply, its RFC 3463 status code, and Postfix smtp(8)-style status text.
 */

/** One complete server reply. */
export interface Reply {
  /** Basic reply code, RFC 5321 4.2. */
  code: number;
  /** The enhanced status code of the first line ("5.1.1"), when the server sent one. RFC 2034 */
  enhanced?: string;
  /** Text of each line, without the code and separator. */
  lines: string[];
}

/** One parsed reply line: "250-PIPELINING" → { code: 250, last: false, text: "PIPELINING" }. */
export interface ReplyLine {
  code: number;
  last: boolean;
  text: string;
}

/** Parses one reply line; undefined when it is not "ddd", "ddd text" or "ddd-text". RFC 5321 4.2 */
export function parseReplyLine(line: string): ReplyLine | undefined {
  const m = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/.exec(line);
  if (!m) return undefined;
  return { code: Number(m[1]), last: m[2] !== "-", text: m[3] ?? "" };
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/** Builds a Reply from its lines (all with the same code). */
export function makeReply(lines: ReplyLine[]): Reply {
  const code = lines[0].code;
  const m = ENHANCED.exec(lines[0].text);
  // RFC 3463 2: the class must agree with the basic code's first digit.
  const enhanced = m && m[1] === String(code)[0] ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
  // Continuation lines repeat the enhanced code (RFC 2034 4); the text keeps it once.
  const text = lines.map((l, i) =>
    i > 0 && enhanced && l.text.startsWith(`${enhanced} `)
      ? l.text.slice(enhanced.length + 1)
      : l.text
  );
  return { code, enhanced, lines: text };
}

/** The status code to record: the server's enhanced code, else derived from the basic code (X.0.0). */
export function replyDsn(reply: Reply): string {
  return reply.enhanced ?? `${Math.floor(reply.code / 100)}.0.0`;
}

/** "550 5.1.1 <u@x>: Recipient address rejected", multi-line text joined by spaces. */
export function replyText(reply: Reply): string {
  return `${reply.code} ${reply.lines.join(" ")}`.trimEnd();
}

/**
 * Postfix smtp(8) status text for a reply: `host mx[127.0.0.2] said: 550 5.1.1
 * <u@x>: Recipient address rejected (in reply to RCPT TO command)`.
 */
export function saidText(server: string, reply: Reply, command: string): string {
  return `host ${server} said: ${replyText(reply)} (in reply to ${command} command)`;
}

/** 2xx */
export const isPositive = (reply: Reply): boolean => reply.code >= 200 && reply.code < 300;
