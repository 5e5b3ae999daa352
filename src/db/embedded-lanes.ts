/**
 * The embedded database (PGlite) is one connection: statements and transactions run one at a time.
 * A plain FIFO made a reader wait behind every transaction queued before it — a month being matched
 * queues dozens, so `/readyz`, a run's status or a payment's `202` waited tens of seconds (issue 12:
 * reads timed out and BullMQ lost its job locks). Two lanes instead: single statements (reads, the
 * group-committed writes, readiness) go before queued transactions (the workers' chunks), so they wait
 * at most for the one transaction running; a transaction that has waited `maxTxWaitMs` goes next
 * whatever is queued, so a stream of reads never starves the workers. Between two operations the
 * event loop always gets a turn.
 */
export type Lane = 'statement' | 'tx';

interface Waiting {
  run: () => void;
  since: number;
}

export class EmbeddedLanes {
  private readonly statements: Waiting[] = [];
  private readonly txs: Waiting[] = [];
  private busy = false;

  constructor(
    private readonly maxTxWaitMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Run `f` when its turn comes in `lane`; nothing else runs on the connection until it settles. */
  run<T>(lane: Lane, f: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        let p: Promise<T>;
        try {
          p = f();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          this.busy = false;
          this.next();
        });
      };
      (lane === 'statement' ? this.statements : this.txs).push({ run, since: this.now() });
      this.next();
    });
  }

  /** Operations waiting (for metrics and tests). */
  get waiting(): { statements: number; txs: number } {
    return { statements: this.statements.length, txs: this.txs.length };
  }

  private next(): void {
    if (this.busy) return;
    const txDue = this.txs.length > 0 && this.now() - this.txs[0]!.since >= this.maxTxWaitMs;
    const w = (!txDue && this.statements.shift()) || this.txs.shift() || this.statements.shift();
    if (!w) return;
    this.busy = true;
    // PGlite answers from WebAssembly on this thread: its promises settle without any I/O, so one
    // operation after another would run as microtasks and never let the event loop in — HTTP reads,
    // timers and BullMQ's lock renewals waited 5–10 s while a month was matched (issue 12). Each
    // operation starts from a macrotask instead, after the I/O that arrived meanwhile.
    setImmediate(w.run);
  }
}
