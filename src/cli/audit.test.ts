import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { appendEntry } from "../audit/log/index.js";
import type { Database, Db } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { type AuditCliContext, registerAuditCommands } from "./audit.js";

const ORIGIN = "cli.example/hallmark/audit";

afterEach(() => {
  process.exitCode = 0;
});

describe.each(testDatabases())("hallmark audit on $name", ({ open }) => {
  let database: Database;
  let dataDir: string;
  beforeAll(async () => {
    database = await open();
    dataDir = await mkdtemp(path.join(tmpdir(), "hallmark-audit-cli-"));
  });
  afterAll(async () => {
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function cli(args: string[], db: Db = database.db, extra: Partial<AuditCliContext> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const program = new Command().exitOverride();
    registerAuditCommands(program, {
      // The command closes what it opens; the test keeps the database.
      openDatabase: async () => ({ ...database, db, close: async () => {} }),
      dataDir,
      origin: ORIGIN,
      print: (l) => out.push(l),
      printError: (l) => err.push(l),
      ...extra,
    });
    process.exitCode = 0;
    await program.parseAsync(["node", "hallmark", "audit", ...args]);
    return { out, err, code: process.exitCode ?? 0 };
  }

  it("keygen, checkpoint, verify OK, tombstone, verify OK again", async () => {
    const noKey = await cli(["verify"]);
    expect(noKey.code).toBe(1);
    expect(noKey.err[0]).toMatch(/^config_error/);
    const keygen = await cli(["keygen"]);
    const { vkey, created } = JSON.parse(keygen.out[0]!);
    expect(created).toBe(true);
    expect(vkey).toMatch(/^cli\.example\/hallmark\/audit\+[0-9a-f]{8}\+/);
    expect(keygen.out.join("")).not.toContain("PRIVATE");
    for (let i = 0; i < 20; i++)
      await appendEntry(database.db, { kind: "generation", payload: { i } });
    const checkpoint = await cli(["checkpoint"]);
    expect(checkpoint.out[0]).toMatch(new RegExp(`^${ORIGIN}\n20\n\\S{44}\n\n— ${ORIGIN} `));
    await writeFile(path.join(dataDir, "kept.checkpoint"), `${checkpoint.out[0]}\n`);
    const ok = await cli([
      "verify",
      "--vkey",
      vkey,
      "--checkpoint",
      path.join(dataDir, "kept.checkpoint"),
    ]);
    expect(ok).toMatchObject({
      code: 0,
      out: ["audit log: OK (20 entries, 2 checkpoints, verified up to 20)"],
    });
    const gone = await cli(["tombstone", "4", "--reason", "retention: 30 days"]);
    expect(JSON.parse(gone.out[0]!)).toMatchObject({ index: 20, redacts: 4 });
    const again = await cli(["verify", "--json"]);
    expect(JSON.parse(again.out[0]!)).toMatchObject({ ok: true, size: 21, verifiedSize: 20 });
    const bad = await cli(["tombstone", "4", "--reason", "again"]);
    expect(bad.code).toBe(1);
    expect(bad.err[0]).toMatch(/^invalid_request_error/);
  });

  it("verify reports the first bad entry and exits 1", async () => {
    let result: Awaited<ReturnType<typeof cli>> | undefined;
    await database.db
      .transaction(async (tx) => {
        await tx.execute(sql`set local session_replication_role = replica`);
        await tx.execute(sql`delete from audit_log_entries where index = 7`);
        result = await cli(["verify"], tx);
        throw new Error("rollback");
      })
      .catch(() => {});
    expect(result!.code).toBe(1);
    expect(result!.out[0]).toMatch(/^audit log: FAILED .*first bad entry: 7$/);
    expect(result!.out.join("\n")).toContain("missing_entry");
  });
});
