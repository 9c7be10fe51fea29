/**
 * How qmgr(8) cuts a message into delivery requests: recipients go to
 * per-destination queues (transport + queue name), and each queue's
 * recipients are sent in requests of at most the transport's
 * _destination_recipient_limit.
 */
import type { DeliveryRecipient } from "../transports/types.ts";

/** A recipient with its address resolution. */
export interface RoutedRecipient {
  recipient: DeliveryRecipient;
  transport: string;
  nexthop: string;
}

/** One delivery request to be made. */
export interface PlannedRequest {
  transport: string;
  nexthop: string;
  /** The queue name: what the per-destination concurrency limit counts. */
  destination: string;
  recipients: DeliveryRecipient[];
}

/**
 * The per-destination queue name (qmgr_message.c): the nexthop, folded to
 * lower case; with a recipient limit of 1 (not for the error transport,
 * whose nexthop is a text) the recipient's localpart @ nexthop, so that
 * each recipient is a destination of its own (postconf(5)
 * default_destination_recipient_limit: "concurrency per recipient").
 */
export function queueName(
  transport: string,
  nexthop: string,
  address: string,
  recipientLimit: number,
): string {
  if (recipientLimit !== 1 || transport === "error") return nexthop.toLowerCase();
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  return `${local}@${nexthop}`.toLowerCase();
}

/**
 * Groups recipients by transport and queue name, in order of first
 * appearance, and cuts each group into requests of at most
 * `recipientLimit(transport)` recipients (0: no limit, as in qmgr).
 */
export function planRequests(
  routed: RoutedRecipient[],
  recipientLimit: (transport: string) => number,
): PlannedRequest[] {
  const groups = new Map<string, PlannedRequest[]>();
  const requests: PlannedRequest[] = [];
  for (const { recipient, transport, nexthop } of routed) {
    const limit = recipientLimit(transport);
    const destination = queueName(transport, nexthop, recipient.address, limit);
    const key = `${transport}\n${destination}`;
    let chunks = groups.get(key);
    if (!chunks) groups.set(key, chunks = []);
    let last = chunks.at(-1);
    if (!last || (limit > 0 && last.recipients.length >= limit)) {
      last = { transport, nexthop, destination, recipients: [] };
      chunks.push(last);
      requests.push(last);
    }
    last.recipients.push(recipient);
  }
  return requests;
}
