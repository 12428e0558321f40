/**
 * Public types of the C2PA capability. Spec names are kept verbatim where they come from the
 * C2PA Technical Specification 2.x (https://spec.c2pa.org/specifications/specifications/2.2/specs/C2PA_Specification.html)
 * or the CAWG specifications.
 */

/** Media types Hallmark signs and reads. */
export type C2paMediaType = "image/png" | "image/jpeg" | "image/webp";

export const C2PA_MEDIA_TYPES: readonly C2paMediaType[] = ["image/png", "image/jpeg", "image/webp"];

/** COSE signature algorithms Hallmark signs with (C2PA §13.2, "Digital signatures"). */
export type SigningAlg = "ES256" | "ES384" | "PS256" | "Ed25519";

/** IPTC digital source type for media created by a trained model. */
export const TRAINED_ALGORITHMIC_MEDIA =
  "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
/** IPTC digital source type for a composite that includes trained-model output. */
export const COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA =
  "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";

/**
 * One permission of the CAWG training-and-data-mining assertion
 * (https://cawg.io/training-and-data-mining/): `allowed`, `notAllowed`, or `constrained`.
 */
export type TrainingMiningUse = "allowed" | "notAllowed" | "constrained";

export interface TrainingMining {
  /** `cawg.ai_training` */
  aiTraining: TrainingMiningUse;
  /** `cawg.ai_generative_training` */
  aiGenerativeTraining: TrainingMiningUse;
  /** `cawg.ai_inference` */
  aiInference: TrainingMiningUse;
  /** `cawg.data_mining` */
  dataMining: TrainingMiningUse;
  /** Free text or URL that explains `constrained` (CAWG `constraint_info`). */
  constraintInfo?: string;
}

/** The licence of the output, written as a schema.org CreativeWork assertion. */
export interface Licence {
  /** schema.org `license`: URL of the licence (e.g. https://creativecommons.org/licenses/by/4.0/). */
  url: string;
  /** schema.org `usageInfo`: the usage terms, as a URL or a short text. */
  usageTerms?: string;
  /** A short name of the licence (schema.org `name` on the CreativeWork), e.g. "CC-BY-4.0". */
  name?: string;
}

/** What the caller knows about one generated image; turned into the manifest's assertions. */
export interface ManifestSpec {
  /** `dc:title` of the claim, e.g. the file name the client will see. */
  title: string;
  /** Hallmark's version for `claim_generator_info` (name is always "hallmark"). */
  generatorVersion: string;
  /** The model that produced the pixels: the actions' `softwareAgent`. */
  model: { name: string; version?: string };
  /**
   * `created` for text-to-image; `edited` for image-to-image/inpainting, where `input` is the
   * image that was edited: it becomes the `parentOf` ingredient, keeping its own manifest.
   * `inputSha256s` (the parent first, then any further inputs) go into `org.hallmark.generation`
   * as `inputs`, so the manifest names every input even when the ingredient carries no hash.
   */
  action:
    | { kind: "created" }
    | { kind: "edited"; input: ImageInput; inputTitle?: string; inputSha256s?: string[] };
  /** Training and data mining permissions; every entry defaults to `notAllowed`. */
  trainingMining?: Partial<TrainingMining>;
  licence?: Licence;
  /** The prompt. Its SHA-256 is always recorded; the text only when `includePromptText`. */
  prompt?: string;
  includePromptText?: boolean;
  /** The generation id (also the audit entry's subject). */
  generationId: string;
  /** URL where the audit entry of this generation can be fetched. */
  auditUrl?: string;
  /** Index of the audit entry in the transparency log, when known at signing time. */
  logIndex?: number;
  /** The log's origin line (C2SP checkpoint origin), naming which log `logIndex` is in. */
  logOrigin?: string;
  policy?: { id: string; hash?: string };
  /** Soft binding of the invisible watermark: algorithm name and value (base64). */
  softBinding?: { alg: string; value: string };
  /** Time the image was produced; defaults to now. Recorded as the action's `when`. */
  when?: Date;
}

export interface ImageInput {
  bytes: Uint8Array;
  mediaType: C2paMediaType;
}

export interface SignResult {
  /** The signed asset, manifest embedded. */
  bytes: Uint8Array;
  /** The manifest store alone (application/c2pa), to keep with the image row. */
  manifestBytes: Uint8Array;
  /** The active manifest's label (`urn:c2pa:…`). */
  manifestLabel: string;
  /** Whether an RFC 3161 time-stamp (sigTst2) is in the signature. */
  timeStamped: boolean;
}

/** One entry of the C2PA `validation_results` (C2PA §15, "Validation"). */
export interface ValidationEntry {
  code: string;
  explanation?: string;
  url?: string;
}

/** A trust anchor in force for validation, as named by `certs check` and the verify response. */
export interface AnchorInfo {
  subject: string;
  /** SHA-256 of the certificate's DER, hex. */
  sha256: string;
  notAfter: string;
  /** Where the anchor came from. */
  source: "operator" | "trust-list" | "development" | "tsa";
}

export interface ReadAction {
  action: string;
  when?: string;
  digitalSourceType?: string;
  softwareAgent?: string;
}

export interface ReadIngredient {
  title?: string;
  format?: string;
  relationship?: string;
  /** Label of the ingredient's own manifest, when it carried one. */
  activeManifest?: string;
  validationState?: string;
}

export interface ReadResult {
  /** A C2PA manifest store was found in the bytes. */
  present: boolean;
  /** The media type the bytes were read as (sniffed from the bytes). */
  mediaType: C2paMediaType | null;
  /** c2pa-rs `validation_state`: `Invalid`, `Valid` (signature good, signer not trusted) or `Trusted`. */
  validationState: "Invalid" | "Valid" | "Trusted" | null;
  /** Failure codes of the active manifest (e.g. `assertion.dataHash.mismatch`). */
  failures: ValidationEntry[];
  /** All success and informational codes, for the curious. */
  successCodes: string[];
  informationalCodes: string[];
  activeManifest: string | null;
  claimGenerator: string | null;
  signer: {
    subject: string | null;
    issuer: string | null;
    serialNumber: string | null;
    alg: string | null;
  } | null;
  /** Signing time from the RFC 3161 time-stamp, ISO 8601; null when not time-stamped. */
  signingTime: string | null;
  timeStamp: {
    present: boolean;
    /** Whether the TSA chains to one of the configured TSA anchors (kept apart from signer anchors). */
    trusted: boolean;
    codes: string[];
  };
  /** The time the active manifest asserts the image was made (its first action's `when`). */
  assertedTime: string | null;
  /** Active manifest says the media was made or edited by a trained model. */
  aiGenerated: boolean;
  digitalSourceType: string | null;
  actions: ReadAction[];
  ingredients: ReadIngredient[];
  licence: Licence | null;
  trainingMining: Partial<TrainingMining> | null;
  /** Hallmark's own generation assertion, when present. */
  generation: {
    generationId: string;
    auditUrl?: string;
    logIndex?: number;
    logOrigin?: string;
    promptSha256?: string;
    prompt?: string;
    model?: { name: string; version?: string };
    policy?: { id: string; hash?: string };
    /** SHA-256 of each input image of an edit (the parent first). */
    inputs?: Array<{ sha256: string }>;
  } | null;
  softBinding: { alg: string; value: string } | null;
  /** The signing certificate is this gateway's own (same DER as the configured signer). */
  signedByThisGateway: boolean;
  /** Signer trust anchors in force for this read. */
  anchors: AnchorInfo[];
}
