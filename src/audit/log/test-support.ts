/** Helpers shared by this folder's tests (not part of the public surface). */
import { sql } from "drizzle-orm";
import type { Db } from "../../db/index.js";
import { createNoteSigner, createNoteVerifier, generateNoteKey } from "../tlog/index.js";
import { appendEntry } from "./append.js";

export const ORIGIN = "test.example/hallmark/audit";

/** A fresh checkpoint key for ORIGIN. */
export function testKey() {
  const { skey, vkey } = generateNoteKey(ORIGIN);
  return { signer: createNoteSigner(skey), verifier: createNoteVerifier(vkey), vkey };
}

/** Appends `count` generation entries, up to 50 per transaction; returns their indices. */
export async function appendMany(db: Db, count: number, label = "t"): Promise<number[]> {
  const indices: number[] = [];
  for (let done = 0; done < count; ) {
    const chunk = Math.min(50, count - done);
    const first = done;
    await db.transaction(async (tx) => {
      for (let i = first; i < first + chunk; i++) {
        const { index } = await appendEntry(tx, {
          kind: "generation",
          generationId: null,
          payload: { label, i, prompt: `prompt ${label} ${i}` },
          attributes: { action: "allow" },
        });
        indices.push(index);
      }
    });
    done += chunk;
  }
  return indices;
}

/**
 * Runs `work` in a transaction where triggers are off (as a superuser can), then rolls it
 * back, so one database serves many tamper scenarios.
 */
export async function asTamperer<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const rollback = new Error("rollback");
  await db
    .transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      result = await work(tx);
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
  return result as T;
}
