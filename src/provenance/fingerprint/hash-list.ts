/**
 * Operator hash lists: CSV files of PDQ hashes with a label, matched by Hamming distance under
 * a threshold the policy sets. Format (policies/hash-lists/README.md):
 *
 *     hash,label
 *     f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,bridge-demo
 *
 * One hash per line, 64 hex digits, then a comma and a free-text label (may be empty; commas
 * after the first are part of the label). Blank lines and lines starting with `#` are skipped;
 * a first line `hash,label` (any case) is a header. Anything else is a config error naming the
 * line, so a typo never silently drops an entry.
 */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { HallmarkError } from "../../errors/index.js";
import { isPdqHex, pdqWords, wordsDistance } from "./hamming.js";

/** A loaded list: hashes packed eight 32-bit words per entry for a fast linear scan. */
export interface HashList {
  /** The list's name, reported in matches (by default the file name without extension). */
  name: string;
  labels: string[];
  hashes: string[];
  packed: Uint32Array;
}

/** One entry of one list within the threshold. */
export interface HashListMatch {
  list: string;
  label: string;
  hash: string;
  distance: number;
}

/**
 * Parses a hash-list CSV.
 * @throws HallmarkError `config_error` naming the first bad line.
 */
export function parseHashList(name: string, csv: string): HashList {
  const labels: string[] = [];
  const hashes: string[] = [];
  const lines = csv.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (n === 0 && /^hash\s*,\s*label$/i.test(line)) continue;
    const comma = line.indexOf(",");
    const hex = (comma < 0 ? line : line.slice(0, comma)).trim();
    if (!isPdqHex(hex)) {
      throw new HallmarkError(
        "config_error",
        `hash list ${name}, line ${n + 1}: expected 64 hex digits then ",label"`,
        { details: { list: name, line: n + 1 } },
      );
    }
    hashes.push(hex.toLowerCase());
    labels.push(comma < 0 ? "" : line.slice(comma + 1).trim());
  }
  const packed = new Uint32Array(hashes.length * 8);
  hashes.forEach((h, i) => {
    packed.set(pdqWords(h), i * 8);
  });
  return { name, labels, hashes, packed };
}

/** Reads and parses a hash-list file; the list is named after the file. */
export async function loadHashList(path: string, name?: string): Promise<HashList> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new HallmarkError("config_error", `cannot read hash list ${path}`, { cause });
  }
  return parseHashList(name ?? basename(path, extname(path)), text);
}

/**
 * Every entry of every list within `threshold` bits of `hash` (inclusive), nearest first.
 * Meta's suggested starting threshold is 31 of 256.
 * @example matchHashLists(pdq.hash, lists, 31) // [{ list: "csam-demo", label: "x", distance: 4, … }]
 */
export function matchHashLists(
  hash: string,
  lists: readonly HashList[],
  threshold: number,
): HashListMatch[] {
  const q = pdqWords(hash);
  const out: HashListMatch[] = [];
  for (const list of lists) {
    const n = list.hashes.length;
    for (let i = 0; i < n; i++) {
      const d = wordsDistance(q, list.packed, i * 8);
      if (d <= threshold) {
        out.push({ list: list.name, label: list.labels[i]!, hash: list.hashes[i]!, distance: d });
      }
    }
  }
  return out.sort((a, b) => a.distance - b.distance);
}
