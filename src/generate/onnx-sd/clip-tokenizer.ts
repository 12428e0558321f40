import { readFile } from "node:fs/promises";
import path from "node:path";
import { HallmarkError } from "../../errors/index.js";

/**
 * CLIP's tokenizer (OpenAI CLIP `simple_tokenizer.py`; Hugging Face `CLIPTokenizer` reproduces
 * it): lower-case and collapse whitespace, split with CLIP's pattern, map each UTF-8 byte to a
 * printable character (GPT-2's `bytes_to_unicode`), mark a word's last character with `</w>`,
 * merge pairs by rank from merges.txt, look the pieces up in vocab.json. The sequence is
 * `<|startoftext|>`, the tokens (truncated), `<|endoftext|>`, then padding to `maxLength`.
 *
 * Reads the `tokenizer/` folder of a Stable Diffusion export (vocab.json, merges.txt and, when
 * present, tokenizer_config.json / special_tokens_map.json for the length and the pad token). Not
 * implemented: ftfy's mojibake repair, which CLIP applies before lower-casing.
 */
export interface ClipTokenizer {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly maxLength: number;
  readonly vocabSize: number;
  /** The token pieces of `text`, without bos/eos or padding. */
  tokenize(text: string): string[];
  /** bos, ids (truncated to maxLength - 2), eos, then pad up to maxLength. */
  encode(text: string): number[];
}

export const BOS_TOKEN = "<|startoftext|>";
export const EOS_TOKEN = "<|endoftext|>";

/** CLIP's split pattern, with JavaScript's Unicode property escapes for \p{L} and \p{N}. */
const PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** GPT-2/CLIP `bytes_to_unicode`: every byte to a printable character, reversibly. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  }
  return table;
}

export interface ClipTokenizerFiles {
  vocab: Record<string, number>;
  /** merges.txt lines (a "#version" header line is skipped). */
  merges: string;
  maxLength?: number;
  /** Token used for padding; CLIP (SD 1.x) pads with <|endoftext|>, SD 2.x's tokenizer with "!". */
  padToken?: string;
}

export function createClipTokenizer(files: ClipTokenizerFiles): ClipTokenizer {
  const { vocab } = files;
  const byteChars = bytesToUnicode();
  const ranks = new Map<string, number>();
  let rank = 0;
  for (const line of files.merges.split("\n")) {
    if (line.startsWith("#version") || line.trim() === "") continue;
    const parts = line.split(" ");
    if (parts.length !== 2) continue;
    ranks.set(`${parts[0]} ${parts[1]}`, rank++);
  }
  const lookup = (token: string): number => {
    const id = vocab[token];
    if (id === undefined) {
      throw new HallmarkError("config_error", `The tokenizer vocabulary lacks "${token}".`);
    }
    return id;
  };
  const bos = lookup(BOS_TOKEN);
  const eos = lookup(EOS_TOKEN);
  const pad = files.padToken !== undefined ? lookup(files.padToken) : eos;
  const maxLength = files.maxLength ?? 77;
  const cache = new Map<string, string[]>();

  function bpe(word: string): string[] {
    const hit = cache.get(word);
    if (hit) return hit;
    const chars = [...new TextEncoder().encode(word)].map((b) => byteChars[b] as string);
    chars[chars.length - 1] = `${chars[chars.length - 1]}</w>`;
    let parts = chars;
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of the best pair, left to right (as CLIP's loop does).
      const first = parts[best] as string;
      const second = parts[best + 1] as string;
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === first && parts[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(parts[i] as string);
        }
      }
      parts = merged;
    }
    if (cache.size < 10_000) cache.set(word, parts);
    return parts;
  }

  function tokenize(text: string): string[] {
    const cleaned = text.replace(/\s+/g, " ").trim().toLowerCase();
    const out: string[] = [];
    for (const m of cleaned.matchAll(PATTERN)) out.push(...bpe(m[0]));
    return out;
  }

  return {
    bos,
    eos,
    pad,
    maxLength,
    vocabSize: Object.keys(vocab).length,
    tokenize,
    encode(text: string): number[] {
      const ids = tokenize(text).map(lookup);
      const body = ids.slice(0, maxLength - 2);
      const seq = [bos, ...body, eos];
      while (seq.length < maxLength) seq.push(pad);
      return seq;
    },
  };
}

/** Loads `<dir>/vocab.json`, `merges.txt` and the optional tokenizer_config.json. */
export async function loadClipTokenizer(dir: string): Promise<ClipTokenizer> {
  const read = (name: string) => readFile(path.join(dir, name), "utf8");
  const optionalJson = async (name: string): Promise<Record<string, unknown>> => {
    try {
      return JSON.parse(await read(name)) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  let vocab: Record<string, number>;
  let merges: string;
  try {
    vocab = JSON.parse(await read("vocab.json")) as Record<string, number>;
    merges = await read("merges.txt");
  } catch (error) {
    throw new HallmarkError(
      "config_error",
      `Cannot read the tokenizer in ${dir} (vocab.json, merges.txt): ${String(error)}`,
    );
  }
  const config = await optionalJson("tokenizer_config.json");
  const special = await optionalJson("special_tokens_map.json");
  const maxLength =
    typeof config.model_max_length === "number" && config.model_max_length <= 4096
      ? config.model_max_length
      : 77;
  const padToken = tokenName(special.pad_token) ?? tokenName(config.pad_token);
  return createClipTokenizer({ vocab, merges, maxLength, padToken });
}

/** A special token is written as a string or as {"content": string} (AddedToken). */
function tokenName(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (
    value &&
    typeof value === "object" &&
    typeof (value as { content?: unknown }).content === "string"
  ) {
    return (value as { content: string }).content;
  }
  return undefined;
}
