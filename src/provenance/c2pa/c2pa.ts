/**
 * The C2PA capability: sign an image with a manifest built from a ManifestSpec, and read and
 * validate any bytes. c2pa-rs (through @contentauth/c2pa-wasm) does the claim, the hashing,
 * the embedding and the validation; Hallmark does the COSE signature, the time-stamp, the
 * credentials and the trust anchors.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { HallmarkError } from "../../errors/index.js";
import { anchorInfo, type ParsedCert, parsePemCertificates } from "./certificates.js";
import { signClaim, WASM_ALG } from "./cose-sign.js";
import type { Credentials } from "./credentials.js";
import { ensureEngine, SyncBlob, WasmBuilder } from "./engine.js";
import { manifestDefinition, PARENT_INGREDIENT_ID } from "./manifest.js";
import { createReader } from "./read.js";
import { engineSettings } from "./settings.js";
import { sniffImage } from "./sniff.js";
import { createTsaClient, type TsaConfig } from "./tsa.js";
import type {
  AnchorInfo,
  C2paMediaType,
  ImageInput,
  ManifestSpec,
  ReadResult,
  SignResult,
} from "./types.js";

export type C2paLog = (
  level: "warn" | "error",
  message: string,
  fields: Record<string, unknown>,
) => void;

export interface C2paOptions {
  credentials: Credentials;
  /** The operator's signer trust anchors (PEM bundle text). */
  trustAnchorsPem?: string;
  /** A further PEM file of signer trust anchors (e.g. the C2PA trust list). */
  trustListFile?: string;
  /** RFC 3161 time-stamp authority. `required` (default true) fails signing when it fails. */
  tsa?: TsaConfig;
  /** Where warnings go (a failed, optional time-stamp). */
  log?: C2paLog;
  /** Largest image accepted for signing or reading, bytes (default 64 MiB). */
  maxBytes?: number;
  /** Largest declared width × height accepted for signing (default 50 000 000). */
  maxPixels?: number;
  /** Bytes reserved for the COSE signature; computed from the chain when absent. */
  reserveSize?: number;
  /** Let the engine re-verify each output after signing (costs about one read). */
  verifyAfterSign?: boolean;
}

export interface C2pa {
  /** Sign `image` with a manifest made from `spec`; the result embeds the manifest. */
  sign(image: ImageInput, spec: ManifestSpec): Promise<SignResult>;
  /** Read and validate a manifest in `bytes` against the anchors in force. */
  read(bytes: Uint8Array, mediaType?: string): Promise<ReadResult>;
  /** Signer trust anchors in force. */
  readonly anchors: readonly AnchorInfo[];
  /** TSA trust anchors in force (kept apart from signer anchors). */
  readonly tsaAnchors: readonly AnchorInfo[];
  /** The reserve for the COSE signature, bytes. */
  readonly reserveSize: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_PIXELS = 50_000_000;
/** Room for an RFC 3161 token with its TSA certificate chain. */
const TSA_RESERVE = 6144;

const SIGNATURE_BYTES = { ES256: 64, ES384: 96, PS256: 512, Ed25519: 64 } as const;

function defaultReserve(credentials: Credentials, tsa: boolean): number {
  const chain = credentials.chainDer.reduce((n, der) => n + der.byteLength + 4, 0);
  const raw = 512 + chain + SIGNATURE_BYTES[credentials.alg] + (tsa ? TSA_RESERVE : 0);
  return Math.ceil(raw / 256) * 256;
}

/** Signer anchors in force: operator bundle, trust-list file, development CA. */
export async function resolveAnchors(options: {
  credentials?: Credentials | null;
  trustAnchorsPem?: string;
  trustListFile?: string;
}): Promise<{ certs: ParsedCert[]; infos: AnchorInfo[]; pem: string }> {
  const certs: ParsedCert[] = [];
  const infos: AnchorInfo[] = [];
  const add = (list: ParsedCert[], source: AnchorInfo["source"]) => {
    for (const cert of list) {
      if (certs.some((c) => c.sha256 === cert.sha256)) continue;
      certs.push(cert);
      infos.push(anchorInfo(cert, source));
    }
  };
  if (options.trustAnchorsPem) {
    const list = parsePemCertificates(options.trustAnchorsPem, "trust anchors");
    if (!list.length) {
      throw new HallmarkError("config_error", "trust anchors: the PEM bundle holds no certificate");
    }
    add(list, "operator");
  }
  if (options.trustListFile) {
    let text: string;
    try {
      text = await readFile(options.trustListFile, "utf8");
    } catch (error) {
      throw new HallmarkError(
        "config_error",
        `trust list ${options.trustListFile} cannot be read`,
        {
          cause: error,
        },
      );
    }
    const list = parsePemCertificates(text, `trust list ${options.trustListFile}`);
    if (!list.length) {
      throw new HallmarkError(
        "config_error",
        `trust list ${options.trustListFile} holds no PEM certificate`,
      );
    }
    add(list, "trust-list");
  }
  const dev = options.credentials?.developmentCa;
  if (dev) add([dev], "development");
  return { certs, infos, pem: certs.map((c) => c.pem).join("") };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Set up the C2PA capability: initialise the engine (once per process), resolve the anchors.
 * @example
 * const c2pa = await createC2pa({ credentials: await loadCredentials({ dataDir }) });
 * const { bytes, manifestBytes, manifestLabel } = await c2pa.sign(image, spec);
 */
export async function createC2pa(options: C2paOptions): Promise<C2pa> {
  ensureEngine();
  const { credentials } = options;
  const anchors = await resolveAnchors(options);
  const tsaAnchors = options.tsa?.trustAnchorsPem
    ? parsePemCertificates(options.tsa.trustAnchorsPem, "TSA trust anchors")
    : [];
  const timeStamper = options.tsa ? createTsaClient(options.tsa) : undefined;
  const reserveSize = options.reserveSize ?? defaultReserve(credentials, Boolean(options.tsa));
  const limits = {
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
  };
  const settings = engineSettings({
    anchorsPem: anchors.pem,
    tsaAnchorsPem: tsaAnchors.map((c) => c.pem).join(""),
    verifyAfterSign: options.verifyAfterSign ?? false,
  });
  const log = options.log ?? (() => {});
  const reader = createReader({
    credentials,
    anchors,
    tsaAnchors,
    maxBytes: limits.maxBytes,
  });

  async function sign(image: ImageInput, spec: ManifestSpec): Promise<SignResult> {
    const sniffed = sniffImage(image.bytes, limits, image.mediaType);
    const manifestLabel = `urn:c2pa:${randomUUID()}`;
    const definition = { ...manifestDefinition(spec, sniffed.mediaType), label: manifestLabel };
    let builder: WasmBuilder;
    try {
      builder = WasmBuilder.fromJson(JSON.stringify(definition), settings);
    } catch (error) {
      throw new HallmarkError("signing_failed", `manifest rejected: ${describe(error)}`, {
        cause: error,
      });
    }
    let signerError: unknown;
    let timeStamped = false;
    try {
      if (spec.action.kind === "edited") {
        const input = spec.action.input;
        const inputType: C2paMediaType = sniffImage(input.bytes, limits, input.mediaType).mediaType;
        const ingredient = {
          title: spec.action.inputTitle ?? "input",
          format: inputType,
          relationship: "parentOf",
          label: PARENT_INGREDIENT_ID,
        };
        try {
          await builder.addIngredientFromBlob(
            JSON.stringify(ingredient),
            inputType,
            new SyncBlob(input.bytes).asBlob(),
          );
        } catch (error) {
          throw new HallmarkError(
            "invalid_image",
            `the input image cannot be read: ${describe(error)}`,
            {
              param: "image",
              cause: error,
            },
          );
        }
      }
      const signerDefinition = {
        alg: WASM_ALG[credentials.alg],
        reserveSize,
        sign: async (claim: Uint8Array): Promise<Uint8Array<ArrayBuffer>> => {
          try {
            const out = await signClaim(claim, {
              signer: credentials.signer,
              chainDer: credentials.chainDer,
              reserveSize,
              timeStamper,
              timeStampRequired: options.tsa?.required ?? true,
              onTimeStampFailure: (error) =>
                log("warn", "time-stamp failed; signing without one (tsa.required is false)", {
                  tsa: options.tsa?.url,
                  error: describe(error),
                }),
            });
            timeStamped = out.timeStamped;
            return out.cose as Uint8Array<ArrayBuffer>;
          } catch (error) {
            signerError = error;
            throw error;
          }
        },
      };
      let result: { asset: Uint8Array; manifest: Uint8Array };
      try {
        result = await builder.signAndGetManifestBytes(
          signerDefinition,
          [],
          sniffed.mediaType,
          new SyncBlob(image.bytes).asBlob(),
        );
      } catch (error) {
        if (signerError instanceof HallmarkError) {
          log("error", "C2PA signing failed", { error: signerError.message });
          throw signerError;
        }
        throw new HallmarkError(
          "signing_failed",
          `C2PA signing failed: ${describe(signerError ?? error)}`,
          {
            cause: signerError ?? error,
          },
        );
      }
      return {
        bytes: result.asset,
        manifestBytes: result.manifest,
        manifestLabel,
        timeStamped,
      };
    } finally {
      builder.free();
    }
  }

  return {
    sign,
    read: reader.read,
    anchors: anchors.infos,
    tsaAnchors: tsaAnchors.map((c) => anchorInfo(c, "tsa")),
    reserveSize,
  };
}
