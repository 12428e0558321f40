import { eq } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { generations, images } from "../db/schema.js";
import { HallmarkError } from "../errors/index.js";
import { appendEntries } from "./log/index.js";
import { type PromptRetention, promptAudit, sha256Hex } from "./prompt-audit.js";
import { withoutPromptText } from "./prompt-redaction.js";

/** One stage of the pipeline as it ran: recorded in the audit row and in Server-Timing. */
export interface StageRecord {
  name: string;
  status: "applied" | "absent" | "skipped" | "failed";
  ms: number;
  /** Why a stage was absent, skipped or failed. */
  note?: string;
}

export interface ImageRecord {
  index: number;
  sha256: string;
  mediaType: string;
  width: number;
  height: number;
  bytes: number;
  seed: number | null;
  marks: unknown[];
  watermarkMarkId?: string | null;
  c2paManifest?: Buffer | null;
  c2paLabel?: string | null;
  pdqHash?: string | null;
  pdqQuality?: number | null;
}

export interface GenerationRecord {
  id: string;
  tenantId: string;
  apiKeyId: string | null;
  endUser: string | null;
  kind: "generate" | "edit" | "variation";
  status: "completed" | "refused" | "failed";
  retention: PromptRetention;
  prompt: string;
  negativePrompt?: string;
  params: Record<string, unknown>;
  model: string;
  backend: string;
  action: string;
  decision: unknown;
  stages: StageRecord[];
  errorCode?: string | null;
  images: ImageRecord[];
}

/**
 * Writes a request's entry in the tamper-evident audit log, its generation row and its image rows
 * in one transaction. The pipeline awaits this before any image byte is sent; an unreachable
 * database becomes `database_unavailable`. Returns the entry's log index.
 *
 * The log entry's permanent attributes hold only what must outlive retention (status, action,
 * policy, model, image hashes); the prompt audit and the decision's detail go in the payload,
 * which retention can remove while the tree stays verifiable (docs/audit-log.md §8).
 */
export async function recordGeneration(
  db: Db,
  record: GenerationRecord,
): Promise<{ logIndex: number }> {
  try {
    return await writeRecord(db, record);
  } catch (error) {
    // A record the log cannot hash is Hallmark's bug, never the caller's: a 500, not a 4xx.
    if (error instanceof HallmarkError && error.code !== "database_unavailable") {
      throw new HallmarkError("internal_error", "The audit record could not be written.", {
        cause: error,
      });
    }
    throw error;
  }
}

async function writeRecord(db: Db, record: GenerationRecord): Promise<{ logIndex: number }> {
  return withDatabase(() => db.transaction((tx) => writeRecordInTransaction(tx, record)));
}

/**
 * Appends the log entry and inserts the generation and image rows inside the caller's
 * transaction (which must end up holding the sequencer lock until commit: appendEntry takes it).
 */
export async function writeRecordInTransaction(
  tx: Db,
  record: GenerationRecord,
): Promise<{ logIndex: number }> {
  const [written] = await writeRecordsInTransaction(tx, [record]);
  return written!;
}

/**
 * Several records in the caller's transaction at consecutive log indices, in the order given:
 * one statement each for the entries, payloads, generation rows and image rows.
 */
export async function writeRecordsInTransaction(
  tx: Db,
  records: GenerationRecord[],
): Promise<Array<{ logIndex: number }>> {
  const audited = records.map((record) => ({
    // Hash-only retention: the decision must not repeat the prompt either (prompt-redaction.ts).
    record:
      record.retention === "plaintext"
        ? record
        : { ...record, decision: withoutPromptText(record.decision) as typeof record.decision },
    prompt: promptAudit(record.prompt, record.retention),
    negative: promptAudit(record.negativePrompt, record.retention),
  }));
  const entries = await appendEntries(
    tx,
    audited.map(({ record, prompt, negative }) => ({
      kind: "generation" as const,
      generationId: record.id,
      attributes: {
        tenant_id: record.tenantId,
        kind: record.kind,
        status: record.status,
        action: record.action,
        model: record.model,
        backend: record.backend,
        error_code: record.errorCode ?? null,
        images: record.images.map((i) => ({
          sha256: i.sha256,
          media_type: i.mediaType,
          c2pa_manifest_sha256: i.c2paManifest ? sha256Hex(i.c2paManifest) : null,
          watermark_mark_id: i.watermarkMarkId ?? null,
          pdq: i.pdqHash ?? null,
        })),
      },
      payload: {
        end_user: record.endUser,
        api_key_id: record.apiKeyId,
        prompt: { retention: record.retention, text: prompt.text, sha256: prompt.sha256 },
        negative_prompt: { text: negative.text, sha256: negative.sha256 },
        params: record.params,
        decision: record.decision,
        stages: record.stages,
        marks: record.images.map((i) => i.marks),
      },
    })),
  );
  await tx.insert(generations).values(
    audited.map(({ record, prompt, negative }, i) => ({
      logIndex: entries[i]!.index,
      id: record.id,
      tenantId: record.tenantId,
      apiKeyId: record.apiKeyId,
      endUser: record.endUser,
      kind: record.kind,
      status: record.status,
      promptRetention: record.retention,
      prompt: prompt.text,
      promptSha256: prompt.sha256!,
      negativePrompt: negative.text,
      negativePromptSha256: negative.sha256,
      params: record.params,
      model: record.model,
      backend: record.backend,
      action: record.action,
      decision: record.decision,
      stages: record.stages,
      errorCode: record.errorCode ?? null,
    })),
  );
  const imageRows = records.flatMap((record) =>
    record.images.map((image) => ({
      generationId: record.id,
      index: image.index,
      sha256: image.sha256,
      mediaType: image.mediaType,
      width: image.width,
      height: image.height,
      bytes: image.bytes,
      seed: image.seed === null ? null : String(image.seed),
      marks: image.marks,
      watermarkMarkId: image.watermarkMarkId ?? null,
      c2paManifest: image.c2paManifest ?? null,
      c2paLabel: image.c2paLabel ?? null,
      pdqHash: image.pdqHash ?? null,
      pdqQuality: image.pdqQuality ?? null,
    })),
  );
  if (imageRows.length > 0) await tx.insert(images).values(imageRows);
  return entries.map((e) => ({ logIndex: e.index }));
}

export type GenerationRow = typeof generations.$inferSelect;
export type ImageRow = typeof images.$inferSelect;

/** A generation and its images, or null. Tenant scoping is the caller's job (see pipeline). */
export async function findGeneration(
  db: Db,
  id: string,
): Promise<{ generation: GenerationRow; images: ImageRow[] } | null> {
  return withDatabase(async () => {
    const [generation] = await db.select().from(generations).where(eq(generations.id, id));
    if (!generation) return null;
    const rows = await db
      .select()
      .from(images)
      .where(eq(images.generationId, id))
      .orderBy(images.index);
    return { generation, images: rows };
  });
}

/** Images with this exact SHA-256, with their generation. */
export async function findImagesBySha256(
  db: Db,
  sha256: string,
): Promise<Array<{ image: ImageRow; generation: GenerationRow }>> {
  return withDatabase(async () => {
    const rows = await db
      .select({ image: images, generation: generations })
      .from(images)
      .innerJoin(generations, eq(images.generationId, generations.id))
      .where(eq(images.sha256, sha256));
    return rows;
  });
}
