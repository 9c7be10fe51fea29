import assert from "node:assert/strict";
import { curName, parseName, virtualSize } from "../../src/mailstore/filename.ts";
import {
  canonicalName,
  checkName,
  folderName,
  formatSubscriptions,
  parseSubscriptions,
} from "../../src/mailstore/folders.ts";
import { formatKeywords, letterOf, parseKeywords } from "../../src/mailstore/keywords.ts";
import { decodeMutf7, encodeMutf7 } from "../../src/mailstore/mutf7.ts";
import { formatLimit, overQuota, parseMaildirsize } from "../../src/mailstore/quota.ts";
import { parseSequenceSet, uidsInSet } from "../../src/mailstore/seqset.ts";
import { parseUidList } from "../../src/mailstore/uidlist.ts";
import { enc } from "./helpers.ts";

Deno.test("filename: base, flag letters, S= and W= as Dovecot writes them", () => {
  assert.deepEqual(parseName("1795460732.M365609P30479.vm,S=19,W=22:2,Sabc"), {
    base: "1795460732.M365609P30479.vm,S=19,W=22",
    letters: "Sabc",
    size: 19,
    vsize: 22,
  });
  assert.deepEqual(parseName("123.abc.host"), {
    base: "123.abc.host",
    letters: "",
    size: undefined,
    vsize: undefined,
  });
  assert.equal(parseName("x:1,experimental").letters, "", "only version 2 info is flags");
  assert.equal(curName("b", ["S", "a", "F", "S"]), "b:2,FSa");
  assert.equal(virtualSize(enc.encode("a\nb\r\nc\n")), 9);
});

Deno.test("mUTF-7: RFC 3501 5.1.3 examples and round trips", () => {
  assert.equal(encodeMutf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  assert.equal(decodeMutf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
  assert.equal(encodeMutf7("Café & Co"), "Caf&AOk- &- Co");
  for (const s of ["", "plain", "😀 emoji", "&&", "é"]) {
    assert.equal(decodeMutf7(encodeMutf7(s)), s);
  }
  for (const bad of ["&AOk", "&A-", "caf\u00e9", "&!!-"]) {
    assert.throws(() => decodeMutf7(bad), RangeError);
  }
});

Deno.test("folders: names, Maildir++ directories and subscriptions", () => {
  assert.equal(canonicalName("inBox"), "INBOX");
  assert.equal(canonicalName("inbox.Sub"), "INBOX.Sub");
  assert.equal(checkName("Archive.2024"), "Archive.2024");
  for (const bad of ["", "a..b", ".a", "a.", "a/b", "a\tb", "~x", "x." + "y".repeat(300)]) {
    assert.throws(() => checkName(bad), /mailbox name|empty/);
  }
  assert.equal(folderName(".Caf&AOk-"), "Café");
  assert.equal(folderName(".."), undefined);
  assert.equal(folderName("cur"), undefined);
  assert.equal(folderName(".a..b"), undefined);
  const text = "V\t2\n\nSent\nArchive\t2024\nCaf&AOk-\n";
  assert.deepEqual(parseSubscriptions(text), ["Sent", "Archive.2024", "Café"]);
  assert.equal(formatSubscriptions(["Sent", "Archive.2024", "Café"]), text);
  assert.deepEqual(parseSubscriptions("Sent\nA.B\n"), ["Sent", "A.B"], "version 1");
});

Deno.test("keywords: dovecot-keywords lines map to letters a..z", () => {
  const table = parseKeywords("0 $Label1\n1 Junk\nbad line\n3 Other\n99 Far\n");
  assert.equal(letterOf(table, "$Label1"), "a");
  assert.equal(letterOf(table, "Other"), "d");
  assert.equal(letterOf(table, "Far"), undefined);
  assert.equal(formatKeywords(table), "0 $Label1\n1 Junk\n3 Other\n");
});

Deno.test("uidlist: Dovecot versions 3 and 1", () => {
  const v3 = parseUidList(
    "3 V1795460734 N3 G714d5a117c8e046b0877000083ecc375\n1 :1795460732.M1P2.vm,S=18,W=21\n2 W22 S19 :b2:2,S\n",
  )!;
  assert.equal(v3.uidValidity, 1795460734);
  assert.equal(v3.nextUid, 3);
  assert.deepEqual([...v3.uids], [["1795460732.M1P2.vm,S=18,W=21", 1], ["b2", 2]]);
  const v1 = parseUidList("1 1000 5\n4 name4\n")!;
  assert.deepEqual([v1.uidValidity, v1.nextUid, [...v1.uids]], [1000, 5, [["name4", 4]]]);
  assert.equal(parseUidList("garbage"), undefined);
  assert.equal(parseUidList(""), undefined);
});

Deno.test("quota: maildirsize parsing and limit checks (maildirquota(7))", () => {
  const q = parseMaildirsize("1000S,10C\n500 5\n100 1\n-50 -1\nnoise\n");
  assert.deepEqual(q.limit, { bytes: 1000, messages: 10 });
  assert.deepEqual(q.usage, { bytes: 550, messages: 5 });
  assert.equal(formatLimit({ bytes: 1000, messages: 10 }), "1000S,10C");
  assert.equal(formatLimit({}), "0S");
  assert.equal(overQuota(q.limit, q.usage, 450, 1), false);
  assert.equal(overQuota(q.limit, q.usage, 451, 1), true);
  assert.equal(overQuota({ messages: 5 }, q.usage, 1, 1), true);
  assert.equal(overQuota({ messages: 5 }, q.usage, -10, -1), false, "removing is always allowed");
  assert.equal(overQuota({}, q.usage, 1e12, 1e6), false);
});

Deno.test("sequence sets: ranges, *, reversed ranges, bad syntax", () => {
  assert.deepEqual(parseSequenceSet("1:3,7,10:*", 12), [
    { from: 1, to: 3 },
    { from: 7, to: 7 },
    { from: 10, to: 12 },
  ]);
  assert.deepEqual(parseSequenceSet("5:2", 9), [{ from: 2, to: 5 }]);
  assert.deepEqual(uidsInSet(parseSequenceSet("2:4,*", 20), [1, 2, 4, 9, 20]), [2, 4, 20]);
  for (const bad of ["", "0", "1:", "a", "1:2:3", "1,,2", "-1", "4294967296"]) {
    assert.throws(() => parseSequenceSet(bad, 5), RangeError);
  }
});
