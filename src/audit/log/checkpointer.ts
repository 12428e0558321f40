import type { Db } from "../../db/index.js";
import type { NoteSigner, NoteVerifier } from "../tlog/index.js";
import { type CheckpointRecord, latestCheckpoint, signCheckpointNow } from "./checkpoints.js";
import { logSize } from "./sql.js";

export interface CheckpointerOptions {
  db: Db;
  signer: NoteSigner;
  /** The signer's verifier, to check the previous checkpoint before extending it. */
  verifier?: NoteVerifier;
  origin: string;
  /** Sign once this many entries were appended since the last checkpoint (default 1000). */
  everyEntries?: number;
  /** Sign at least this often while there are new entries (default 10 s). */
  everySeconds?: number;
  /** How often to look at the log's size (default min(1 s, everySeconds)). */
  pollMs?: number;
  /** Called with each new checkpoint. */
  onCheckpoint?: (checkpoint: CheckpointRecord) => void;
  /** Called when signing fails (the database is down, or the log is inconsistent). */
  onError?: (error: unknown) => void;
}

export interface Checkpointer {
  /** Starts the schedule. Idempotent. */
  start(): void;
  /** Stops the schedule and waits for a checkpoint in progress; no timer is left running. */
  stop(): Promise<void>;
  /** Signs a checkpoint now if entries were appended since the last one. */
  checkpoint(): Promise<CheckpointRecord | null>;
  /** Tells the checkpointer that this process appended entries, so N-entry checkpoints come promptly. */
  appended(count?: number): void;
}

/**
 * Makes a signed checkpoint every `everyEntries` entries or every `everySeconds` seconds,
 * whichever comes first, and none while the log does not grow. Entries appended by other
 * processes count too (the size is read from the database); when several processes run a
 * checkpointer, one signs at a time and the others skip that round.
 *
 * @example
 * const checkpointer = createCheckpointer({ db, ...await loadLogKey({ dataDir, origin }), origin });
 * checkpointer.start(); … await checkpointer.stop();
 */
export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const everyEntries = options.everyEntries ?? 1000;
  const everySeconds = options.everySeconds ?? 10;
  const pollMs = options.pollMs ?? Math.min(1000, everySeconds * 1000);
  const onError = options.onError ?? (() => {});
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let inFlight: Promise<void> | null = null;
  let lastSize: number | null = null;
  let lastAt = Date.now();
  let pending = 0;

  const sign = async (): Promise<CheckpointRecord | null> => {
    const record = await signCheckpointNow(options);
    if (record && record.size !== lastSize) {
      lastSize = record.size;
      lastAt = Date.now();
      pending = 0;
      options.onCheckpoint?.(record);
    }
    return record;
  };

  const tick = async (): Promise<void> => {
    if (lastSize === null) lastSize = (await latestCheckpoint(options.db))?.size ?? -1;
    const size = await logSize(options.db);
    const due = size - lastSize >= everyEntries || Date.now() - lastAt >= everySeconds * 1000;
    if (size > lastSize && due) await sign();
  };

  const run = (): Promise<void> => {
    inFlight ??= tick()
      .catch(onError)
      .finally(() => {
        inFlight = null;
        schedule();
      });
    return inFlight;
  };

  const schedule = () => {
    if (!running || timer !== null || inFlight !== null) return;
    timer = setTimeout(() => {
      timer = null;
      void run();
    }, pollMs);
    timer.unref();
  };

  return {
    start() {
      if (running) return;
      running = true;
      lastAt = Date.now();
      schedule();
    },
    async stop() {
      running = false;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await inFlight;
    },
    async checkpoint() {
      await inFlight;
      return sign();
    },
    appended(count = 1) {
      pending += count;
      if (running && pending >= everyEntries && inFlight === null) {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        void run();
      }
    },
  };
}
