/**
 * The mail store: Maildir (Maildir++ folders) with an SQLite index per
 * user, readable and writable by Dovecot as it is; mbox and Maildir
 * delivery primitives for local(8)/virtual(8).
 */
export {
  closeMailstore,
  type MailboxListing,
  Mailstore,
  type MailstoreOptions,
  openedMailstore,
  openMailstore,
  type QuotaReport,
} from "./store.ts";
export {
  type AppendOptions,
  type ChangeListener,
  type FlagMode,
  type FlagUpdate,
  Mailbox,
  type MailboxChange,
  type MailboxStatus,
  MailstoreError,
  type MessageInfo,
  normalizeFlags,
  type ParsedMessage,
} from "./mailbox.ts";
export { deliverToStore } from "./delivery.ts";
export { QuotaExceededError, type QuotaLimit, type QuotaUsage } from "./quota.ts";
export { DEFAULT_FOLDERS, SEPARATOR, specialUse } from "./folders.ts";
export { SYSTEM_FLAGS } from "./filename.ts";
export { decodeMutf7, encodeMutf7 } from "./mutf7.ts";
export { parseSequenceSet, type SequenceRange, uidsInSet } from "./seqset.ts";
