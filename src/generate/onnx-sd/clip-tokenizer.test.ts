import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesToUnicode, createClipTokenizer, loadClipTokenizer } from "./clip-tokenizer.js";

const TINY = new URL("./fixtures/tiny-sd/tokenizer", import.meta.url).pathname;

describe("CLIP BPE tokenizer", () => {
  it("agrees with the Python reference implementation (fixtures/tokenizer-cases.json)", async () => {
    // Expected ids: scripts/train-diffusion/bpe.py, a separate implementation of CLIP's
    // simple_tokenizer algorithm, run by scripts/onnx-sd-tiny/make.py on the same vocabulary.
    const tokenizer = await loadClipTokenizer(TINY);
    const cases = JSON.parse(
      readFileSync(new URL("./fixtures/tokenizer-cases.json", import.meta.url), "utf8"),
    ) as { text: string; ids: number[] }[];
    expect(cases.length).toBeGreaterThan(4);
    for (const c of cases) expect(tokenizer.encode(c.text), c.text).toEqual(c.ids);
  });

  it("gives CLIP's published ids for CLIP's vocabulary entries", () => {
    // Ids of these tokens in CLIP's vocab.json (openai/clip-vit-large-patch14, shared by SD 1.x):
    // "a photo of a cat" -> [49406, 320, 1125, 539, 320, 2368, 49407] and "Hello, world!" ->
    // [49406, 3306, 267, 1002, 256, 49407], as the Hugging Face tokenizer produces them (e.g. the
    // CLIP tokenizer tests of Bumblebee and of tiktoken-style BPE ports). Only the entries needed
    // are given; the merges are the shortest chain that builds each word, so this checks id
    // lookup, </w> placement, punctuation splitting and the special tokens, not CLIP's ranks.
    const vocab: Record<string, number> = {
      "a</w>": 320,
      "photo</w>": 1125,
      "of</w>": 539,
      "cat</w>": 2368,
      "hello</w>": 3306,
      ",</w>": 267,
      "world</w>": 1002,
      "!</w>": 256,
      "<|startoftext|>": 49406,
      "<|endoftext|>": 49407,
    };
    const chain = (word: string): string[] => {
      const out: string[] = [];
      let acc = word[0] as string;
      for (let i = 1; i < word.length; i++) {
        const next = i === word.length - 1 ? `${word[i]}</w>` : (word[i] as string);
        out.push(`${acc} ${next}`);
        acc += next;
      }
      return out;
    };
    const merges = ["#version: 0.2", ...["photo", "of", "cat", "hello", "world"].flatMap(chain)];
    const t = createClipTokenizer({ vocab, merges: merges.join("\n"), maxLength: 77 });
    expect(t.encode("a photo of a cat").slice(0, 7)).toEqual([
      49406, 320, 1125, 539, 320, 2368, 49407,
    ]);
    expect(t.encode("Hello, world!").slice(0, 6)).toEqual([49406, 3306, 267, 1002, 256, 49407]);
    expect(t.encode("  A   PHOTO of a Cat ").slice(0, 7)).toEqual([
      49406, 320, 1125, 539, 320, 2368, 49407,
    ]);
    // SD 1.x pads with <|endoftext|> up to 77.
    expect(t.encode("a cat")).toHaveLength(77);
    expect(t.encode("a cat").slice(3)).toEqual(Array(74).fill(49407));
  });

  it("merges by rank, derived by hand", () => {
    // Vocabulary: bytes, then merges in rank order. "lower": l o w e r</w>; ranks
    // (l o)=0, (lo w)=1, (e r</w>)=2 -> "low", "er</w>"; "lowest" has no rank for "e s" so stays
    // "low" "e" "s" "t</w>".
    const vocab: Record<string, number> = {
      "e</w>": 0,
      l: 1,
      o: 2,
      w: 3,
      e: 4,
      "r</w>": 5,
      s: 6,
      "t</w>": 7,
      lo: 8,
      low: 9,
      "er</w>": 10,
      "<|startoftext|>": 11,
      "<|endoftext|>": 12,
      "!": 13,
    };
    const t = createClipTokenizer({
      vocab,
      merges: "#version: 0.2\nl o\nlo w\ne r</w>\n",
      maxLength: 8,
      padToken: "!",
    });
    expect(t.tokenize("lower lowest")).toEqual(["low", "er</w>", "low", "e", "s", "t</w>"]);
    expect(t.encode("lower")).toEqual([11, 9, 10, 12, 13, 13, 13, 13]);
    // Truncated to maxLength with eos kept last.
    expect(t.encode("lower lowest lower")).toEqual([11, 9, 10, 9, 4, 6, 7, 12]);
    expect(() => t.encode("zebra")).toThrow(/vocabulary lacks/);
  });

  it("maps every byte to a distinct printable character (GPT-2's table)", () => {
    const table = bytesToUnicode();
    expect(new Set(table).size).toBe(256);
    expect(table[0x61]).toBe("a");
    expect(table[0x20]).toBe("\u0120");
    expect(table[0x0a]).toBe("\u010a");
  });

  it("reads the pad token and length from tokenizer_config.json", async () => {
    const t = await loadClipTokenizer(TINY);
    expect(t.maxLength).toBe(77);
    expect(t.pad).toBe(t.eos);
    await expect(loadClipTokenizer("/nonexistent")).rejects.toMatchObject({ code: "config_error" });
  });
});
