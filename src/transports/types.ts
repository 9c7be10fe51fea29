/**
 * The delivery agent interface (Postfix's deliver_request(3)): qmgr hands a
 * transport one message and the recipients it should take care of; the
 * transport answers with one result per recipient.
 */
import type { Envelope, RecipientResult } from "../queue/types.ts";

export type { RecipientResult };

export interface DeliveryRecipient {
  /** Position in the envelope (QueuedRecipient.index); results use it. */
  index: number;
  address: string;
  /** The address before virtual alias expansion, for X-Original-To. */
  original?: string;
}

export interface DeliveryRequest {
  queueId: string;
  envelope: Envelope;
  recipients: DeliveryRecipient[];
  /** The message as stored: CRLF line ends. */
  content: Uint8Array;
  /** transport(5) nexthop from address resolution. */
  nexthop: string;
  /**
   * An earlier attempt may already have delivered some of these recipients:
   * the message was tried before, or a crash left it active (recovered at
   * start). Agents that can tell (Maildir) then look harder for that copy.
   */
  redelivery?: boolean;
}

export interface Transport {
  /** The master.cf-style service name qmgr looks it up by: "local", "virtual", ... */
  name: string;
  /** Never rejects for a recipient-level problem: that is a "deferred" or "bounced" result. */
  deliver(req: DeliveryRequest): Promise<RecipientResult[]>;
  /** Server stop: let go of what outlives a delivery (smtp(8)'s parked connections). */
  close?(): Promise<void>;
}
