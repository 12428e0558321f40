import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import v from "./fixtures/signed-note-vectors.json" with { type: "json" };
import {
  createNoteSigner,
  createNoteVerifier,
  formatVerifierKey,
  generateNoteKey,
  type NoteVerifier,
  noteKeyId,
  verifierKeyOf,
} from "./keys.js";
import { parseNote, signNote, verifyNote } from "./note.js";

const peter = createNoteVerifier(v.peter.vkey);
const enoch = createNoteVerifier(v.enoch.vkey);
const signed = `${v.text}\n${v.peterSignatureLine}`;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HallmarkError);
    return String((error as HallmarkError).details?.reason ?? (error as HallmarkError).code);
  }
  throw new Error("expected a HallmarkError");
}

describe("keys (golang.org/x/mod/sumdb/note vectors)", () => {
  it("parses the published verifier and signer keys with their key IDs", () => {
    expect(peter.name).toBe("PeterNeumann");
    expect(peter.keyId.toString(16)).toBe(v.peter.keyId);
    expect(enoch.keyId.toString(16)).toBe(v.enoch.keyId);
    const signer = createNoteSigner(v.peter.skey);
    expect(signer.keyId).toBe(peter.keyId);
    expect(verifierKeyOf(v.peter.skey)).toBe(v.peter.vkey);
  });

  it("computes key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]", () => {
    const publicKey = Buffer.from(v.peter.vkey.split("+")[2]!, "base64").subarray(1);
    expect(noteKeyId("PeterNeumann", publicKey)).toBe(0xc74f20a3);
    expect(formatVerifierKey("PeterNeumann", publicKey)).toBe(v.peter.vkey);
  });

  it("rejects every truncation and every single-byte change of a verifier key", () => {
    const key = v.peter.vkey;
    let rejected = 0;
    let tried = 0;
    for (let i = 0; i <= key.length; i++) {
      for (let j = i + 1; j <= key.length; j++) {
        if (i === 0 && j === key.length) continue;
        tried++;
        try {
          createNoteVerifier(key.slice(i, j));
        } catch {
          rejected++;
        }
      }
    }
    for (let i = 0; i < key.length; i++) {
      const changed =
        key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
      tried++;
      try {
        createNoteVerifier(changed);
      } catch {
        rejected++;
      }
    }
    expect(rejected).toBe(tried);
    for (const bad of v.badVkeys)
      expect(reason(() => createNoteVerifier(bad))).toBe("config_error");
  });

  it("rejects every single-byte change of a signer key", () => {
    const key = v.peter.skey;
    for (let i = 0; i < key.length; i++) {
      const changed =
        key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
      expect(() => createNoteSigner(changed)).toThrow(HallmarkError);
    }
  });

  it("generates key pairs that sign and verify, named as asked", () => {
    const { skey, vkey } = generateNoteKey("example.com/hallmark/audit");
    expect(skey).toMatch(/^PRIVATE\+KEY\+example\.com\/hallmark\/audit\+[0-9a-f]{8}\+/);
    expect(verifierKeyOf(skey)).toBe(vkey);
    const note = signNote("hi\n", createNoteSigner(skey));
    expect(verifyNote(note, [createNoteVerifier(vkey)]).text).toBe("hi\n");
    expect(reason(() => verifyNote(note, [peter]))).toBe("no_verified_signature");
    expect(reason(() => generateNoteKey("has space"))).toBe("config_error");
    expect(reason(() => generateNoteKey("a+b"))).toBe("config_error");
    expect(reason(() => generateNoteKey(""))).toBe("config_error");
  });
});

describe("signNote", () => {
  it("reproduces the published signature byte for byte (Ed25519 is deterministic)", () => {
    expect(signNote(v.text, createNoteSigner(v.peter.skey))).toBe(signed);
  });

  it("refuses texts without a final newline or with control characters", () => {
    const signer = createNoteSigner(v.peter.skey);
    expect(reason(() => signNote("abc", signer))).toBe("malformed_note");
    expect(reason(() => signNote("a\tb\n", signer))).toBe("malformed_note");
    expect(reason(() => signNote("a\rb\n", signer))).toBe("malformed_note");
  });
});

describe("verifyNote (note_test.go TestOpen)", () => {
  const both = `${v.text}\n${v.peterSignatureLine}${v.enochSignatureLine}`;

  it("verifies known keys and keeps unknown signatures aside", () => {
    const one = verifyNote(both, [peter]);
    expect(one.text).toBe(v.text);
    expect(one.verified.map((s) => s.name)).toEqual(["PeterNeumann"]);
    expect(one.unverified.map((s) => [s.name, s.keyId])).toEqual([["EnochRoot", 0xaf0cfe78]]);
    const two = verifyNote(new TextEncoder().encode(both), [peter, enoch]);
    expect(two.verified.map((s) => s.name)).toEqual(["PeterNeumann", "EnochRoot"]);
    expect(two.unverified).toEqual([]);
  });

  it("rejects a note with no known key, a duplicated verifier, or a bad signature", () => {
    expect(reason(() => verifyNote(both, []))).toBe("no_verified_signature");
    expect(
      reason(() => verifyNote(`${v.text}\n${v.enochSignatureLine}`, [enoch, peter, enoch])),
    ).toBe("ambiguous_key");
    expect(verifyNote(signed, [enoch, peter, enoch]).verified).toHaveLength(1);
    const line = v.peterSignatureLine;
    const tampered = `${v.text}\n${line.slice(0, 60)}ABCD${line.slice(60)}`;
    expect(reason(() => verifyNote(tampered, [peter]))).toBe("invalid_signature");
    expect(
      reason(() => verifyNote(`${v.text.replace("answer", "Answer")}\n${line}`, [peter])),
    ).toBe("invalid_signature");
  });

  it("ignores a signature whose name or key ID does not match a known key", () => {
    const misnamed = signed.replace("PeterNeumann", "CarmenSandiego");
    expect(reason(() => verifyNote(misnamed, [peter]))).toBe("no_verified_signature");
    const otherId = signed.replace("x08g", "xxxx");
    expect(reason(() => verifyNote(otherId, [peter]))).toBe("no_verified_signature");
  });

  it("rejects malformed notes", () => {
    const line = v.peterSignatureLine;
    const bad = [
      v.text,
      `${v.text}\n`,
      `${v.text}\n${line.slice(0, -1)}`,
      `\u0001${v.text}\n${line}`,
      `${v.text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `${v.text}\n${line}Unexpected line.\n`,
      `${v.text}\n${line.repeat(101)}`,
      `${v.text}\n— PeterNeumann AAAA\n`,
    ];
    for (const note of bad) expect(reason(() => verifyNote(note, [peter]))).toBe("malformed_note");
    expect(reason(() => parseNote(new Uint8Array([0xff, 0x0a, 0x0a])))).toBe("malformed_note");
    expect(verifyNote(`${v.text}\n${line.repeat(100)}`, [peter]).verified).toHaveLength(1);
  });

  it("parses the C2SP signed-note example (text keeps its inner blank line)", () => {
    const { text, signatures } = parseNote(v.c2spSignedNote);
    expect(text).toBe(
      "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n",
    );
    expect(signatures.map((s) => s.name)).toEqual(["quasimodo.example/salvatore"]);
    expect(signatures[0]!.signature).toHaveLength(64);
  });
});

describe("properties", () => {
  const keys = generateNoteKey("example.com/prop");
  const signer = createNoteSigner(keys.skey);
  const verifier: NoteVerifier = createNoteVerifier(keys.vkey);
  const lineArb = fc
    .string({ unit: "grapheme", maxLength: 30 })
    .filter((s) => !/[\u0000-\u001f]/.test(s));
  const textArb = fc
    .array(lineArb, { minLength: 1, maxLength: 5 })
    .map((ls) => `${ls.join("\n")}\n`);

  it("every signed text verifies and comes back unchanged", () => {
    fc.assert(
      fc.property(textArb, (text) => {
        expect(verifyNote(signNote(text, signer), [verifier]).text).toBe(text);
      }),
      { numRuns: 100 },
    );
  });

  it("a change to any one character of the text is caught", () => {
    fc.assert(
      fc.property(textArb, fc.nat(), (text, at) => {
        if (text.length < 2) return;
        const note = signNote(text, signer);
        const i = at % (text.length - 1);
        const c = text[i]!;
        if (c === "\n" || c.charCodeAt(0) >= 0xd800) return;
        const changed = `${note.slice(0, i)}${c === "a" ? "b" : "a"}${note.slice(i + 1)}`;
        expect(() => verifyNote(changed, [verifier])).toThrow(HallmarkError);
      }),
      { numRuns: 100 },
    );
  });

  it("parseNote throws only HallmarkError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (input) => {
        try {
          parseNote(input);
        } catch (error) {
          expect(error).toBeInstanceOf(HallmarkError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
