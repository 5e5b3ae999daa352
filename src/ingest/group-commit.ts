/**
 * Group commit of the single-document write path. Every accepted message costs PostgreSQL a
 * durable commit (a WAL flush), a parse and a plan of each write statement, and round trips; under
 * load those dominate the rows themselves. So the messages that arrive while earlier groups are in
 * flight wait (no timer: the next group leaves as soon as a slot frees) and are written together, in
 * one transaction with one statement per owner for the whole group (ingest-service.ts: the message
 * log, message-store.ts acceptMessages; their ingest jobs, queue/outbox.ts; their ledger rows); each
 * request is still answered only after the transaction holding its rows has committed.
 *
 * Each message must get the answer it would get alone, so two messages that share a key (the same
 * webhook-id of a client, the same business key) are never in flight together: the later one waits
 * for the group of the earlier one, then sees its committed rows — as it would a moment later alone.
 * A group whose transaction fails is retried message by message, in arrival order, so one bad message
 * never fails the others.
 */

export interface GroupLimits {
  /** Most messages in one group. */
  maxItems: number;
  /** Most body bytes in one group (a larger single message still goes, alone). */
  maxBytes: number;
  /** Groups in flight at once (each holds one database connection). */
  maxInFlight: number;
}

export const DEFAULT_GROUP_LIMITS: GroupLimits = { maxItems: 64, maxBytes: 4 * 1024 * 1024, maxInFlight: 2 };

/** How the committer sees an item: only items of the same `group` are written together. */
export interface ItemShape {
  group: string;
  keys: string[];
  bytes: number;
}

interface Entry<I, O> extends ItemShape {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<I, O> {
  private queue: Entry<I, O>[] = [];
  /** Keys of the items in flight. */
  private readonly held = new Set<string>();
  private inFlight = 0;
  private scheduled = false;

  /**
   * `commitGroup` writes items of one group and returns their outcomes in order (an Error rejects
   * that item alone); `commitOne` writes one item, for the retry after a failed group.
   */
  constructor(
    private readonly commitGroup: (items: I[]) => Promise<(O | Error)[]>,
    private readonly commitOne: (item: I) => Promise<O>,
    private readonly shape: (item: I) => ItemShape,
    private readonly limits: GroupLimits = DEFAULT_GROUP_LIMITS,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject, ...this.shape(item) });
      // Waiting for the end of this turn of the event loop lets requests read in the same turn join.
      if (!this.scheduled && this.inFlight < this.limits.maxInFlight) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.limits.maxInFlight && this.queue.length) {
      const group = this.take();
      if (!group.length) return; // every waiting item shares a key with an item in flight
      this.inFlight++;
      void this.run(group).finally(() => {
        this.inFlight--;
        for (const e of group) for (const k of e.keys) this.held.delete(k);
        this.pump();
      });
    }
  }

  /** The next group, in arrival order; an item passed over keeps later items with its keys behind it. */
  private take(): Entry<I, O>[] {
    const picked: Entry<I, O>[] = [];
    const rest: Entry<I, O>[] = [];
    const seen = new Set<string>();
    let bytes = 0;
    for (const e of this.queue) {
      const free = !e.keys.some((k) => this.held.has(k) || seen.has(k));
      const fits =
        picked.length === 0 ||
        (picked.length < this.limits.maxItems &&
          e.group === picked[0]!.group &&
          bytes + e.bytes <= this.limits.maxBytes);
      if (free && fits) {
        picked.push(e);
        bytes += e.bytes;
      } else rest.push(e);
      for (const k of e.keys) seen.add(k);
    }
    this.queue = rest;
    for (const e of picked) for (const k of e.keys) this.held.add(k);
    return picked;
  }

  private async run(group: Entry<I, O>[]): Promise<void> {
    let outcomes: (O | Error)[];
    try {
      outcomes = await this.commitGroup(group.map((e) => e.item));
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
      for (const e of group) {
        try {
          e.resolve(await this.commitOne(e.item));
        } catch (one) {
          e.reject(one);
        }
      }
      return;
    }
    group.forEach((e, i) => {
      const o = outcomes[i];
      if (o instanceof Error) e.reject(o);
      else e.resolve(o as O);
    });
  }
}
