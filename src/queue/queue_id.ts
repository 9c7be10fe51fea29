/**
 * Queue ids in the spirit of Postfix's (short, upper case, time-ordered):
 * 8 base-36 digits of milliseconds since the epoch (enough until 2059) and 4
 * base-36 digits of sequence. The sequence starts at a random point each
 * millisecond, so two processes (a restart with the clock set back) are
 * unlikely to collide; within one process ids are strictly increasing even
 * when the clock goes backwards. Fixed width, digits sort before letters in
 * ASCII, so string order is creation order.
 */

const TIME_DIGITS = 8;
const SEQ_DIGITS = 4;
const SEQ_SPACE = 36 ** SEQ_DIGITS; // 1,679,616
/** Random start below half the space leaves at least 839,808 ids per millisecond. */
const SEQ_START_SPACE = SEQ_SPACE / 2;

export interface QueueIdState {
  lastTime: number;
  seq: number;
}

const processState: QueueIdState = { lastTime: -1, seq: 0 };

function randomSeqStart(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0] % SEQ_START_SPACE;
}

function base36(n: number, width: number): string {
  return n.toString(36).toUpperCase().padStart(width, "0");
}

/** The next id for a given clock reading; pure apart from `state` and the random start. */
export function nextQueueId(
  nowMs: number,
  state: QueueIdState,
  seqStart: () => number = randomSeqStart,
): string {
  if (nowMs > state.lastTime) {
    state.lastTime = nowMs;
    state.seq = seqStart();
  } else if (++state.seq >= SEQ_SPACE) {
    // Sequence exhausted (or clock went back): borrow the next millisecond.
    state.lastTime++;
    state.seq = seqStart();
  }
  return base36(state.lastTime, TIME_DIGITS) + base36(state.seq, SEQ_DIGITS);
}

/** A new queue id, e.g. "MIC3Z1K80F2A": 12 characters of [0-9A-Z]. */
export function newQueueId(): string {
  return nextQueueId(Date.now(), processState);
}

/** Accepts ids this module makes and similar Postfix-style ids. */
export function isQueueId(id: string): boolean {
  return /^[0-9A-Za-z]{6,32}$/.test(id);
}
