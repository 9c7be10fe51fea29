import assert from "node:assert/strict";
import {
  applySoftBounce,
  delayWarningDue,
  type NotifySettings,
  planNotices,
  recipientsToReport,
  wantsNotice,
} from "../../src/bounce/mod.ts";

const POSTFIX_DEFAULTS: NotifySettings = {
  myorigin: "example.org",
  doubleBounceSender: "double-bounce",
  notifyClasses: ["resource", "software"],
  bounceNoticeRecipient: "postmaster",
  doubleBounceNoticeRecipient: "postmaster",
  delayNoticeRecipient: "postmaster",
};

Deno.test("NOTIFY: default FAILURE,DELAY; NEVER silences; SUCCESS only when asked", () => {
  assert.equal(wantsNotice(undefined, "failure"), true);
  assert.equal(wantsNotice(undefined, "delay"), true);
  assert.equal(wantsNotice(undefined, "success"), false);
  assert.equal(wantsNotice(["NEVER"], "failure"), false);
  assert.equal(wantsNotice(["NEVER"], "delay"), false);
  assert.equal(wantsNotice(["SUCCESS"], "success"), true);
  assert.equal(wantsNotice(["SUCCESS"], "failure"), false);
  assert.equal(wantsNotice(["FAILURE"], "delay"), false);
  assert.equal(wantsNotice(["DELAY", "SUCCESS"], "delay"), true);
});

Deno.test("recipientsToReport picks outcomes of the notice's kind that asked for it", () => {
  const rcpts = [
    { address: "a@x", status: "bounced" as const },
    { address: "b@x", status: "bounced" as const, notify: ["NEVER" as const] },
    { address: "c@x", status: "deferred" as const },
    { address: "d@x", status: "sent" as const, notify: ["SUCCESS" as const] },
    { address: "e@x", status: "sent" as const },
  ];
  assert.deepEqual(recipientsToReport(rcpts, "failure").map((r) => r.address), ["a@x"]);
  assert.deepEqual(recipientsToReport(rcpts, "delay").map((r) => r.address), ["c@x"]);
  assert.deepEqual(recipientsToReport(rcpts, "success").map((r) => r.address), ["d@x"]);
});

Deno.test("soft_bounce turns a permanent failure into a deferral (no failure notice)", () => {
  const bounced = {
    index: 0,
    status: "bounced" as const,
    dsn: "5.1.1",
    reason: "550 no such user",
  };
  const soft = applySoftBounce(bounced, true);
  assert.equal(soft.status, "deferred");
  assert.equal(soft.dsn, "4.1.1");
  assert.equal(soft.reason, "550 no such user");
  assert.deepEqual(recipientsToReport([soft], "failure"), []);
  assert.equal(recipientsToReport([soft], "delay").length, 1);
  assert.deepEqual(applySoftBounce(bounced, false), bounced);
  const sent = { index: 0, status: "sent" as const, dsn: "2.0.0", reason: "ok" };
  assert.deepEqual(applySoftBounce(sent, true), sent);
});

Deno.test("delay_warning_time: once, after that age, never when 0", () => {
  const hour = 3_600_000;
  assert.equal(delayWarningDue(0, 3 * hour, 4 * hour, false), false);
  assert.equal(delayWarningDue(0, 4 * hour, 4 * hour, false), true);
  assert.equal(delayWarningDue(0, 5 * hour, 4 * hour, true), false);
  assert.equal(delayWarningDue(0, 100 * hour, 0, false), false);
});

Deno.test("a failure goes to the sender from <>; notify_classes bounce adds a header-only copy", () => {
  assert.deepEqual(planNotices("failure", "alice@example.net", POSTFIX_DEFAULTS), [
    {
      kind: "failure",
      to: "alice@example.net",
      from: "",
      headersOnly: false,
      postmasterCopy: false,
    },
  ]);
  const withBounce = { ...POSTFIX_DEFAULTS, notifyClasses: ["bounce", "resource"] };
  assert.deepEqual(planNotices("failure", "alice@example.net", withBounce)[1], {
    kind: "failure",
    to: "postmaster@example.org",
    from: "double-bounce@example.org",
    headersOnly: true,
    postmasterCopy: true,
  });
});

Deno.test("a failed bounce: double bounce to 2bounce_notice_recipient only with notify_classes", () => {
  assert.deepEqual(planNotices("failure", "", POSTFIX_DEFAULTS), []);
  const with2bounce = {
    ...POSTFIX_DEFAULTS,
    notifyClasses: ["2bounce"],
    doubleBounceNoticeRecipient: "admin@example.com",
  };
  assert.deepEqual(planNotices("failure", "", with2bounce), [
    {
      kind: "failure",
      to: "admin@example.com",
      from: "double-bounce@example.org",
      headersOnly: false,
      postmasterCopy: true,
    },
  ]);
  // delay and success notices are never sent about mail from <>
  assert.deepEqual(planNotices("delay", "", with2bounce), []);
  assert.deepEqual(planNotices("success", "", with2bounce), []);
});

Deno.test("a failed postmaster notification is discarded: no triple bounce", () => {
  const all = { ...POSTFIX_DEFAULTS, notifyClasses: ["bounce", "2bounce", "delay"] };
  assert.deepEqual(planNotices("failure", "double-bounce@example.org", all), []);
  assert.deepEqual(planNotices("failure", "Double-Bounce@EXAMPLE.org", all), []);
  assert.deepEqual(planNotices("failure", "double-bounce", all), []);
  assert.equal(planNotices("failure", "double-bounce@elsewhere.example", all).length, 2);
});

Deno.test("delay warnings go to the sender; notify_classes delay copies to delay_notice_recipient", () => {
  assert.deepEqual(planNotices("delay", "alice@example.net", POSTFIX_DEFAULTS).map((n) => n.to), [
    "alice@example.net",
  ]);
  const withDelay = { ...POSTFIX_DEFAULTS, notifyClasses: ["delay"], delayNoticeRecipient: "ops" };
  const notices = planNotices("delay", "alice@example.net", withDelay);
  assert.deepEqual(notices.map((n) => [n.to, n.from, n.headersOnly]), [
    ["alice@example.net", "", false],
    ["ops@example.org", "double-bounce@example.org", true],
  ]);
  assert.deepEqual(planNotices("success", "alice@example.net", withDelay).length, 1);
});
