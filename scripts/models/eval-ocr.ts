/**
 * `npx tsx scripts/models/eval-ocr.ts [perMark] [clean] [side...] [--no-completion] [--turned side:deg,...|off] [--gate peak] [--detector file.onnx] [--precision float|int8]`: OCR recall on planted
 * stock-photo marks and false alarms on text-free images (set: scripts/models/ocr-eval-set.ts),
 * through the image classifier with the prompt screen's lexicons, as the gateway runs it.
 * A second set draws the same marks as agencies do (outline, drop shadow, translucent banner,
 * tiled; `buildStyledMarkSet`), reported apart.
 * A mark counts as found when its lexicon term is among the `intellectual-property` spans read
 * from the image; a false alarm is any lexicon category scored above 0 on a text-free image.
 */
import { join } from "node:path";
import {
  createImageClassifier,
  loadCompletionTerms,
  packagedOcrModels,
  withCompletionTerms,
} from "../../src/classify/image/index.js";
import { createTextClassifier } from "../../src/classify/text/index.js";
import { loadConfig } from "../../src/config/index.js";
import { buildOcrEvalSet, buildStyledMarkSet, MARK_STYLES } from "./ocr-eval-set.js";

const root = join(import.meta.dirname, "..", "..");
const noCompletion = process.argv.includes("--no-completion");
// --turned side:degrees,... or off: detection passes over turned copies
// (src/classify/image/ocr-turned.ts); default: the gateway's (HALLMARK_OCR_TURNED_PASSES).
// --gate peak: the upright map's peak under which the turned passes are skipped (0: always run).
const turnedAt = process.argv.indexOf("--turned");
const gateAt = process.argv.indexOf("--gate");
// --detector file.onnx: another text detector in PaddleOCR v4's form (a fine-tuned one:
// scripts/finetune-ocr-detector), with the packaged recogniser.
const detectorAt = process.argv.indexOf("--detector");
const detector = detectorAt < 0 ? undefined : process.argv[detectorAt + 1];
// --precision int8: the detector quantised as it loads (HALLMARK_OCR_DETECTOR_PRECISION).
const precisionAt = process.argv.indexOf("--precision");
const { turnedPasses, turnedPassGate, detectorPrecision } = loadConfig({
  ...(turnedAt < 0 ? {} : { HALLMARK_OCR_TURNED_PASSES: process.argv[turnedAt + 1] ?? "" }),
  ...(gateAt < 0 ? {} : { HALLMARK_OCR_TURNED_PASS_GATE: process.argv[gateAt + 1] ?? "" }),
  ...(precisionAt < 0
    ? {}
    : { HALLMARK_OCR_DETECTOR_PRECISION: process.argv[precisionAt + 1] ?? "" }),
}).ocr;
const flags = ["--turned", "--gate", "--detector", "--precision"];
const args = process.argv
  .slice(2)
  .filter(
    (a, i, all) => a !== "--no-completion" && !flags.includes(a) && !flags.includes(all[i - 1]!),
  );
const perMark = Number(args[0] ?? 12);
const clean = Number(args[1] ?? 48);
const sides = args.slice(2).map(Number);
const set = await buildOcrEvalSet(perMark, clean);
// The same marks as agencies draw them (outline, shadow, banner, tiled), reported apart.
const styled = await buildStyledMarkSet(perMark);
const text = await createTextClassifier({ lexiconDir: join(root, "policies/lexicons") });
// As the gateway runs it: fragments of long marks are completed (src/classify/image/ocr-complete.ts);
// --no-completion measures without.
const textScreen = noCompletion
  ? text
  : withCompletionTerms(text, loadCompletionTerms(join(root, "policies/lexicons")));

for (const side of sides.length > 0 ? sides : [960]) {
  const images = await createImageClassifier({
    modelsDir: join(root, "models"),
    ocr: {
      detectionSide: side,
      turnedPasses,
      turnedPassGate,
      detectorPrecision,
      ...(detector === undefined ? {} : { files: { ...packagedOcrModels(), detection: detector } }),
    },
    textScreen,
    sessionOptions: { intraOpNumThreads: 1 },
  });
  let found = 0;
  let marked = 0;
  let alarms = 0;
  let anyText = 0;
  const misses: string[] = [];
  const ms: number[] = [];
  // Images whose turned passes ran, text-free ones apart (the gate's saving is on those).
  let turnedRan = 0;
  let turnedRanClean = 0;
  for (const item of set) {
    const r = await images.classify(item.png);
    ms.push(r.timings.ocr);
    if (r.textPasses > 1) {
      turnedRan++;
      if (item.term === null) turnedRanClean++;
    }
    const terms = new Set(r.scores["intellectual-property"].spans.map((s) => s.term));
    if (item.term !== null) {
      marked++;
      if (terms.has(item.term)) found++;
      else misses.push(`${item.name} → ${JSON.stringify(r.text.map((l) => l.text))}`);
    } else {
      if (r.text.length > 0) anyText++;
      if (Object.values(r.scores).some((s) => s.spans.some((p) => p.source === "ocr"))) {
        alarms++;
        misses.push(`FALSE ALARM ${item.name} → ${JSON.stringify(r.text.map((l) => l.text))}`);
      }
    }
  }
  const byStyle = new Map<string, { found: number; total: number }>();
  for (const item of styled) {
    const r = await images.classify(item.png);
    const terms = new Set(r.scores["intellectual-property"].spans.map((s) => s.term));
    const tally = byStyle.get(item.style) ?? { found: 0, total: 0 };
    tally.total++;
    if (terms.has(item.term!)) tally.found++;
    else misses.push(`${item.name} → ${JSON.stringify(r.text.map((l) => l.text))}`);
    byStyle.set(item.style, tally);
  }
  await images.close();
  ms.sort((a, b) => a - b);
  const cleanN = set.length - marked;
  console.log(
    `detection side ${side}px, turned passes ${turnedPasses.length > 0 ? turnedPasses.map((p) => `${p.side}:${p.degrees}`).join(",") : "off"} (gate ${turnedPassGate}), 1024×1024 images, ${detectorPrecision} detector, 1 ORT thread per session`,
  );
  if (turnedPasses.length > 0) {
    console.log(
      `  turned passes ran on ${turnedRan}/${set.length} images of the plain set (text-free: ${turnedRanClean}/${set.length - marked})`,
    );
  }
  console.log(`  marks found: ${found}/${marked} (${((100 * found) / marked).toFixed(1)}%)`);
  console.log(
    `  false alarms on text-free images: ${alarms}/${cleanN} (${((100 * alarms) / cleanN).toFixed(1)}%); any line read: ${anyText}/${cleanN}`,
  );
  const styledFound = [...byStyle.values()].reduce((a, t) => a + t.found, 0);
  console.log(
    `  styled marks found: ${styledFound}/${styled.length} (${((100 * styledFound) / styled.length).toFixed(1)}%): ${MARK_STYLES.map((st) => `${st} ${byStyle.get(st)?.found ?? 0}/${byStyle.get(st)?.total ?? 0}`).join(", ")}`,
  );
  console.log(
    `  OCR time p50 ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms, p90 ${ms[Math.floor(ms.length * 0.9)]!.toFixed(0)} ms`,
  );
  for (const m of misses) console.log(`  ${m}`);
}
await text.close();
