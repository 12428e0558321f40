/**
 * What a decision keeps of the prompt when the policy keeps only its hash (`prompts.retention:
 * sha256`): the decision's explanation otherwise repeats the prompt (the classifier's normalised
 * text, the text of each matched span). Those are blanked; offsets, the lexicon term or rule that
 * matched, scores and thresholds stay, so the decision still explains itself. Text read in an
 * image (OCR) and face notes are not the prompt and stay.
 */
export function withoutPromptText(decision: unknown): unknown {
  if (Array.isArray(decision)) return decision.map(withoutPromptText);
  if (decision === null || typeof decision !== "object") return decision;
  const out: Record<string, unknown> = {};
  const source = (decision as { source?: unknown }).source;
  const isPromptSpan =
    "start" in decision &&
    "end" in decision &&
    "text" in decision &&
    source !== "ocr" &&
    source !== "faces";
  for (const [key, value] of Object.entries(decision)) {
    if (key === "normalised" && typeof value === "string") out[key] = null;
    else if (key === "text" && isPromptSpan) out[key] = "";
    else out[key] = withoutPromptText(value);
  }
  return out;
}
