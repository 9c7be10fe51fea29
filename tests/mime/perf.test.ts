/**
 * Parsing speed: a 10 MB message with 1,000 parts (base64 attachments in
 * nested multiparts) must parse well under 100 ms. The best of several runs
 * is asserted, so a busy machine does not fail the test by one slow run.
 */
import assert from "node:assert/strict";
import { bodyStructure, formatBodyStructure, parseMessage } from "../../src/mime/mod.ts";

function bigMessage(parts: number, totalBytes: number): Uint8Array {
  const line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
  const perPart = Math.floor(totalBytes / parts / line.length);
  const body = line.repeat(perPart);
  const chunks: string[] = [
    "From: perf@example.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n" +
    'Content-Type: multipart/mixed; boundary="outer-boundary"\r\n\r\npreamble\r\n',
  ];
  for (let i = 0; i < parts; i += 10) {
    chunks.push(
      `--outer-boundary\r\nContent-Type: multipart/related; boundary="inner-${i}"\r\n\r\n`,
    );
    for (let k = 0; k < 10; k++) {
      chunks.push(
        `--inner-${i}\r\nContent-Type: application/octet-stream; name="f${i + k}.bin"\r\n` +
          `Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment\r\n\r\n${body}`,
      );
    }
    chunks.push(`--inner-${i}--\r\n`);
  }
  chunks.push("--outer-boundary--\r\n");
  return new TextEncoder().encode(chunks.join(""));
}

Deno.test("a 10 MB message with 1,000 parts parses in well under 100 ms", () => {
  const bytes = bigMessage(1000, 10 * 1024 * 1024);
  assert.ok(bytes.length > 10_000_000, `${bytes.length} bytes`);
  parseMessage(bytes); // warm-up (JIT)
  const times: number[] = [];
  let root = parseMessage(bytes);
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    root = parseMessage(bytes);
    times.push(performance.now() - t0);
  }
  const leaves = root.children.reduce((n, c) => n + c.children.length, 0);
  assert.equal(leaves, 1000);
  const t0 = performance.now();
  formatBodyStructure(bodyStructure(root, true));
  const bsTime = performance.now() - t0;
  const best = Math.min(...times);
  console.log(
    `parse ${(bytes.length / 1e6).toFixed(1)} MB, 1,111 parts: best ${best.toFixed(1)} ms, ` +
      `runs ${times.map((t) => t.toFixed(1)).join(" ")} ms; BODYSTRUCTURE ${bsTime.toFixed(1)} ms`,
  );
  assert.ok(best < 100, `best parse time ${best} ms`);
});
