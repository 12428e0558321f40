/**
 * Golden fixtures: signed files under fixtures/ and the validation results c2pa-rs gave them
 * when they were made, so that an upgrade of @contentauth/c2pa-wasm cannot change what
 * Hallmark reports without a test failing. Used by golden.test.ts and fixtures/generate.ts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createC2pa } from "./c2pa.js";
import { loadCredentials } from "./credentials.js";

export const GOLDEN_FILES = [
  "golden.png",
  "golden.jpg",
  "golden.webp",
  "golden-edited.jpg",
  "golden-tampered.png",
  "golden-tsa.jpg",
] as const;

export interface GoldenResult {
  present: boolean;
  validationState: string | null;
  failures: string[];
  success: string[];
  informational: string[];
  timeStamp: { present: boolean; trusted: boolean };
  aiGenerated: boolean;
  actions: string[];
  ingredients: number;
}

/** Read every golden file under two anchor sets: the fixture CA (and TSA root), and none. */
export async function goldenResults(
  dir: string,
  dataDir: string,
): Promise<Record<string, Record<"anchored" | "unanchored", GoldenResult>>> {
  const credentials = { ...(await loadCredentials({ dataDir })), developmentCa: null };
  const anchored = await createC2pa({
    credentials,
    trustAnchorsPem: await readFile(join(dir, "golden-anchor.crt"), "utf8"),
    tsa: {
      url: "http://127.0.0.1:9/unused",
      trustAnchorsPem: await readFile(join(dir, "golden-tsa-anchor.crt"), "utf8"),
    },
  });
  const unanchored = await createC2pa({ credentials });
  const uniq = (codes: string[]) => [...new Set(codes)].sort();
  const out: Record<string, Record<"anchored" | "unanchored", GoldenResult>> = {};
  for (const name of GOLDEN_FILES) {
    const bytes = new Uint8Array(await readFile(join(dir, name)));
    const entry = {} as Record<"anchored" | "unanchored", GoldenResult>;
    for (const [key, c2pa] of [
      ["anchored", anchored],
      ["unanchored", unanchored],
    ] as const) {
      const r = await c2pa.read(bytes);
      entry[key] = {
        present: r.present,
        validationState: r.validationState,
        failures: uniq(r.failures.map((f) => f.code)),
        success: uniq(r.successCodes),
        informational: uniq(r.informationalCodes),
        timeStamp: { present: r.timeStamp.present, trusted: r.timeStamp.trusted },
        aiGenerated: r.aiGenerated,
        actions: r.actions.map((a) => a.action),
        ingredients: r.ingredients.length,
      };
    }
    out[name] = entry;
  }
  return out;
}
