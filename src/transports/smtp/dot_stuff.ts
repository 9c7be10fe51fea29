/**
 * RFC 5321 4.5.2 transparency: a "." is doubled at the start of every line.
 * The content is sent byte for byte otherwise; a missing final CRLF is added
 * so that the terminating "." stands on its own line (RFC 5321 4.1.1.4).
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export function dotStuff(content: Uint8Array): Uint8Array {
  let dots = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === DOT && (i === 0 || content[i - 1] === LF)) dots++;
  }
  const endsWithCrlf = content.length === 0 ||
    (content.length >= 2 && content[content.length - 2] === CR &&
      content[content.length - 1] === LF);
  const out = new Uint8Array(content.length + dots + (endsWithCrlf ? 0 : 2));
  let at = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === DOT && (i === 0 || content[i - 1] === LF)) out[at++] = DOT;
    out[at++] = content[i];
  }
  if (!endsWithCrlf) {
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}
