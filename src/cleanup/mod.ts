/** cleanup(8): header fix-ups of a received message, then one durable queue commit. */
export { cleanup, validateCleanupSettings } from "./cleanup.ts";
export type { CleanupDeps, CleanupRequest, CleanupSettings } from "./types.ts";
export { type HeaderField, type SplitMessage, splitMessage } from "./header_block.ts";
export { formatMailDate } from "./mail_date.ts";
export { formatReceived, type ReceivedInfo } from "./received.ts";
export {
  type AddressClassName,
  AddressRewriting,
  type AddressRewritingDeps,
  addressRewritingFor,
  type RewriteClient,
} from "./address_rewriting.ts";
export { type HeaderRole, headerRole, rewriteHeaderField } from "./header_rewrite.ts";
export { type AddressSpan, findHeaderAddresses } from "./header_addresses.ts";
