import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { images } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

/** No image matching an operator's hash list leaves the gateway. */
describe("operator hash lists (pglite)", () => {
  const gateways: TestGateway[] = [];
  afterAll(() => Promise.all(gateways.map((g) => g.close())));

  it("refuses an output whose PDQ hash is on a list, and records the refusal", async () => {
    const json = { prompt: "a green hill under a blue sky", seed: 1234, size: "256x256" };
    const first = await startTestGateway(testDatabases()[0]!);
    gateways.push(first);
    const made = await (await first.request("/v1/images/generations", { json })).json();
    const [row] = await first.database.db
      .select()
      .from(images)
      .where(eq(images.generationId, made.hallmark.generation_id));
    const list = path.join(tmpdir(), `hm-list-${process.pid}.csv`);
    writeFileSync(list, `hash,label\n${row!.pdqHash},known-bad-example\n`);

    const second = await startTestGateway(testDatabases()[0]!, { HALLMARK_HASH_LISTS: list });
    gateways.push(second);
    const res = await second.request("/v1/images/generations", { json });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe("content_policy_violation");
    expect(body.error.rules[0]).toMatch(/^hash_list:/);
    expect(body.data).toBeUndefined();
    const record = await (
      await second.request(`/v1/generations/${body.error.generation_id}`)
    ).json();
    expect(record).toMatchObject({ status: "refused", action: "block", images: [] });

    // A different picture passes.
    const other = await second.request("/v1/images/generations", {
      json: { ...json, prompt: "a harbour at night" },
    });
    expect(other.status).toBe(200);
  });
});
