import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convertFaces, FACE_MODELS, readHumanModel } from "./convert-faces.js";
import { type FaceParityReport, faceParityFailures, facesParity } from "./faces-parity.js";
import { listOps } from "./graph-to-onnx.js";

const DIR = join(import.meta.dirname, "..", "..", "models", "faces");

describe("face models: TF.js graph → ONNX", () => {
  it("reconverts to the same bytes as the committed files, whose sha256 the card states", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "faces-"));
    try {
      const card = readFileSync(join(DIR, "README.md"), "utf8");
      for (const { path, sha256 } of await convertFaces(tmp)) {
        const committed = join(DIR, path.split("/").pop()!);
        expect(createHash("sha256").update(readFileSync(committed)).digest("hex")).toBe(sha256);
        expect(card).toContain(sha256);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("covers every op the two graphs use", () => {
    for (const spec of FACE_MODELS) {
      const ops = Object.keys(listOps(readHumanModel(spec.stem).json));
      expect(ops.length).toBeGreaterThan(5);
    }
    // The converter throws on an op it does not know; convertFaces above ran both graphs.
  });

  const check = (r: FaceParityReport) => {
    expect(faceParityFailures(r)).toEqual([]);
  };

  it("the criteria fail a report that is off by more than the limits", () => {
    const r = JSON.parse(readFileSync(join(DIR, "parity.json"), "utf8")) as FaceParityReport;
    const worse = structuredClone(r);
    worse.models.blazeface!.maxAbsDiff.Identity_2 = 2e-3;
    worse.blazefaceScoreMaxAbsDiff = 5e-4;
    expect(faceParityFailures(worse)).toHaveLength(2);
    delete worse.models.faceres;
    expect(faceParityFailures(worse)).toContain("faceres: not compared");
  });

  it("matched TF.js on the 20 parity images when converted (models/faces/parity.json)", () => {
    const r = JSON.parse(readFileSync(join(DIR, "parity.json"), "utf8")) as FaceParityReport;
    expect(r.images).toHaveLength(20);
    check(r);
  });

  it("matches TF.js run live on the first parity images", async () => {
    // All 20 take minutes on TF.js's pure-JS backend: `npm run models` runs them.
    const r = await facesParity(DIR, 3);
    expect(r.images).toHaveLength(3);
    check(r);
  }, 240_000);
});
