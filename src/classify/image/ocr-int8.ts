/**
 * The 8-bit text detector: PaddleOCR's detector quantised as it loads
 * (src/classify/onnx-graph/quantize.ts) with the activation ranges measured by
 * scripts/models/calibrate-ocr-detector.ts and committed in models/ocr/detector-int8-ranges.json.
 * The ranges name the detector they were measured on (its sha256); another detector file is
 * refused rather than quantised with ranges that are not its own.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { ActivationRanges } from "../onnx-graph/index.js";

export const DETECTOR_INT8_RANGES_FILE = "ocr/detector-int8-ranges.json";

export interface DetectorQuantisation {
  ranges: ActivationRanges;
  firstQuantised: string;
}

const rangesFile = z.object({
  detector: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  firstQuantised: z.string().min(1),
  ranges: z.record(z.string(), z.tuple([z.number(), z.number()])),
});

export class DetectorRangesError extends Error {
  override name = "DetectorRangesError";
}

/** Reads the ranges file and checks it was measured on `detector`'s bytes. */
export async function loadDetectorQuantisation(
  rangesPath: string,
  detector: Uint8Array,
): Promise<DetectorQuantisation> {
  let text: string;
  try {
    text = await readFile(rangesPath, "utf8");
  } catch (err) {
    throw new DetectorRangesError(
      `${rangesPath}: cannot read the int8 detector's ranges (${(err as NodeJS.ErrnoException).code ?? String(err)}); run scripts/models/calibrate-ocr-detector.ts or set HALLMARK_OCR_DETECTOR_PRECISION=float`,
    );
  }
  let doc: z.infer<typeof rangesFile>;
  try {
    doc = rangesFile.parse(JSON.parse(text));
  } catch (err) {
    throw new DetectorRangesError(`${rangesPath}: not a detector ranges file (${String(err)})`);
  }
  const sha256 = createHash("sha256").update(detector).digest("hex");
  if (sha256 !== doc.sha256) {
    throw new DetectorRangesError(
      `${rangesPath} was measured on ${doc.detector} ${doc.sha256.slice(0, 12)}…, not on this detector (${sha256.slice(0, 12)}…): run scripts/models/calibrate-ocr-detector.ts`,
    );
  }
  return { ranges: doc.ranges, firstQuantised: doc.firstQuantised };
}
