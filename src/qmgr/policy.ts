/**
 * A transport's scheduling parameters (postconf(5)): each is
 * `<transport>_<suffix>` when that is set (or built in, like
 * local_destination_concurrency_limit), else the main.cf default it
 * overrides; and the gate policies qmgr derives from them.
 */
import {
  type Config,
  type Feedback,
  PARAMETERS,
  parseFeedback,
  parseTime,
  PER_TRANSPORT_DEFAULTS,
  perTransportName,
} from "../config/mod.ts";
import type { GatePolicy } from "./gates.ts";

export interface TransportPolicy {
  /** <transport>_destination_concurrency_limit: deliveries in flight per destination (0: none). */
  concurrency: number;
  /** <transport>_destination_recipient_limit: recipients per delivery (0: none). */
  recipients: number;
  /** master.cf maxproc, else default_process_limit: deliveries in flight for the transport. */
  processes: number;
  /** <transport>_initial_destination_concurrency. */
  initial: number;
  /** <transport>_destination_concurrency_{positive,negative}_feedback. */
  positive: Feedback;
  negative: Feedback;
  /** <transport>_destination_concurrency_failed_cohort_limit (0: destinations never die). */
  failedCohortLimit: number;
  /** <transport>_destination_rate_delay, in ms. */
  destinationRateDelayMs: number;
  /** <transport>_transport_rate_delay, in ms. */
  transportRateDelayMs: number;
}

export function transportPolicy(
  config: Config,
  transport: string,
  processLimit?: number,
): TransportPolicy {
  const name = (suffix: string) =>
    perTransportName(transport, suffix, (n) => n in PARAMETERS || config.isSet(n));
  const int = (suffix: string) => config.int(name(suffix));
  const feedback = (suffix: string) => parseFeedback(config.get(name(suffix))) ?? ONE;
  const ms = (suffix: string) => {
    const param = name(suffix);
    // A per-transport name has no entry of its own: its unit is the default's.
    const unit = PARAMETERS[PER_TRANSPORT_DEFAULTS[suffix]]?.unit;
    return (parseTime(config.get(param), unit) ?? 0) * 1000;
  };
  return {
    concurrency: int("destination_concurrency_limit"),
    recipients: int("destination_recipient_limit"),
    processes: processLimit ?? config.int("default_process_limit"),
    initial: int("initial_destination_concurrency"),
    positive: feedback("destination_concurrency_positive_feedback"),
    negative: feedback("destination_concurrency_negative_feedback"),
    failedCohortLimit: int("destination_concurrency_failed_cohort_limit"),
    destinationRateDelayMs: ms("destination_rate_delay"),
    transportRateDelayMs: ms("transport_rate_delay"),
  };
}

const ONE: Feedback = { value: 1, perConcurrency: false };

/** A destination's gate: a window with feedback; dead for `deadMs` (minimal_backoff_time). */
export function destinationGate(policy: TransportPolicy, deadMs: number): GatePolicy {
  return {
    initial: policy.initial,
    limit: policy.concurrency,
    positive: policy.positive,
    negative: policy.negative,
    failedCohortLimit: policy.failedCohortLimit,
    deadMs,
    rateDelayMs: policy.destinationRateDelayMs,
  };
}

/** A transport's gate: its process limit, fixed; never dead. */
export function transportGate(policy: TransportPolicy): GatePolicy {
  return {
    initial: policy.processes,
    limit: policy.processes,
    failedCohortLimit: 0,
    deadMs: 0,
    rateDelayMs: policy.transportRateDelayMs,
  };
}
