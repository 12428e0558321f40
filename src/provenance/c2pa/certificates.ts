/**
 * Certificate parsing and the checks Hallmark makes before it signs anything with a chain:
 * validity dates, the C2PA signer profile (C2PA §14.5.1, "Certificate profile": keyUsage
 * digitalSignature, an accepted extendedKeyUsage, not a CA), the chain's order and signatures,
 * and that the private key belongs to the certificate.
 */
import { createHash, type KeyObject, X509Certificate as NodeX509 } from "node:crypto";
import { HallmarkError } from "../../errors/index.js";
import { spkiOf } from "./key-signer.js";
import type { AnchorInfo } from "./types.js";
import * as x509 from "./x509.js";

/** EKUs c2pa-rs accepts for a claim signer (valid_eku_oids.cfg, less TSA and OCSP signing). */
export const SIGNER_EKUS: Record<string, string> = {
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.36": "documentSigning",
  "1.3.6.1.4.1.62558.2.1": "C2PA signing",
  "1.3.6.1.4.1.311.76.59.1.9": "Microsoft C2PA signing",
};

export interface ParsedCert {
  der: Uint8Array;
  pem: string;
  peculiar: x509.X509Certificate;
  node: NodeX509;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  sha256: string;
}

/** Split a PEM bundle into certificates; other PEM blocks are ignored. */
export function parsePemCertificates(pem: string, what: string): ParsedCert[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block, i) => {
    try {
      const peculiar = new x509.X509Certificate(block);
      const der = new Uint8Array(peculiar.rawData);
      return {
        der,
        pem: `${peculiar.toString("pem")}\n`,
        peculiar,
        node: new NodeX509(block),
        subject: peculiar.subject,
        issuer: peculiar.issuer,
        notBefore: peculiar.notBefore,
        notAfter: peculiar.notAfter,
        sha256: createHash("sha256").update(der).digest("hex"),
      };
    } catch (error) {
      throw new HallmarkError("config_error", `${what}: certificate ${i + 1} cannot be parsed`, {
        cause: error,
      });
    }
  });
}

export function anchorInfo(cert: ParsedCert, source: AnchorInfo["source"]): AnchorInfo {
  return {
    subject: cert.subject,
    sha256: cert.sha256,
    notAfter: cert.notAfter.toISOString(),
    source,
  };
}

/**
 * Problems with a signer chain (signer first), in words an operator can act on; empty when
 * the chain can sign. `key` is checked against the signer's public key when given.
 */
export function chainProblems(chain: ParsedCert[], now: Date, key?: KeyObject): string[] {
  const problems: string[] = [];
  const signer = chain[0];
  if (!signer) return ["the certificate file holds no certificate"];
  chain.forEach((cert, i) => {
    const role = i === 0 ? "signer certificate" : `chain certificate ${i + 1}`;
    if (now < cert.notBefore) {
      problems.push(
        `${role} (${cert.subject}) is not valid before ${cert.notBefore.toISOString()}`,
      );
    }
    if (now > cert.notAfter) {
      problems.push(`${role} (${cert.subject}) expired on ${cert.notAfter.toISOString()}`);
    }
    const next = chain[i + 1];
    if (next) {
      if (!cert.node.checkIssued(next.node) || !cert.node.verify(next.node.publicKey)) {
        problems.push(
          `${role} (${cert.subject}) is not signed by the next certificate in the chain (${next.subject}); order the chain signer first, then each issuer`,
        );
      }
    }
  });

  const ku = signer.peculiar.getExtension(x509.KeyUsagesExtension);
  if (!ku) {
    problems.push("signer certificate has no keyUsage extension; C2PA requires digitalSignature");
  } else if ((ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    problems.push("signer certificate keyUsage lacks digitalSignature");
  } else if ((ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
    problems.push("signer certificate keyUsage includes keyCertSign or cRLSign (a CA key)");
  }
  const eku = signer.peculiar.getExtension(x509.ExtendedKeyUsageExtension);
  const ekus = (eku?.usages ?? []).map(String);
  if (!ekus.some((oid) => oid in SIGNER_EKUS)) {
    problems.push(
      `signer certificate extendedKeyUsage must include one of ${Object.entries(SIGNER_EKUS)
        .map(([oid, name]) => `${name} (${oid})`)
        .join(", ")}; it has ${ekus.length ? ekus.join(", ") : "none"}`,
    );
  }
  if (ekus.includes("2.5.29.37.0")) {
    problems.push("signer certificate extendedKeyUsage must not include anyExtendedKeyUsage");
  }
  const bc = signer.peculiar.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca) problems.push("signer certificate is a CA certificate (basicConstraints CA:true)");

  if (key) {
    const certSpki = Buffer.from(signer.peculiar.publicKey.rawData);
    if (Buffer.compare(certSpki, spkiOf(key)) !== 0) {
      problems.push(
        `the private key does not match the signer certificate (${signer.subject}): it belongs to another public key`,
      );
    }
  }
  return problems;
}

/** Whether `chain` leads to one of `anchors` (by issuer signature or by being an anchor). */
export function chainsToAnchor(chain: ParsedCert[], anchors: ParsedCert[]): ParsedCert | null {
  for (const anchor of anchors) {
    for (const cert of chain) {
      if (cert.sha256 === anchor.sha256) return anchor;
      if (cert.node.checkIssued(anchor.node) && cert.node.verify(anchor.node.publicKey)) {
        return anchor;
      }
    }
  }
  return null;
}
