/**
 * error(8): fails every recipient with the nexthop text ("error:5.1.1 User
 * unknown" in transport(5)). The DSN defaults to 5.0.0; a 4.x.x code defers
 * instead, as Postfix's error(8) does for a soft status.
 */
import type { DeliveryRequest, RecipientResult, Transport } from "../types.ts";
import { splitDsnText } from "../dsn_text.ts";

export class ErrorTransport implements Transport {
  readonly name = "error";

  deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    const { dsn, reason } = splitDsnText(req.nexthop, "5.0.0");
    const status = dsn.startsWith("4") ? "deferred" as const : "bounced" as const;
    return Promise.resolve(
      req.recipients.map((r) => ({ index: r.index, status, dsn, reason, relay: "none" })),
    );
  }
}
