/**
 * C2PA stage speed: `npx tsx bench/c2pa.bench.ts`.
 *
 * For 512² and 1024² noise images in PNG, JPEG and WebP, interleaved in one run:
 * - baseline: the raw c2pa-wasm engine signing the same image with a minimal manifest (one
 *   `c2pa.created` action), same ES256 COSE signer, same engine settings;
 * - Hallmark: the whole sign path (input checks, manifest building with every assertion,
 *   signing, embedding, manifest bytes for the store);
 * - read + validate (Trusted) of Hallmark's output.
 * Then the event loop's delay (perf_hooks.monitorEventLoopDelay) while 16 signs of a 1024²
 * PNG run at once, in-process and through the worker_threads pool.
 */
import { availableParallelism } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { signClaim, WASM_ALG } from "../src/provenance/c2pa/cose-sign.js";
import { SyncBlob, WasmBuilder } from "../src/provenance/c2pa/engine.js";
import {
  createC2pa,
  createC2paPool,
  loadCredentials,
  type ManifestSpec,
} from "../src/provenance/c2pa/index.js";
import { engineSettings } from "../src/provenance/c2pa/settings.js";
import { noiseImage, tempDataDir } from "../src/provenance/c2pa/test-support.js";

const credentials = await loadCredentials({ dataDir: await tempDataDir() });
const c2pa = await createC2pa({ credentials });
const settings = engineSettings({ anchorsPem: "" });

const spec: ManifestSpec = {
  title: "bench",
  generatorVersion: "0.1.0",
  model: { name: "sd-turbo", version: "2.1" },
  action: { kind: "created" },
  prompt: "a lighthouse at dusk",
  generationId: "gen_bench",
  auditUrl: "https://gateway.example/v1/audit/entries/1",
  logIndex: 1,
  licence: { url: "https://creativecommons.org/licenses/by/4.0/", usageTerms: "Attribution" },
  policy: { id: "default", hash: "sha256:0" },
  softBinding: { alg: "org.hallmark.watermark.v1", value: "AAECAwQFBgc=" },
};

const minimal = JSON.stringify({
  claim_generator_info: [{ name: "raw", version: "0" }],
  assertions: [
    {
      label: "c2pa.actions.v2",
      data: {
        actions: [
          {
            action: "c2pa.created",
            digitalSourceType:
              "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
          },
        ],
      },
    },
  ],
});

async function rawSign(bytes: Uint8Array, mediaType: string): Promise<Uint8Array> {
  const builder = WasmBuilder.fromJson(minimal, settings);
  try {
    const result = await builder.signAndGetManifestBytes(
      {
        alg: WASM_ALG[credentials.alg],
        reserveSize: c2pa.reserveSize,
        sign: async (claim: Uint8Array) =>
          (
            await signClaim(claim, {
              signer: credentials.signer,
              chainDer: credentials.chainDer,
              reserveSize: c2pa.reserveSize,
            })
          ).cose as Uint8Array<ArrayBuffer>,
      },
      [],
      mediaType,
      new SyncBlob(bytes).asBlob(),
    );
    return result.asset;
  } finally {
    builder.free();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

const ms = (v: number) => v.toFixed(1);
const rows: Record<string, string>[] = [];

for (const size of [512, 1024]) {
  for (const format of ["png", "jpeg", "webp"] as const) {
    const image = await noiseImage(format, size);
    const iterations = size === 512 ? 40 : 24;
    const raw: number[] = [];
    const ours: number[] = [];
    const reads: number[] = [];
    let signed: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 3; i++) {
      await rawSign(image.bytes, image.mediaType);
      signed = (await c2pa.sign(image, spec)).bytes;
    }
    for (let i = 0; i < iterations; i++) {
      let t = performance.now();
      await rawSign(image.bytes, image.mediaType);
      raw.push(performance.now() - t);
      t = performance.now();
      signed = (await c2pa.sign(image, spec)).bytes;
      ours.push(performance.now() - t);
      t = performance.now();
      const read = await c2pa.read(signed);
      reads.push(performance.now() - t);
      if (read.validationState !== "Trusted")
        throw new Error(`${format} read back ${read.validationState}`);
    }
    rows.push({
      image: `${format.toUpperCase()} ${size}²`,
      "bytes (MB)": (image.bytes.byteLength / 1e6).toFixed(2),
      "raw engine p50": ms(percentile(raw, 50)),
      "raw engine p99": ms(percentile(raw, 99)),
      "Hallmark p50": ms(percentile(ours, 50)),
      "Hallmark p99": ms(percentile(ours, 99)),
      "ratio p50": (percentile(ours, 50) / percentile(raw, 50)).toFixed(2),
      "read+validate p50": ms(percentile(reads, 50)),
    });
  }
}
console.log("C2PA sign (ms; ES256, no TSA; raw = c2pa-wasm with a minimal manifest, same signer)");
console.table(rows);

async function loopDelay(
  label: string,
  sign: () => Promise<unknown>,
): Promise<Record<string, string>> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = performance.now();
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 16 }, sign));
  const wall = (performance.now() - started) / 3;
  histogram.disable();
  return {
    mode: label,
    "loop delay p50 (ms)": ms(histogram.percentile(50) / 1e6),
    "loop delay p99 (ms)": ms(histogram.percentile(99) / 1e6),
    "loop delay max (ms)": ms(histogram.max / 1e6),
    "16 signs wall (ms)": ms(wall),
  };
}

const png1024 = await noiseImage("png", 1024);
const poolSize = Math.max(2, Math.min(4, availableParallelism()));
const pool = await createC2paPool({ credentials, size: poolSize });
await Promise.all(Array.from({ length: poolSize * 2 }, () => pool.sign(png1024, spec)));
const delay = [
  await loopDelay("in-process", () => c2pa.sign(png1024, spec)),
  await loopDelay(`worker pool (${poolSize} threads)`, () => pool.sign(png1024, spec)),
];
await pool.close();
console.log("Event-loop delay while 16 signs of a 1024² PNG run at once (3 rounds)");
console.table(delay);
