/**
 * Final delivery into a store's Maildir (local(8)/virtual(8) Maildir
 * mailboxes): the Maildir++ quota is checked first (552 5.2.2, as Dovecot's
 * LDA answers with quota_full_tempfail=no), the file is written once per
 * queue id + recipient (deliverOnceToMaildir), maildirsize is kept up to
 * date, and when a session has the store open its INBOX is synced at once
 * so that IDLE hears of the message. Without an open store nothing else
 * happens: the index catches up when the store is next opened.
 */
import {
  deliverOnceToMaildir,
  type DeliveryId,
  type MaildirDelivery,
  type OnceOptions,
} from "./maildir.ts";
import { appendMaildirsize, currentMaildirsize, overQuota, QuotaExceededError } from "./quota.ts";
import { openedMailstore } from "./store.ts";

export async function deliverToStore(
  dir: string,
  content: Uint8Array,
  id: DeliveryId,
  options: OnceOptions = {},
): Promise<MaildirDelivery> {
  const quota = await currentMaildirsize(dir).catch(() => undefined);
  // The stored size: LF line ends (a slight over-estimate of at most the CR count is not made).
  const size = countLf(content);
  if (quota && overQuota(quota.limit, quota.usage, size, 1)) throw new QuotaExceededError();
  const delivery = await deliverOnceToMaildir(dir, content, id, options);
  if (!delivery.existed && quota) await appendMaildirsize(dir, size, 1).catch(() => {});
  const store = await openedMailstore(dir);
  const inbox = store?.openedMailbox("INBOX");
  // The message is delivered whatever happens to the index: it is rebuilt from the Maildir.
  if (inbox && !store!.closed) await inbox.syncNew().catch(() => {});
  return delivery;
}

/** Size of `content` once CRLF becomes LF, as deliverOnceToMaildir writes it. */
function countLf(content: Uint8Array): number {
  let crlf = 0;
  for (let i = 0; i + 1 < content.length; i++) {
    if (content[i] === 0x0d && content[i + 1] === 0x0a) crlf++;
  }
  return content.length - crlf;
}
