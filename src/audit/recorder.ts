import { type Db, isConnectionError, withDatabase } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { reserveNextIndex } from "./log/index.js";
import { type GenerationRecord, writeRecordsInTransaction } from "./record.js";

/**
 * What a seal adds to a record once its log index is known: the images as they will be
 * delivered (signed with a manifest that names the index), and anything else the record only
 * knows then (the stage timings including the signing).
 */
export type Sealed = Partial<Pick<GenerationRecord, "images" | "stages" | "decision" | "params">>;

/** Produces the final parts of a record for the log index it will have. */
export type Seal = (logIndex: number) => Promise<Sealed>;

export interface RecorderOptions {
  /** Most records written in one transaction. */
  maxBatch?: number;
  /**
   * Longest a seal may take. The sequencer lock is held while seals run, so a seal that hangs
   * (a time-stamp authority that never answers) must not stall every other request.
   */
  sealTimeoutMs?: number;
}

export interface Recorder {
  /**
   * Commits a request's log entry, generation row and image rows, and resolves with the entry's
   * log index once they are durable. With `seal`, the index is reserved first and `seal(index)`
   * produces the images (and what else it returns) while the index is held; if the seal fails
   * the request is recorded as failed at that index and the seal's error is thrown.
   */
  record(record: GenerationRecord, seal?: Seal): Promise<{ logIndex: number }>;
  /** Waits for the records in flight. */
  drain(): Promise<void>;
}

interface Pending {
  record: GenerationRecord;
  seal?: Seal;
  resolve(value: { logIndex: number }): void;
  reject(error: unknown): void;
}

/**
 * Group commit for the audit log. Every record takes the sequencer's lock until it commits, so
 * one transaction per request caps throughput at one commit round trip per request, and a
 * seal (C2PA signing, possibly with a time-stamp authority) inside the lock would serialise the
 * signing of every request. The recorder writes the records that arrive while a transaction is
 * running as one batch in the next: their indices are reserved together, their seals run in
 * parallel, and one commit makes them all durable. Each caller still learns its outcome only
 * after the commit, so no image leaves before its row.
 *
 * A batch that fails for a reason other than an unreachable database (one record breaking a
 * constraint) is retried record by record, each sealed again for its new index, so one bad
 * record cannot fail its neighbours.
 */
export function createRecorder(db: Db, options: RecorderOptions = {}): Recorder {
  const maxBatch = options.maxBatch ?? 128;
  const sealTimeoutMs = options.sealTimeoutMs ?? 60_000;
  const queue: Pending[] = [];
  let running: Promise<void> | null = null;

  const kick = () => {
    if (running) return;
    running = pump().finally(() => {
      running = null;
      // A record queued after the loop's last check but before this callback.
      if (queue.length > 0) kick();
    });
  };

  const pump = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        await writeBatch(batch);
      } catch (error) {
        if (batch.length === 1 || isUnavailable(error)) {
          for (const p of batch) p.reject(mapError(error));
          continue;
        }
        for (const p of batch) {
          await writeBatch([p]).catch((e: unknown) => p.reject(mapError(e)));
        }
      }
    }
  };

  /** One transaction: reserve, seal in parallel, append in index order, commit, then answer. */
  const writeBatch = async (batch: Pending[]) => {
    const outcomes = await withDatabase(() =>
      db.transaction(async (tx) => {
        const first = await reserveNextIndex(tx);
        const sealed = await Promise.allSettled(
          batch.map((p, i) => (p.seal ? withTimeout(p.seal(first + i)) : Promise.resolve({}))),
        );
        const records = batch.map((p, i): GenerationRecord => {
          const s = sealed[i]!;
          return s.status === "fulfilled"
            ? { ...p.record, ...s.value }
            : {
                ...p.record,
                status: "failed",
                errorCode: (s.reason as { code?: string })?.code ?? "internal_error",
                images: [],
              };
        });
        const written = await writeRecordsInTransaction(tx, records);
        const results = written.map(({ logIndex }, i) => {
          if (logIndex !== first + i) {
            throw new HallmarkError(
              "internal_error",
              `audit log index ${logIndex} differs from the reserved ${first + i}`,
            );
          }
          const s = sealed[i]!;
          return s.status === "fulfilled" ? { logIndex } : { logIndex, error: s.reason as unknown };
        });
        return results;
      }),
    );
    for (const [i, p] of batch.entries()) {
      const o = outcomes[i]!;
      if (o.error !== undefined) p.reject(o.error);
      else p.resolve({ logIndex: o.logIndex });
    }
  };

  const withTimeout = <T>(work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HallmarkError(
              "signing_failed",
              `Sealing the record took longer than ${sealTimeoutMs} ms; no image was returned.`,
            ),
          ),
        sealTimeoutMs,
      );
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  };

  return {
    record(record, seal) {
      return new Promise((resolve, reject) => {
        queue.push({ record, seal, resolve, reject });
        kick();
      });
    },
    async drain() {
      while (running) await running;
    },
  };
}

function isUnavailable(error: unknown): boolean {
  return (
    (error instanceof HallmarkError && error.code === "database_unavailable") ||
    isConnectionError(error)
  );
}

/** As recordGeneration reports it: unreachable → 503; anything else is Hallmark's bug → 500. */
function mapError(error: unknown): HallmarkError {
  if (error instanceof HallmarkError && error.code === "database_unavailable") return error;
  if (isConnectionError(error)) {
    return new HallmarkError(
      "database_unavailable",
      "The database is unavailable; nothing was produced.",
      { cause: error },
    );
  }
  return new HallmarkError("internal_error", "The audit record could not be written.", {
    cause: error,
  });
}
