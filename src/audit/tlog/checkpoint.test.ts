import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import {
  type Checkpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
import v from "./fixtures/signed-note-vectors.json" with { type: "json" };
import { fromHex, toHex } from "./hash.js";
import { createNoteSigner, createNoteVerifier, generateNoteKey } from "./keys.js";
import { parseNote, signNote } from "./note.js";

const origin = "example.com/hallmark/audit";
const keys = generateNoteKey(origin);
const signer = createNoteSigner(keys.skey);
const verifier = createNoteVerifier(keys.vkey);
// Root of the 5-leaf RFC 6962 reference tree (fixtures/rfc6962-vectors.json).
const root = fromHex("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4");

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HallmarkError);
    return String((error as HallmarkError).details?.reason);
  }
  throw new Error("expected a HallmarkError");
}

describe("checkpoint text (c2sp.org/tlog-checkpoint)", () => {
  it("writes origin, tree size and base64 root hash, one per line", () => {
    expect(formatCheckpoint({ origin, size: 5, rootHash: root })).toBe(
      `${origin}\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\n`,
    );
    expect(formatCheckpoint({ origin, size: 0, rootHash: root, extensions: ["x y"] })).toBe(
      `${origin}\n0\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\nx y\n`,
    );
  });

  it("parses the C2SP example checkpoint", () => {
    const { text, signatures } = parseNote(v.c2spCheckpoint);
    const checkpoint = parseCheckpoint(text);
    expect(checkpoint.origin).toBe("example.com/behind-the-sofa");
    expect(checkpoint.size).toBe(20852163);
    expect(toHex(checkpoint.rootHash)).toBe(
      Buffer.from("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "base64").toString("hex"),
    );
    expect(signatures[0]!.name).toBe(checkpoint.origin);
    expect(formatCheckpoint(checkpoint)).toBe(text);
  });

  it("rejects malformed checkpoint text", () => {
    const r = "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=";
    for (const text of [
      `${origin}\n5\n${r}`,
      `${origin}\n5\n`,
      `\n5\n${r}\n`,
      `${origin}\n05\n${r}\n`,
      `${origin}\n-5\n${r}\n`,
      `${origin}\n5.0\n${r}\n`,
      `${origin}\n9007199254740993\n${r}\n`,
      `${origin}\n5\n${r.slice(0, -4)}\n`,
      `${origin}\n5\n${r.replace("=", "")}\n`,
      `${origin}\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNR=\n`,
      `${origin}\n5\n${r}\n\n`,
      `${origin}\n5\n${r}\next\n\n`,
    ]) {
      expect(reason(() => parseCheckpoint(text))).toBe("malformed_checkpoint");
    }
    expect(reason(() => formatCheckpoint({ origin: "", size: 1, rootHash: root }))).toBe(
      "malformed_checkpoint",
    );
    expect(reason(() => formatCheckpoint({ origin, size: 1.5, rootHash: root }))).toBe(
      "malformed_checkpoint",
    );
    expect(reason(() => formatCheckpoint({ origin, size: 1, rootHash: new Uint8Array(31) }))).toBe(
      "malformed_checkpoint",
    );
    expect(
      reason(() => formatCheckpoint({ origin, size: 1, rootHash: root, extensions: ["a\nb"] })),
    ).toBe("malformed_checkpoint");
  });

  it("round-trips any checkpoint", () => {
    const lineArb = fc
      .string({ minLength: 1, maxLength: 20 })
      .filter((s) => !/[\u0000-\u001f]/.test(s));
    const checkpointArb: fc.Arbitrary<Checkpoint> = fc.record({
      origin: lineArb,
      size: fc.maxSafeNat(),
      rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      extensions: fc.array(lineArb, { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(checkpointArb, (checkpoint) => {
        const parsed = parseCheckpoint(formatCheckpoint(checkpoint));
        expect({ ...parsed, rootHash: toHex(parsed.rootHash) }).toEqual({
          ...checkpoint,
          rootHash: toHex(checkpoint.rootHash),
        });
      }),
    );
  });
});

describe("signed checkpoints", () => {
  it("signs with the log key and opens with its verifier key", () => {
    const note = signCheckpoint({ origin, size: 5, rootHash: root }, signer);
    expect(note.split("\n")[4]).toMatch(new RegExp(`^— ${origin.replaceAll(".", "\\.")} `));
    const opened = openCheckpoint(note, [verifier], origin);
    expect(opened.size).toBe(5);
    expect(toHex(opened.rootHash)).toBe(toHex(root));
    expect(opened.note.verified).toHaveLength(1);
  });

  it("ignores witness cosignatures by unknown keys", () => {
    const witness = createNoteSigner(generateNoteKey("witness.example/w1").skey);
    const text = formatCheckpoint({ origin, size: 5, rootHash: root });
    const note = signNote(text, [signer, witness]);
    const opened = openCheckpoint(note, [verifier], origin);
    expect(opened.note.unverified.map((s) => s.name)).toEqual(["witness.example/w1"]);
  });

  it("rejects another origin, another key, and a changed root", () => {
    const note = signCheckpoint({ origin, size: 5, rootHash: root }, signer);
    expect(reason(() => openCheckpoint(note, [verifier], "example.com/other"))).toBe(
      "wrong_origin",
    );
    const stranger = createNoteVerifier(generateNoteKey(origin).vkey);
    expect(reason(() => openCheckpoint(note, [stranger], origin))).toBe("no_verified_signature");
    const changed = note.replace("Tju7", "Tju8");
    expect(reason(() => openCheckpoint(changed, [verifier], origin))).toBe("invalid_signature");
    const bigger = note.replace("\n5\n", "\n6\n");
    expect(reason(() => openCheckpoint(bigger, [verifier], origin))).toBe("invalid_signature");
  });
});
