import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  completeFragments,
  loadCompletionTerms,
  repeatWindows,
  squeezeForOcr,
} from "./ocr-complete.js";

const root = join(import.meta.dirname, "..", "..", "..");
const terms = loadCompletionTerms(join(root, "policies/lexicons"));

describe("OCR fragment completion", () => {
  it("loads the long intellectual-property terms (the stock marks among them)", () => {
    for (const t of ["shutterstock", "dreamstime", "depositphotos", "getty images"]) {
      expect(terms).toContain(t);
    }
    // Too short to complete safely: left to exact matching.
    expect(terms).not.toContain("alamy");
    expect(terms).not.toContain("123rf");
    expect(terms.every((t) => squeezeForOcr(t).length >= 8)).toBe(true);
  });

  it.each([
    ["utterstock", "shutterstock"],
    ["ushutterstoc", "shutterstock"],
    ["ishuttersto", "shutterstock"],
    ["eamstime", "dreamstime"],
    ["areamsti", "dreamstime"],
    ["Mdreamstim", "dreamstime"],
    ["etty Images", "getty images"],
    ["drecmstime", "dreamstime"], // one letter misread (10+ letters)
    ["depostphotos", "depositphotos"], // one letter lost (12+ letters)
    ["shutterrstock", "shutterstock"], // one letter added
    ["Ad'obe Stock -", "adobe stock"], // whole, but broken by punctuation the lexicon keeps
  ])("completes the fragment %s to %s (misses of the evaluation set)", (read, term) => {
    expect(completeFragments([read], terms)).toContain(term);
  });

  it.each([
    // Tiled copies boxed as one diagonal and read run together (the evaluation set's misses).
    ["ohotoepositphotoeposi", "depositphotos"],
    ["odepositphotdepositphotd", "depositphotos"],
    ["aestocshutterstocshutter", "shutterstock"],
    ["magGetty Imaggstty ImagGetty Imagggtty Image", "getty images"],
  ])("completes the run-together tiled reading %s to %s", (read, term) => {
    expect(completeFragments([read], terms)).toContain(term);
  });

  it.each([
    // Tiled copies each cut differently (the evaluation set's misses, session 23).
    [["positp", "O", "10", "ositphoto", "sitphot"], "depositphotos"],
    [["imag", "mage", "yImages", "ty Image"], "getty images"],
  ])("puts together the pieces %j of one term read apart: %s", (read, term) => {
    expect(completeFragments(read, terms)).toContain(term);
  });

  it.each([
    // Each piece inside the term, but they do not overlap enough to be one mark's letters.
    [["shutters", "stock"]], // a shop's sign: "shutters in stock"
    [["shutter", "rstock"]], // meet at one letter
    [["deposit", "photos"]], // abut, no overlap
    [["positph", "positph"]], // one piece twice: no more of the term
    [["getty", "tyima", "images"]], // pieces under six letters do not count
  ])("does not put together %j", (read) => {
    expect(completeFragments(read, terms)).toEqual([]);
  });

  it("finds repeats only of tiled length, misread a little, in text of tiled length", () => {
    expect(repeatWindows("ohotoepositphotoeposi")).toContain("epositphoto");
    expect(repeatWindows("hahahahahahaha")).toEqual([]); // period 2
    expect(repeatWindows("mississippimississippi")).toContain("mississippi");
    expect(repeatWindows("thequickbrownfoxjumps")).toEqual([]);
    expect(repeatWindows("depositphotos")).toEqual([]); // one copy
    expect(repeatWindows("abcdefghabcdefgh".repeat(7))).toEqual([]); // longer than a tiled line
    // A repeat is not a completion by itself: the window must be most of a long term.
    expect(completeFragments(["mississippi mississippi", "photo photo photo"], terms)).toEqual([]);
  });

  it.each([
    "supermarket", // begins like "superman" but is a longer word
    "images",
    "stock photo",
    "deposit",
    "shutter",
    "eposit", // 6 of depositphotos' 13 letters: too little of it
    "dreams",
    "a sunny day at the beach",
    "shutterstock", // whole: exact matching scores it, nothing to complete
    "Adobe Stock",
    "dreamtime", // one letter from dreamstime, but a word: lost letters only in 12+ letter terms
    "Dreamtimes", // nor one letter lost and one added
    "alamo", // short terms are never completed
    "drxamstimx", // two letters off
  ])("leaves %s alone", (read) => {
    expect(completeFragments([read], terms)).toEqual([]);
  });
});
