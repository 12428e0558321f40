import { createHash } from "node:crypto";

export type PromptRetention = "plaintext" | "sha256";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** What the prompt audit keeps of one prompt, as the policy says: the text, or only its hash. */
export function promptAudit(
  text: string | undefined,
  retention: PromptRetention,
): { text: string | null; sha256: string | null } {
  if (text === undefined) return { text: null, sha256: null };
  return { text: retention === "plaintext" ? text : null, sha256: sha256Hex(text) };
}
