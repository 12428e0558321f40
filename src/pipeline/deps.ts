import type { TextClassifier } from "../classify/text/index.js";
import type { Db } from "../db/index.js";
import type { Generator, Limiter } from "../generate/index.js";
import type { Policy } from "../policy/index.js";

/** Everything the use cases need, constructed once at start (src/runtime) and passed in. */
export interface PipelineDeps {
  db: Db;
  policy: Policy;
  text: TextClassifier;
  generator: Generator;
  limiter: Limiter;
  limits: {
    maxPromptChars: number;
    backendTimeoutMs: number;
  };
}
