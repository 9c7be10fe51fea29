/**
 * discard(8): reports every recipient delivered without delivering it. The
 * nexthop text is the logged reason ("discard:silently dropped"; without a
 * text trivial-rewrite supplies the recipient domain), with DSN 2.0.0.
 */
import type { DeliveryRequest, RecipientResult, Transport } from "../types.ts";
import { splitDsnText } from "../dsn_text.ts";

export class DiscardTransport implements Transport {
  readonly name = "discard";

  deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    const { dsn, reason } = splitDsnText(req.nexthop, "2.0.0");
    const sentDsn = dsn.startsWith("2") ? dsn : "2.0.0";
    return Promise.resolve(
      req.recipients.map((r) => ({
        index: r.index,
        status: "sent" as const,
        dsn: sentDsn,
        reason,
        relay: "none",
      })),
    );
  }
}
