import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordGeneration } from "../audit/index.js";
import type { Database } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { createTenant } from "../tenants/index.js";
import { registerUsageCommands } from "./usage.js";

const DEFAULTS = {
  rate: { rps: 100, burst: 200 },
  quota: { imagesPerDay: 0, imagesPerMonth: 5000 },
};

describe.each(testDatabases())("hallmark usage and tenant limits on $name", ({ open }) => {
  let database: Database;
  beforeAll(async () => {
    database = await open();
    await createTenant(database.db, "acme");
  }, 120_000);
  afterAll(() => database?.close());

  async function cli(args: string[]): Promise<string[]> {
    const out: string[] = [];
    const program = new Command().exitOverride();
    const tenant = program.command("tenant");
    registerUsageCommands(program, tenant, {
      // The command closes what it opens; the test keeps the database.
      openDatabase: async () => ({ ...database, close: async () => {} }),
      defaults: DEFAULTS,
      print: (l) => out.push(l),
    });
    await program.parseAsync(["node", "hallmark", ...args]);
    return out;
  }

  it("sets, shows and resets a tenant's limits", async () => {
    expect(await cli(["tenant", "limits", "acme"])).toEqual([
      "acme\trps 100 (default)\tburst 200 (default)\timages/day off (default)\timages/month 5000 (default)",
    ]);
    expect(
      await cli([
        "tenant",
        "limits",
        "acme",
        "--rps",
        "2.5",
        "--burst",
        "10",
        "--images-per-day",
        "300",
      ]),
    ).toEqual(["acme\trps 2.5\tburst 10\timages/day 300\timages/month 5000 (default)"]);
    expect(
      await cli(["tenant", "limits", "acme", "--rps", "default", "--images-per-month", "off"]),
    ).toEqual(["acme\trps 100 (default)\tburst 10\timages/day 300\timages/month off"]);
    expect(await cli(["tenant", "limits"])).toHaveLength(1);
    await expect(cli(["tenant", "limits", "acme", "--burst", "0"])).rejects.toMatchObject({
      code: "invalid_request_error",
    });
    await expect(cli(["tenant", "limits", "acme", "--rps", "fast"])).rejects.toMatchObject({
      code: "invalid_request_error",
    });
    await expect(cli(["tenant", "limits", "nobody", "--rps", "1"])).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("reports usage per day from the audit rows, as a table and as CSV", async () => {
    const tenant = (await database.db.query.tenants.findFirst())!;
    const base = {
      tenantId: tenant.id,
      apiKeyId: null,
      endUser: null,
      kind: "generate" as const,
      retention: "sha256" as const,
      prompt: "a cat",
      params: {},
      model: "m",
      backend: "placeholder",
      action: "allow",
      decision: {},
      stages: [],
    };
    const image = (index: number) => ({
      index,
      sha256: `${index}`.repeat(64).slice(0, 64),
      mediaType: "image/png",
      width: 8,
      height: 8,
      bytes: 10,
      seed: 1,
      marks: [],
      c2paManifest: null,
      c2paLabel: null,
      watermarkMarkId: null,
      pdqHash: null,
      pdqQuality: null,
    });
    const { randomUUID } = await import("node:crypto");
    await recordGeneration(database.db, {
      ...base,
      id: randomUUID(),
      status: "completed",
      images: [image(0), image(1)],
    } as never);
    await recordGeneration(database.db, {
      ...base,
      id: randomUUID(),
      status: "failed",
      errorCode: "backend_error",
      images: [],
    } as never);
    const today = new Date().toISOString().slice(0, 10);
    expect(await cli(["usage", "--csv"])).toEqual([
      "date,tenant,requests,completed,images,refused,failed",
      `${today},acme,2,1,2,0,1`,
    ]);
    const table = await cli(["usage", "--tenant", "acme", "--from", today, "--to", today]);
    expect(table[0]).toMatch(/^date\s+tenant\s+requests/);
    expect(table[1]).toMatch(new RegExp(`^${today}\\s+acme\\s+2\\s+1\\s+2\\s+0\\s+1$`));
    expect(await cli(["usage", "--from", "2020-01-01", "--to", "2020-01-02"])).toContain(
      "(no requests from 2020-01-01 to 2020-01-02)",
    );
    await expect(cli(["usage", "--tenant", "nobody"])).rejects.toMatchObject({ code: "not_found" });
    await expect(cli(["usage", "--from", "01/02/2026"])).rejects.toMatchObject({
      code: "invalid_request_error",
    });
  });
});
