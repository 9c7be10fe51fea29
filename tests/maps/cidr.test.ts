import assert from "node:assert/strict";
import { openMap } from "../../src/maps/mod.ts";
import { lookupAll, open, tempDir, writeTable } from "./_helpers.ts";

const CLIENTS = [
  "# Rule order matters: specific entries before general ones.",
  "192.168.1.1          exact1",
  "192.168.0.0/16       net16",
  "[10.0.0.0]/8         bracket8",
  "10.1.0.0/16          shadowed",
  "2001:db8::1          v6exact",
  "2001:DB8::/32        v6net",
  "[2001:db9::/32]      v6bracket",
  "::ffff:1.2.3.4       mapped",
  "0.0.0.0/0            any v4  with spaces ",
  "::/0                 any6",
  "",
].join("\n");

Deno.test("cidr: IPv4 and IPv6 networks, first match wins, binary comparison", async () => {
  const path = writeTable(tempDir(), "clients.cidr", CLIENTS);
  const table = openMap(`cidr:${path}`);
  assert.equal(table.pattern, true);
  assert.deepEqual(
    await lookupAll(table, [
      "192.168.1.1",
      "192.168.1.2",
      "10.1.2.3",
      "2001:db8::1",
      "2001:0DB8:0:0:0:0:0:1",
      "2001:db8::2",
      "2001:db9::5",
      "::ffff:1.2.3.4",
      "1.2.3.4",
      "::1",
      "[192.168.1.1]",
      "192.168.001.001",
      "1.2.3",
      "fe80::1%eth0",
      "foo",
      "",
    ]),
    {
      "192.168.1.1": "exact1",
      "192.168.1.2": "net16",
      "10.1.2.3": "bracket8",
      "2001:db8::1": "v6exact",
      "2001:0DB8:0:0:0:0:0:1": "v6exact",
      "2001:db8::2": "v6net",
      "2001:db9::5": "v6bracket",
      "::ffff:1.2.3.4": "mapped",
      "1.2.3.4": "any v4  with spaces",
      "::1": "any6",
      "[192.168.1.1]": undefined,
      "192.168.001.001": undefined,
      "1.2.3": undefined,
      "fe80::1%eth0": undefined,
      foo: undefined,
      "": undefined,
    },
  );
});

Deno.test("cidr: negation and if/endif apply only to keys of their own family", async () => {
  const path = writeTable(
    tempDir(),
    "t.cidr",
    [
      "if !10.0.0.0/8",
      "192.168.0.0/16 private-but-not-ten",
      "If 172.16.0.0/12",
      "!172.16.1.0/24 in-172-not-in-1",
      "ENDIF",
      "endif",
      "!10.0.0.0/8 not-ten",
      "! ::1 not-loopback6",
      "",
    ].join("\n"),
  );
  const table = openMap(`cidr:${path}`);
  assert.deepEqual(
    await lookupAll(table, [
      "192.168.3.4",
      "172.16.2.1",
      "172.16.1.1",
      "10.0.0.1",
      "8.8.8.8",
      "::1",
      "::2",
    ]),
    {
      "192.168.3.4": "private-but-not-ten",
      "172.16.2.1": "in-172-not-in-1",
      "172.16.1.1": "not-ten",
      "10.0.0.1": undefined,
      "8.8.8.8": "not-ten",
      "::1": undefined,
      "::2": "not-loopback6",
    },
  );
});

Deno.test("cidr: a bad rule is skipped with a warning naming file:line; the rest loads (dict_cidr.c)", async () => {
  const cases: [string, RegExp][] = [
    [
      "192.168.1.1/16 x\n",
      /:1: non-null host address bits in "192.168.1.1\/16", perhaps you should use "192.168.0.0\/16" instead/,
    ],
    ["1::1/64 x\n", /perhaps you should use "1::\/64" instead/],
    ["::ffff:1.2.3.4/96 x\n", /perhaps you should use "::ffff:0.0.0.0\/96" instead/],
    ["1.2.3.4/33 x\n", /:1: bad mask length in "1.2.3.4\/33"/],
    ["1.2.3.4/ x\n", /:1: bad mask value in "1.2.3.4\/"/],
    ["1.2.3.4\n", /:1: no lookup result/],
    ["ok 1\n", /:1: bad address pattern: "ok"/],
    ["010.0.0.1 octal\n", /bad address pattern: "010.0.0.1"/],
    ["1:2::3:4:5:6:7:8 x\n", /bad address pattern/],
    ["[1.2.3.4 x\n", /missing '\]' character after "\[1.2.3.4"/],
    ["if 1.2.3.4 extra\nendif\n", /:1: extra text after IF statement/],
    ["endif\n", /:1: ignoring ENDIF without matching IF/],
    ["1.2.3.4 a\nif 1.0.0.0/8\n", /:2: IF has no matching ENDIF/],
  ];
  for (const [text, expected] of cases) {
    const path = writeTable(tempDir(), "bad.cidr", text + "127.0.0.1 still-loaded\n");
    const { table, warnings } = open(`cidr:${path}`);
    assert.ok(warnings.length >= 1, `${text}: no warning`);
    assert.match(warnings[0], expected);
    assert.ok(warnings[0].startsWith(path + ":"), warnings[0]);
    const inIf = text.startsWith("1.2.3.4 a\nif");
    assert.equal(await table.lookup("127.0.0.1"), inIf ? undefined : "still-loaded", text);
  }
});
