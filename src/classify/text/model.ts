import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { z } from "zod";
import { HallmarkError } from "../../errors/index.js";
import { CATEGORIES, type Category } from "../categories.js";
import { versionFromDigest } from "../model-version.js";
import { FEATURE_VERSION, featurise } from "./features.js";

/**
 * The learned text model: an ONNX graph (see scripts/train-text) that maps hashed n-gram
 * features to one sigmoid score per category. Beside model.onnx lies model.json, which says how
 * the features were made and in which order the outputs come; both are checked at load.
 */
export interface TextModel {
  /** "text-classifier@<first 12 hex digits of the ONNX file's sha256>". */
  id: string;
  /** Scores per category, in [0, 1], for normalised text. */
  predict(normalised: string): Promise<Record<Category, number>>;
  /** Frees the ONNX Runtime session. */
  release(): Promise<void>;
}

export const modelMetaSchema = z.strictObject({
  featureVersion: z.literal(FEATURE_VERSION),
  dim: z.number().int().positive(),
  hidden: z.number().int().positive(),
  categories: z.array(z.enum(CATEGORIES)).length(CATEGORIES.length),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  seed: z.number().int(),
});

export type ModelMeta = z.infer<typeof modelMetaSchema>;

/** The ONNX graph's input and output names (scripts/train-text writes the same). */
export const MODEL_IO = { indices: "indices", values: "values", scores: "scores" } as const;

/**
 * Loads model.onnx and its model.json once. Throws `config_error` if either is missing or
 * malformed, or if the ONNX file's sha256 differs from the one recorded at training.
 */
export async function loadTextModel(
  modelPath: string,
  segmenter: Intl.Segmenter,
): Promise<TextModel> {
  const metaPath = modelPath.replace(/\.onnx$/, ".json");
  let bytes: Buffer;
  let meta: ModelMeta;
  try {
    bytes = readFileSync(modelPath);
    meta = modelMetaSchema.parse(JSON.parse(readFileSync(metaPath, "utf8")));
  } catch (cause) {
    throw new HallmarkError(
      "config_error",
      `cannot load text model ${modelPath}: ${String(cause)}`,
      {
        cause,
      },
    );
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== meta.sha256) {
    throw new HallmarkError("config_error", `text model ${modelPath} does not match its sha256`);
  }
  const session = await InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const config = { dim: meta.dim };
  return {
    id: versionFromDigest("text-classifier", sha256),
    async predict(normalised) {
      const f = featurise(normalised, config, segmenter);
      const k = f.indices.length;
      const indices = new Tensor(
        "int64",
        BigInt64Array.from(f.indices, (i) => BigInt(i)),
        [k],
      );
      const values = new Tensor("float32", f.values, [1, k]);
      const out = await session.run({ [MODEL_IO.indices]: indices, [MODEL_IO.values]: values });
      const data = out[MODEL_IO.scores]!.data as Float32Array;
      const scores = {} as Record<Category, number>;
      meta.categories.forEach((c, i) => {
        scores[c] = data[i]!;
      });
      return scores;
    },
    release: () => session.release(),
  };
}
