/**
 * The c2pa-rs settings ("context JSON") Hallmark passes to every builder and reader.
 * Network use by the engine is switched off: a verify request must never make the gateway
 * fetch a URL that an uploaded image names (remote manifests, OCSP responders).
 */
export interface EngineSettingsInput {
  /** Signer trust anchors, PEM bundle; empty for none. */
  anchorsPem: string;
  /** Time-stamp authority anchors, PEM bundle, a separate trust list (C2PA 2.x §14.4.2). */
  tsaAnchorsPem?: string;
  /** Check certificate trust (off only for the raw-engine baseline in the bench). */
  verifyTrust?: boolean;
  /** Re-verify each signed output inside the engine (costs about one read). */
  verifyAfterSign?: boolean;
}

export function engineSettings(input: EngineSettingsInput): string {
  const settings: Record<string, unknown> = {
    verify: {
      verify_trust: input.verifyTrust ?? true,
      verify_timestamp_trust: true,
      verify_after_sign: input.verifyAfterSign ?? false,
      verify_after_reading: true,
      remote_manifest_fetch: false,
      ocsp_fetch: false,
    },
    builder: {
      // Thumbnails would make the engine decode pixels (a decompression-bomb surface) and
      // cost time; the output image is its own preview.
      thumbnail: { enabled: false },
    },
  };
  // c2pa-rs 0.91+ `trust.anchors`: one list per kind, so a TSA root never anchors a claim
  // signer and a signer root never anchors a time-stamp.
  const anchors: Array<{ trust_anchors: string; trust_kind: "manifest" | "tsa" }> = [];
  if (input.anchorsPem.trim())
    anchors.push({ trust_anchors: input.anchorsPem, trust_kind: "manifest" });
  if (input.tsaAnchorsPem?.trim()) {
    anchors.push({ trust_anchors: input.tsaAnchorsPem, trust_kind: "tsa" });
  }
  if (anchors.length) settings.trust = { anchors };
  return JSON.stringify(settings);
}
