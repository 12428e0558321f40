import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLogKey, verifyOverHttp } from "../../audit/log/index.js";
import { decodeHashes, fromBase64, leafHash, verifyInclusion } from "../../audit/tlog/index.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

describe.each(testDatabases())("audit log over HTTP on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_CHECKPOINT_EVERY_ENTRIES: "1",
      HALLMARK_CHECKPOINT_EVERY_SECONDS: "1",
    });
  });
  afterAll(() => gw.close());

  async function checkpointCovering(size: number) {
    for (let i = 0; i < 100; i++) {
      const res = await gw.request("/v1/log/checkpoint", { key: null });
      if (res.status === 200) {
        const cp = await res.json();
        if (cp.size >= size) return cp;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("no checkpoint");
  }

  it("every generation and refusal gets a log entry whose inclusion proves against a signed checkpoint", async () => {
    const made = await (
      await gw.request("/v1/images/generations", { json: { prompt: "a kite", size: "256x256" } })
    ).json();
    const refused = await (
      await gw.request("/v1/images/generations", { json: { prompt: "explicit porn" } })
    ).json();
    expect(refused.error.code).toBe("content_policy_violation");
    const index = made.hallmark.log_index;
    expect(index).toBeGreaterThanOrEqual(0);

    const cp = await checkpointCovering(index + 2);
    const entries = await (
      await gw.request(`/v1/log/entries?start=${index}&end=${index + 1}`, { key: null })
    ).json();
    const entry = entries.entries[0];
    expect(entry.index).toBe(index);
    const proof = await (
      await gw.request(`/v1/log/proof/inclusion?index=${index}&size=${cp.size}`, { key: null })
    ).json();
    const leaf = leafHash(fromBase64(entry.data)!);
    expect(
      verifyInclusion(leaf, index, cp.size, decodeHashes(proof.hashes), fromBase64(cp.rootHash)!),
    ).toBe(true);
    // The prompt is not in the public envelope.
    expect(Buffer.from(entry.data, "base64").toString()).not.toContain("a kite");

    const key = await loadLogKey({
      dataDir: gw.config.dataDir,
      origin: gw.config.auditLog.origin,
      create: false,
    });
    const report = await verifyOverHttp({
      url: "http://hallmark.test",
      verifiers: [key.verifier],
      origin: gw.config.auditLog.origin,
      fetch: (input, init) => Promise.resolve(gw.runtime.app.request(input as string, init)),
    });
    expect(report.ok).toBe(true);
  });

  it("bad proof parameters are 400 with the param named", async () => {
    const res = await gw.request("/v1/log/proof/inclusion?index=-1&size=x", { key: null });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("index");
  });
});
