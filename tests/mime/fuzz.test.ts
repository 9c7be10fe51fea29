/**
 * 2,000 random and mutated messages: nothing throws, every range is inside
 * the buffer and ordered, and everything IMAP derives from the tree
 * (BODYSTRUCTURE, ENVELOPE, sections, decoding) is computed without error.
 * The generator is seeded, so a failure names a reproducible case.
 */
import assert from "node:assert/strict";
import {
  bodyStructure,
  decodeBody,
  decodeEncodedWords,
  envelope,
  fetchSection,
  formatBodyStructure,
  formatEnvelope,
  type MimePart,
  parseMessage,
} from "../../src/mime/mod.ts";
import { checkRanges, latin1, loadFixtures } from "./helpers.ts";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "\r\n",
  "\n",
  "\r",
  "--",
  "--b",
  "--b--",
  "--bb\r\n",
  ": ",
  "Content-Type: multipart/mixed; boundary=b\r\n",
  "Content-Type: multipart/digest; boundary=bb\r\n",
  "Content-Type: message/rfc822\r\n",
  "Content-Type: text/plain; charset*0*=utf-8''%C3; charset*1=x\r\n",
  "Content-Transfer-Encoding: base64\r\n",
  "From: a (b) <@c,@d:e@f>, g:h@i;\r\n",
  " folded\r\n",
  "=?utf-8?q?=C3=A9?=",
  '"',
  "(",
  "\\",
  "\x00",
  "\xff",
];

function randomMessage(next: () => number): Uint8Array {
  let text = "";
  const pieces = Math.floor(next() * 60);
  for (let i = 0; i < pieces; i++) {
    text += next() < 0.7
      ? PIECES[Math.floor(next() * PIECES.length)]
      : String.fromCharCode(Math.floor(next() * 256));
  }
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function mutate(source: Uint8Array, next: () => number): Uint8Array {
  let bytes = source.slice();
  const edits = 1 + Math.floor(next() * 8);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (bytes.length + 1));
    const kind = next();
    if (kind < 0.3 && bytes.length > 0) {
      bytes[Math.min(at, bytes.length - 1)] = Math.floor(next() * 256);
    } else if (kind < 0.5) {
      bytes = bytes.slice(0, at); // truncation
    } else if (kind < 0.7) {
      const end = Math.min(bytes.length, at + Math.floor(next() * 200));
      bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(end)]);
    } else {
      const piece = Uint8Array.from(
        PIECES[Math.floor(next() * PIECES.length)],
        (c) => c.charCodeAt(0) & 0xff,
      );
      bytes = new Uint8Array([...bytes.subarray(0, at), ...piece, ...bytes.subarray(at)]);
    }
  }
  return bytes;
}

function exercise(bytes: Uint8Array): void {
  const root = parseMessage(bytes);
  assert.equal(root.headerStart, 0);
  assert.equal(root.bodyEnd, bytes.length);
  checkRanges(root, bytes.length);
  formatBodyStructure(bodyStructure(root, true));
  formatBodyStructure(bodyStructure(root, false));
  formatEnvelope(envelope(root));
  for (const spec of ["", "TEXT", "1", "1.MIME", "2.1", "1.HEADER", "HEADER.FIELDS (From)"]) {
    fetchSection(bytes, root, spec);
  }
  const visit = (p: MimePart): void => {
    decodeBody(bytes, p);
    for (const f of p.fields) decodeEncodedWords(f.value);
    p.children.forEach(visit);
    if (p.message) visit(p.message);
  };
  visit(root);
}

Deno.test("fuzz: 2,000 random and mutated messages parse into valid trees, no throw", () => {
  const next = rng(20261123);
  const corpus = loadFixtures().map((f) => f.bytes);
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) {
    const input = i % 2 === 0
      ? randomMessage(next)
      : mutate(corpus[Math.floor(next() * corpus.length)], next);
    try {
      exercise(input);
    } catch (e) {
      throw new Error(`case ${i} failed on ${JSON.stringify(latin1(input))}: ${e}`);
    }
  }
  const ms = performance.now() - t0;
  console.log(`fuzz: 2,000 cases in ${ms.toFixed(0)} ms`);
  assert.ok(ms < 5000, `${ms} ms`);
});
