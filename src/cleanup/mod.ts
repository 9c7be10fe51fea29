/** cleanup(8): header fix-ups of a received message, then one durable queue commit. */
export { cleanup, validateCleanupSettings } from "./cleanup.ts";
export type { CleanupDeps, CleanupRequest, CleanupSettings } from "./types.ts";
export { type HeaderField, type SplitMessage, splitMessage } from "./header_block.ts";
export { formatMailDate } from "./mail_date.ts";
export { formatReceived, type ReceivedInfo } from "./received.ts";
