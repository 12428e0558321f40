import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createNoteVerifier, signNote, verifyNote } from "../tlog/index.js";
import { LOG_KEY_FILE, loadLogKey } from "./log-key.js";

const ORIGIN = "gw.example/hallmark/audit";

describe("loadLogKey", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "hallmark-key-"));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("creates <dataDir>/audit-log.key with mode 0600 once, then loads the same key", async () => {
    const first = await loadLogKey({ dataDir: dir, origin: ORIGIN });
    expect(first.created).toBe(true);
    expect(first.file).toBe(path.join(dir, LOG_KEY_FILE));
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
    expect(await readFile(first.file, "utf8")).toMatch(
      /^PRIVATE\+KEY\+gw\.example\/hallmark\/audit\+[0-9a-f]{8}\+\S+\n$/,
    );
    const again = await loadLogKey({ dataDir: dir, origin: ORIGIN });
    expect(again.created).toBe(false);
    expect(again.vkey).toBe(first.vkey);
    const note = signNote("hello\n", again.signer);
    expect(verifyNote(note, [createNoteVerifier(first.vkey)]).text).toBe("hello\n");
    // The secret is nowhere in what is returned.
    const skey = (await readFile(first.file, "utf8")).trim();
    const secret = /^PRIVATE\+KEY\+[^+]+\+[0-9a-f]{8}\+(.+)$/.exec(skey)![1]!;
    expect(secret.length).toBeGreaterThan(40);
    expect(JSON.stringify(again)).not.toContain(secret);
  });

  it("processes starting together end up with one key", async () => {
    const shared = path.join(dir, "race");
    const keys = await Promise.all(
      Array.from({ length: 4 }, () => loadLogKey({ dataDir: shared, origin: ORIGIN })),
    );
    expect(new Set(keys.map((k) => k.vkey)).size).toBe(1);
    expect(keys.filter((k) => k.created)).toHaveLength(1);
  });

  it("refuses a key for another origin, a malformed file, a missing explicit file", async () => {
    await expect(loadLogKey({ dataDir: dir, origin: "other.example/log" })).rejects.toMatchObject({
      code: "config_error",
      param: "origin",
    });
    const bad = path.join(dir, "bad.key");
    await writeFile(bad, "not a key\n", { mode: 0o600 });
    await expect(loadLogKey({ dataDir: dir, keyFile: bad, origin: ORIGIN })).rejects.toMatchObject({
      code: "config_error",
    });
    await expect(
      loadLogKey({ dataDir: dir, keyFile: path.join(dir, "absent.key"), origin: ORIGIN }),
    ).rejects.toMatchObject({ code: "config_error", param: "keyFile" });
  });
});
