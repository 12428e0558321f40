import type { Db } from "../db/index.js";
import type { OutputStore } from "../outputs/index.js";
import type { C2pa } from "../provenance/c2pa/index.js";

/** What the item page can say about an image's credentials when its bytes are at hand. */
export interface LiveValidation {
  index: number;
  /** c2pa-rs validation state of the kept bytes, or null when no manifest was found. */
  state: "Invalid" | "Valid" | "Trusted" | null;
  failures: string[];
  signer: string | null;
}

/** The C2PA reader and the output store, when the runtime has them. */
export interface LiveC2paDeps {
  c2pa?: Pick<C2pa, "read">;
  outputs?: Pick<OutputStore, "get">;
}

/**
 * Validates the C2PA credentials of a held request's kept images (unsealed from the output
 * store) with the same reader verify uses. Completed requests keep no image bytes, so there
 * is nothing to validate live: the result is null, as it is without a reader or a store.
 */
export async function validateKept(
  db: Db,
  deps: LiveC2paDeps,
  generationId: string,
): Promise<LiveValidation[] | null> {
  if (!deps.c2pa || !deps.outputs) return null;
  const kept = await deps.outputs.get(db, generationId);
  if (!kept) return null;
  const reader = deps.c2pa;
  return Promise.all(
    kept.map(async (image) => {
      try {
        const r = await reader.read(image.bytes, image.mediaType);
        return {
          index: image.index,
          state: r.present ? r.validationState : null,
          failures: r.failures.map((f) => f.code),
          signer: r.signer?.subject ?? null,
        };
      } catch {
        return { index: image.index, state: null, failures: ["unreadable"], signer: null };
      }
    }),
  );
}
