import type { Recorder } from "../audit/index.js";
import type { ImageClassifier } from "../classify/image/index.js";
import type { TextClassifier } from "../classify/text/index.js";
import type { Db } from "../db/index.js";
import type { Generator, Limiter } from "../generate/index.js";
import type { Logger } from "../log/index.js";
import type { LicenceRegistry, Policy, PolicyStore, TenantSettings } from "../policy/index.js";
import type { C2pa } from "../provenance/c2pa/index.js";
import type { PdqHasher } from "../provenance/fingerprint/index.js";
import type { WatermarkEngine } from "../provenance/watermark/index.js";
import type { StageTimeouts } from "./stage-failure.js";

/** Everything the use cases need, constructed once at start (src/runtime) and passed in. */
export interface PipelineDeps {
  db: Db;
  policy: Policy;
  /** The policy store: a request gets its tenant's effective policy (withTenantPolicy). */
  policies?: PolicyStore;
  /** Set per request with the tenant's policy: what the tenant declared (licence audit). */
  declared?: TenantSettings | null;
  /** Warnings such as a stage bypassed under a fail-open policy. */
  logger?: Logger;
  text: TextClassifier;
  generator: Generator;
  /** The licence registry (policies/licences); absent: every licence is recorded as not known. */
  licences?: LicenceRegistry;
  /** Output (and input) image screening; absent means the stage is reported absent. */
  image?: ImageClassifier;
  limiter: Limiter;
  /** The invisible watermark and the issuer key id its payloads carry; absent: stage absent. */
  watermark?: { watermarker: WatermarkEngine; issuerKeyId: number };
  /** PDQ hashing for verify (default in-process; the CPU pool keeps it off the event loop). */
  pdq?: PdqHasher;
  /** C2PA signing; absent means the stage is reported absent (only when the policy allows it). */
  c2pa?: C2pa;
  /** Hallmark's version, for the manifest's claim_generator_info. */
  version: string;
  /** Base URL for links in manifests (the audit record of a generation). */
  publicUrl: string;
  /** Group-commit audit recorder (src/audit/recorder.ts); absent: one transaction per request. */
  recorder?: Recorder;
  /** The audit log's origin line, named in manifests beside the entry's index. */
  logOrigin?: string;
  /** Told after each recorded generation (the checkpointer's N-entry schedule). */
  onRecorded?: () => void;
  /**
   * A "review" decision holds the request instead of refusing it: the images are made, marked,
   * signed and recorded (status refused, error `held_for_review`) but not returned; the caller
   * keeps them sealed until a reviewer decides (docs/async.md).
   */
  holdForReview?: boolean;
  limits: {
    maxPromptChars: number;
    backendTimeoutMs: number;
    /** Largest image decoded anywhere in the pipeline. */
    maxInputPixels: number;
    /** Each stage's time limit (stage-failure.ts); absent: DEFAULT_STAGE_TIMEOUTS. */
    stageTimeoutMs?: Partial<StageTimeouts>;
  };
}
