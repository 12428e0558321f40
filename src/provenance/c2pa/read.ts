/**
 * Reading and validating: what c2pa-rs reports about the active manifest, reduced to what the
 * verify endpoint answers (C2PA §15, "Validation"; the codes are c2pa-rs's, verbatim).
 */
import { HallmarkError } from "../../errors/index.js";
import type { ParsedCert } from "./certificates.js";
import type { Credentials } from "./credentials.js";
import { WasmReader } from "./engine.js";
import { LABEL } from "./manifest.js";
import { engineSettings } from "./settings.js";
import { sniffImage } from "./sniff.js";
import {
  type AnchorInfo,
  COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
  type ReadAction,
  type ReadIngredient,
  type ReadResult,
  TRAINED_ALGORITHMIC_MEDIA,
  type TrainingMining,
  type ValidationEntry,
} from "./types.js";

type Json = Record<string, unknown>;

const AI_SOURCE_TYPES = new Set([
  TRAINED_ALGORITHMIC_MEDIA,
  COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
  "trainedAlgorithmicMedia",
  "compositeWithTrainedAlgorithmicMedia",
]);

/** Engine errors that mean "there is no manifest here", as opposed to a broken one. */
const NO_MANIFEST = /JumbfNotFound|ProvenanceMissing|NotFound\b/;
/** Engine errors about the image container itself (truncated, malformed): a 4xx. */
const BAD_ASSET = /InvalidAsset|UnsupportedType|UnexpectedEof\b(?!\))/;

function obj(value: unknown): Json | null {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : null;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function entries(value: unknown): ValidationEntry[] {
  return arr(value).flatMap((v) => {
    const o = obj(v);
    const code = str(o?.code);
    return code ? [{ code, explanation: str(o?.explanation), url: str(o?.url) }] : [];
  });
}

function dn(value: unknown): string | null {
  const o = obj(value);
  if (!o) return null;
  const parts = Object.entries(o).map(
    ([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`,
  );
  return parts.length ? parts.join(", ") : null;
}

function agentName(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  const o = obj(value);
  const name = str(o?.name);
  if (!name) return undefined;
  const version = str(o?.version);
  return version ? `${name} ${version}` : name;
}

function emptyResult(mediaType: ReadResult["mediaType"], anchors: AnchorInfo[]): ReadResult {
  return {
    present: false,
    mediaType,
    validationState: null,
    failures: [],
    successCodes: [],
    informationalCodes: [],
    activeManifest: null,
    claimGenerator: null,
    signer: null,
    signingTime: null,
    timeStamp: { present: false, trusted: false, codes: [] },
    assertedTime: null,
    aiGenerated: false,
    digitalSourceType: null,
    actions: [],
    ingredients: [],
    licence: null,
    trainingMining: null,
    generation: null,
    softBinding: null,
    signedByThisGateway: false,
    anchors,
  };
}

function assertion(manifest: Json, label: string): Json | null {
  for (const a of arr(manifest.assertions)) {
    const o = obj(a);
    const l = str(o?.label);
    if (l === label || l?.startsWith(`${label}__`)) return obj(o?.data);
  }
  return null;
}

function readTrainingMining(data: Json | null): Partial<TrainingMining> | null {
  const e = obj(data?.entries);
  if (!e) return null;
  const use = (k: string) =>
    str(obj(e[`cawg.${k}`] ?? e[`c2pa.${k}`])?.use) as TrainingMining["aiTraining"];
  const out: Partial<TrainingMining> = {};
  const set = <K extends keyof TrainingMining>(key: K, v: TrainingMining[K] | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set("aiTraining", use("ai_training"));
  set("aiGenerativeTraining", use("ai_generative_training"));
  set("aiInference", use("ai_inference"));
  set("dataMining", use("data_mining"));
  return out;
}

function serialMatches(reported: string | null, cert: ParsedCert): boolean {
  if (!reported) return false;
  const hex = cert.peculiar.serialNumber.toLowerCase().replace(/^0+/, "") || "0";
  const r = reported.toLowerCase().replace(/^0+/, "") || "0";
  if (r === hex) return true;
  try {
    return BigInt(`0x${hex}`).toString(10) === reported;
  } catch {
    return false;
  }
}

export interface ReaderDeps {
  credentials: Credentials | null;
  anchors: { certs: ParsedCert[]; infos: AnchorInfo[]; pem: string };
  tsaAnchors: ParsedCert[];
  maxBytes: number;
}

/** Open the engine's reader; null when the bytes carry no manifest. */
async function open(
  mediaType: string,
  bytes: Uint8Array,
  settings: string,
): Promise<{ store: Json; cr: Json | null } | { error: string } | null> {
  let reader: WasmReader;
  try {
    reader = await WasmReader.fromBytes(mediaType, bytes, settings);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (NO_MANIFEST.test(message)) return null;
    if (BAD_ASSET.test(message) && !/Jumbf/.test(message)) {
      throw new HallmarkError("invalid_image", `the image is malformed: ${message}`, {
        param: "image",
        cause: error,
      });
    }
    return { error: message };
  }
  try {
    const store = obj(reader.manifestStore()) ?? {};
    let cr: Json | null = null;
    try {
      cr = obj(JSON.parse(reader.crJson()));
    } catch {
      cr = null;
    }
    return { store, cr };
  } finally {
    reader.free();
  }
}

export function createReader(deps: ReaderDeps) {
  const settings = engineSettings({
    anchorsPem: deps.anchors.pem,
    tsaAnchorsPem: deps.tsaAnchors.map((c) => c.pem).join(""),
  });
  const ownCert = deps.credentials?.chain[0] ?? null;

  async function read(bytes: Uint8Array, mediaType?: string): Promise<ReadResult> {
    const sniffed = sniffImage(bytes, { maxBytes: deps.maxBytes, maxPixels: Infinity }, mediaType);
    const result = emptyResult(sniffed.mediaType, deps.anchors.infos);
    const opened = await open(sniffed.mediaType, bytes, settings);
    if (opened === null) return result;
    result.present = true;
    if ("error" in opened) {
      result.validationState = "Invalid";
      result.failures = [{ code: "hallmark.manifest.unreadable", explanation: opened.error }];
      return result;
    }
    const { store, cr } = opened;
    const label = str(store.active_manifest) ?? null;
    const manifest = label ? obj(obj(store.manifests)?.[label]) : null;
    const state = str(store.validation_state);
    result.validationState =
      state === "Trusted" || state === "Valid" || state === "Invalid" ? state : "Invalid";
    const vr = obj(obj(store.validation_results)?.activeManifest);
    result.failures = entries(vr?.failure);
    result.successCodes = entries(vr?.success).map((e) => e.code);
    result.informationalCodes = entries(vr?.informational).map((e) => e.code);
    if (!vr) {
      result.failures = entries(store.validation_status);
      if (!result.failures.length && result.validationState === "Invalid") {
        result.failures = [
          { code: "hallmark.manifest.unreadable", explanation: "no validation results" },
        ];
      }
    }
    result.activeManifest = label;
    if (!manifest) return result;

    const gen = obj(arr(manifest.claim_generator_info)[0]);
    result.claimGenerator = gen
      ? [str(gen.name), str(gen.version)].filter(Boolean).join(" ")
      : (str(manifest.claim_generator) ?? null);

    const crManifest = arr(cr?.manifests)
      .map(obj)
      .find((m) => str(m?.label) === label);
    const certInfo = obj(obj(crManifest?.signature)?.certificateInfo);
    const sigInfo = obj(manifest.signature_info);
    result.signer = {
      subject:
        dn(certInfo?.subject) ??
        (str(sigInfo?.common_name) ? `CN=${str(sigInfo?.common_name)}` : null),
      issuer: dn(certInfo?.issuer) ?? str(sigInfo?.issuer) ?? null,
      serialNumber: str(certInfo?.serialNumber) ?? str(sigInfo?.cert_serial_number) ?? null,
      alg: str(sigInfo?.alg) ?? null,
    };
    result.signingTime = str(sigInfo?.time) ?? null;

    const tsCodes = [
      ...result.successCodes,
      ...result.informationalCodes,
      ...result.failures.map((f) => f.code),
    ].filter((c) => c.startsWith("timeStamp."));
    result.timeStamp = {
      present: tsCodes.length > 0 || result.signingTime !== null,
      trusted: false,
      codes: tsCodes,
    };
    result.timeStamp.trusted = tsCodes.includes("timeStamp.trusted");

    const actionsData = assertion(manifest, LABEL.actions) ?? assertion(manifest, "c2pa.actions");
    result.actions = arr(actionsData?.actions).flatMap((a): ReadAction[] => {
      const o = obj(a);
      const action = str(o?.action);
      if (!action) return [];
      const out: ReadAction = { action };
      const when = str(o?.when);
      if (when) out.when = when;
      const dst = str(o?.digitalSourceType);
      if (dst) out.digitalSourceType = dst;
      const agent = agentName(o?.softwareAgent);
      if (agent) out.softwareAgent = agent;
      return [out];
    });
    const aiAction = result.actions.find(
      (a) => a.digitalSourceType && AI_SOURCE_TYPES.has(a.digitalSourceType),
    );
    result.aiGenerated = aiAction !== undefined;
    result.digitalSourceType =
      aiAction?.digitalSourceType ??
      result.actions.find((a) => a.digitalSourceType)?.digitalSourceType ??
      null;
    result.assertedTime = result.actions[0]?.when ?? null;

    result.ingredients = arr(manifest.ingredients).flatMap((i): ReadIngredient[] => {
      const o = obj(i);
      if (!o) return [];
      const out: ReadIngredient = {};
      for (const [from, to] of [
        ["title", "title"],
        ["format", "format"],
        ["relationship", "relationship"],
        ["active_manifest", "activeManifest"],
      ] as const) {
        const v = str(o[from]);
        if (v) out[to] = v;
      }
      const ingredientState = str(o.validation_state);
      if (ingredientState) out.validationState = ingredientState;
      return [out];
    });

    const work = assertion(manifest, LABEL.creativeWork);
    const licenseUrl = str(work?.license);
    if (licenseUrl) {
      result.licence = { url: licenseUrl };
      const terms = str(work?.usageInfo);
      if (terms) result.licence.usageTerms = terms;
      const name = str(work?.name);
      if (name) result.licence.name = name;
    }
    result.trainingMining = readTrainingMining(
      assertion(manifest, LABEL.trainingMining) ?? assertion(manifest, "c2pa.training-mining"),
    );

    const g = assertion(manifest, LABEL.generation);
    const generationId = str(g?.generationId);
    if (g && generationId) {
      const model = obj(g.model);
      const policy = obj(g.policy);
      result.generation = { generationId };
      const auditUrl = str(g.auditUrl);
      if (auditUrl) result.generation.auditUrl = auditUrl;
      if (typeof g.logIndex === "number") result.generation.logIndex = g.logIndex;
      const logOrigin = str(g.logOrigin);
      if (logOrigin) result.generation.logOrigin = logOrigin;
      const promptSha256 = str(g.promptSha256);
      if (promptSha256) result.generation.promptSha256 = promptSha256;
      const prompt = str(g.prompt);
      if (prompt !== undefined) result.generation.prompt = prompt;
      if (model && str(model.name)) {
        result.generation.model = { name: str(model.name)! };
        if (str(model.version)) result.generation.model.version = str(model.version);
      }
      if (policy && str(policy.id)) {
        result.generation.policy = { id: str(policy.id)! };
        if (str(policy.hash)) result.generation.policy.hash = str(policy.hash);
      }
      const inputs = arr(g.inputs)
        .map((i) => str(obj(i)?.sha256))
        .filter((h): h is string => h !== undefined);
      if (inputs.length > 0) result.generation.inputs = inputs.map((sha256) => ({ sha256 }));
    }

    const sb = assertion(manifest, LABEL.softBinding);
    const sbAlg = str(sb?.alg);
    const sbValue = str(obj(arr(sb?.blocks)[0])?.value);
    if (sbAlg && sbValue) result.softBinding = { alg: sbAlg, value: sbValue };

    if (ownCert && result.signer) {
      result.signedByThisGateway =
        serialMatches(result.signer.serialNumber, ownCert) &&
        result.signer.subject !== null &&
        normaliseDn(result.signer.subject) === normaliseDn(ownCert.subject) &&
        result.validationState !== "Invalid";
    }
    return result;
  }

  return { read };
}

function normaliseDn(value: string): string {
  return value
    .split(/,\s*/)
    .map((p) => p.trim())
    .sort()
    .join(",");
}
