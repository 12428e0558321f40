import { createTextClassifier } from "../src/classify/text/index.js";
const t0 = performance.now();
const tc = await createTextClassifier({ lexiconDir: "policies/lexicons", publicFiguresDir: "policies/public-figures", modelPath: "models/text-classifier/model.onnx" });
console.log("load", performance.now() - t0);
for (const p of ["a lighthouse at dusk", "a red apple on a wooden table in the morning light, photorealistic"]) {
  const ts: number[] = [];
  for (let i = 0; i < 50; i++) { const t = performance.now(); await tc.classify(p); ts.push(performance.now() - t); }
  ts.sort((a, b) => a - b); console.log(p.length, "p50", ts[25].toFixed(2), "min", ts[0].toFixed(2));
}
const junk: unknown[] = [];
const ts2: number[] = [];
for (let i = 0; i < 30; i++) {
  for (let k = 0; k < 3; k++) { (globalThis as any).gc?.(); }
  for (let k = 0; k < 200000; k++) junk[k % 1000] = { a: k, b: [k] };
  const t = performance.now(); await tc.classify("a lighthouse at dusk"); ts2.push(performance.now() - t);
}
console.log("after gc:", ts2.map((x) => x.toFixed(1)).join(" "));
