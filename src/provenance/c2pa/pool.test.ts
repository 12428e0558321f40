import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCredentials } from "./credentials.js";
import { type C2paPool, createC2paPool } from "./pool.js";
import { noiseImage, tempDataDir } from "./test-support.js";
import type { ManifestSpec } from "./types.js";

const spec: ManifestSpec = {
  title: "t",
  generatorVersion: "0.1.0",
  model: { name: "m" },
  action: { kind: "created" },
  generationId: "g1",
  when: new Date("2026-11-27T00:00:00Z"),
};

let pool: C2paPool;
beforeAll(async () => {
  pool = await createC2paPool({
    credentials: await loadCredentials({ dataDir: await tempDataDir() }),
    size: 2,
  });
});
afterAll(() => pool.close());

describe("worker_threads pool", () => {
  it("signs concurrently in workers and reads back Trusted", async () => {
    const images = await Promise.all(
      (["png", "jpeg", "webp", "png"] as const).map((f) => noiseImage(f, 48)),
    );
    const signed = await Promise.all(images.map((image) => pool.sign(image, spec)));
    const reads = await Promise.all(signed.map((s) => pool.read(s.bytes)));
    for (const [i, r] of reads.entries()) {
      expect(r.validationState).toBe("Trusted");
      expect(r.activeManifest).toBe(signed[i]!.manifestLabel);
      expect(r.assertedTime).toBe("2026-11-27T00:00:00.000Z");
      expect(r.anchors).toEqual([expect.objectContaining({ source: "development" })]);
    }
  });

  it("carries HallmarkErrors back with their code", async () => {
    await expect(pool.read(new Uint8Array(0))).rejects.toMatchObject({ code: "invalid_image" });
  });
});
