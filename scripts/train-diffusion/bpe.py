"""A CLIP-style byte-level BPE: learning merges for the embedded model's own small vocabulary,
and encoding text exactly as CLIP's tokenizer does (OpenAI CLIP simple_tokenizer.py, the
algorithm Hugging Face's CLIPTokenizer reproduces): lower-case, collapse whitespace, split with
CLIP's pattern, map bytes to printable characters (bytes_to_unicode), mark the last character of
each word with "</w>", then apply merges by rank.

The written vocab.json / merges.txt use Hugging Face's format, so the same TypeScript tokenizer
(src/generate/onnx-sd/clip-tokenizer.ts) reads this vocabulary and CLIP's.
"""

import re
from collections import Counter

BOS, EOS = "<|startoftext|>", "<|endoftext|>"

# CLIP's pattern; Python's `re` lacks \p{L}: [^\W\d_] is "a letter", \d "a digit".
PATTERN = re.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+""",
    re.IGNORECASE,
)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def word_symbols(word: str):
    chars = [BYTE_ENCODER[b] for b in word.encode("utf-8")]
    return tuple(chars[:-1]) + (chars[-1] + "</w>",)


def learn(texts, max_merges: int = 1000):
    """Merges learned from word counts, most frequent pair first (ties: the pair seen first)."""
    counts = Counter()
    for t in texts:
        for w in PATTERN.findall(clean(t)):
            counts[word_symbols(w)] += 1
    words = dict(counts)
    merges = []
    while len(merges) < max_merges:
        pairs = Counter()
        for symbols, c in words.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], -len(merges)))[0]
        merges.append(best)
        merged = {}
        for symbols, c in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = c
        words = merged
    # Vocabulary in CLIP's order: the 256 byte characters, the same with </w>, the merges, then
    # the two special tokens.
    base = list(BYTE_ENCODER.values())
    vocab = base + [c + "</w>" for c in base] + ["".join(m) for m in merges] + [BOS, EOS]
    return {tok: i for i, tok in enumerate(vocab)}, merges


def bpe(symbols, ranks):
    word = list(symbols)
    while len(word) > 1:
        pairs = [(ranks.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
        rank, _ = min(pairs)
        if rank == float("inf"):
            break
        first, second = min(((a, b) for a, b in zip(word, word[1:])), key=lambda p: ranks.get(p, float("inf")))
        out, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                out.append(first + second)
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


def encode(text, vocab, merges, max_length):
    """Token ids as the pipeline feeds them: bos, tokens (truncated), eos, padded with eos."""
    ranks = {tuple(m): i for i, m in enumerate(merges)}
    ids = []
    for w in PATTERN.findall(clean(text)):
        ids += [vocab[t] for t in bpe(word_symbols(w), ranks)]
    ids = [vocab[BOS]] + ids[: max_length - 2] + [vocab[EOS]]
    return ids + [vocab[EOS]] * (max_length - len(ids))
