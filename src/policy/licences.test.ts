import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CATEGORIES } from "../classify/categories.js";
import { HallmarkError } from "../errors/index.js";
import {
  buildLicenceRegistry,
  checkUse,
  type LicenceRegistry,
  licenceReference,
  loadLicenceRegistry,
  parseLicence,
} from "./licences.js";

const DIR = new URL("../../policies/licences", import.meta.url).pathname;

function shippedTexts(): Map<string, string> {
  return new Map(
    readdirSync(DIR)
      .filter((n) => n.endsWith(".yaml"))
      .map((n) => [n, readFileSync(`${DIR}/${n}`, "utf8")]),
  );
}

function buildWith(changes: Record<string, string | null>): LicenceRegistry {
  const texts = shippedTexts();
  for (const [name, text] of Object.entries(changes)) {
    if (text === null) texts.delete(name);
    else texts.set(name, text);
  }
  return buildLicenceRegistry("dir", texts);
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HallmarkError);
    expect((e as HallmarkError).code).toBe("config_error");
    return (e as Error).message;
  }
  throw new Error("expected a config_error");
}

describe("the shipped licence registry", () => {
  it("loads, with every required licence and a content hash", async () => {
    const reg = await loadLicenceRegistry(DIR);
    expect(
      reg
        .all()
        .map((l) => l.id)
        .sort(),
    ).toEqual([
      "apache-2.0",
      "creativeml-openrail-m",
      "creativeml-openrail-plusplus-m",
      "flux-1-dev-non-commercial",
      "hallmark-embedded-diffusion",
      "hallmark-placeholder",
      "stability-ai-community",
    ]);
    expect(reg.hash).toMatch(/^[0-9a-f]{64}$/);
    for (const l of reg.all()) {
      expect(l.source_url).toMatch(/^https:\/\//);
      expect(l.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(reg.get("apache-2.0")?.spdx).toBe("Apache-2.0");
    expect(reg.get("stability-ai-community")?.revenue_threshold?.amount).toBe(1_000_000);
    expect(reg.get("nope")).toBeNull();
  });

  it("resolves every model and pattern of models.yaml to an existing licence", async () => {
    const reg = await loadLicenceRegistry(DIR);
    const map = parse(readFileSync(`${DIR}/models.yaml`, "utf8")) as {
      default: string;
      models: Record<string, string>;
      patterns: Array<{ match: string; licence: string }>;
    };
    expect(map.default).toBe("unknown");
    for (const [model, id] of Object.entries(map.models)) {
      expect(reg.licenceFor(model)?.id, model).toBe(id);
    }
    for (const p of map.patterns) {
      if (p.licence !== "unknown") expect(reg.get(p.licence), p.match).not.toBeNull();
    }
  });

  it("maps the usual model ids, file names and patterns", async () => {
    const reg = await loadLicenceRegistry(DIR);
    const id = (m: string) => reg.licenceFor(m)?.id ?? null;
    expect(id("stable-diffusion-v1-5")).toBe("creativeml-openrail-m");
    expect(id("v1-5-pruned-emaonly.safetensors")).toBe("creativeml-openrail-m");
    expect(id("sd15")).toBe("creativeml-openrail-m");
    expect(id("sd15-my-finetune")).toBe("creativeml-openrail-m");
    expect(id("sd_xl_base_1.0.safetensors")).toBe("creativeml-openrail-plusplus-m");
    expect(id("juggernaut-SDXL-v9")).toBe("creativeml-openrail-plusplus-m");
    expect(id("stable-diffusion-3.5-large")).toBe("stability-ai-community");
    expect(id("sd3.5_large_fp8.safetensors")).toBe("stability-ai-community");
    expect(id("flux1-dev")).toBe("flux-1-dev-non-commercial");
    expect(id("flux1-dev-fp8.safetensors")).toBe("flux-1-dev-non-commercial");
    expect(id("flux1-schnell")).toBe("apache-2.0");
    expect(id("hallmark-placeholder")).toBe("hallmark-placeholder");
  });

  it("answers null for an unknown model, never a guess", async () => {
    const reg = await loadLicenceRegistry(DIR);
    expect(reg.licenceFor("gpt-image-1")).toBeNull();
    expect(reg.licenceFor("fake-image-1")).toBeNull();
    expect(reg.licenceFor("sd_xl_turbo_1.0")).toBeNull();
    expect(reg.licenceFor("")).toBeNull();
  });

  it("maps every OpenRAIL restriction to real categories, with minors under item 2", async () => {
    const reg = await loadLicenceRegistry(DIR);
    for (const id of ["creativeml-openrail-m", "creativeml-openrail-plusplus-m"]) {
      const l = reg.get(id)!;
      expect(l.use_restrictions).toHaveLength(11);
      const minors = l.use_restrictions.find((r) => r.categories.includes("sexual/minors"));
      expect(minors?.ref).toBe("Attachment A, item 2");
      for (const r of l.use_restrictions) {
        for (const c of r.categories) expect(CATEGORIES).toContain(c);
      }
    }
  });

  it("gives the manifest's licence reference", async () => {
    const reg = await loadLicenceRegistry(DIR);
    expect(licenceReference(reg.get("apache-2.0")!)).toEqual({
      id: "apache-2.0",
      name: "Apache License 2.0",
      url: "https://www.apache.org/licenses/LICENSE-2.0",
      version: "2.0",
      spdx: "Apache-2.0",
    });
  });
});

describe("checkUse", () => {
  it("refuses FLUX.1 [dev] for commercial use and allows it otherwise", async () => {
    const reg = await loadLicenceRegistry(DIR);
    const flux = reg.licenceFor("flux1-dev")!;
    const commercial = checkUse(flux, { commercial: true, categories: [] });
    expect(commercial.allowed).toBe(false);
    expect(commercial.reasons[0]).toMatch(/does not allow commercial use/);
    expect(reg.checkUse(flux, { commercial: false, categories: [] }).allowed).toBe(true);
  });

  it("refuses OpenRAIL-M with sexual/minors, quoting Attachment A", async () => {
    const reg = await loadLicenceRegistry(DIR);
    const v = checkUse(reg.licenceFor("stable-diffusion-v1-5")!, {
      commercial: false,
      categories: ["sexual/minors"],
    });
    expect(v.allowed).toBe(false);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(
      /Attachment A, item 2: "Not for the purpose of exploiting.*minors/,
    );
    expect(v.reasons[0]).toMatch(/category sexual\/minors/);
    // Commercial use is fine under RAIL-M, and violence alone is under no restriction.
    const ok = checkUse(reg.get("creativeml-openrail-m")!, {
      commercial: true,
      categories: ["violence"],
    });
    expect(ok.allowed).toBe(true);
  });

  it("applies the Community License's USD 1M revenue threshold to commercial use", async () => {
    const reg = await loadLicenceRegistry(DIR);
    const sai = reg.licenceFor("stable-diffusion-3.5-large")!;
    const above = checkUse(sai, { commercial: true, categories: [], annualRevenueUsd: 5_000_000 });
    expect(above.allowed).toBe(false);
    expect(above.reasons[0]).toMatch(
      /annual revenue up to USD 1,000,000 \(declared: USD 5,000,000\)/,
    );
    // "more than USD $1,000,000": the amount itself is still covered.
    expect(
      checkUse(sai, { commercial: true, categories: [], annualRevenueUsd: 1_000_000 }).allowed,
    ).toBe(true);
    expect(
      checkUse(sai, { commercial: true, categories: [], annualRevenueUsd: 1_000_001 }).allowed,
    ).toBe(false);
    const undeclared = checkUse(sai, { commercial: true, categories: [] });
    expect(undeclared.allowed).toBe(false);
    expect(undeclared.reasons[0]).toMatch(/not declared/);
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(
        checkUse(sai, { commercial: true, categories: [], annualRevenueUsd: bad }).allowed,
      ).toBe(false);
    }
    const below = checkUse(sai, { commercial: true, categories: [], annualRevenueUsd: 200_000 });
    expect(below.allowed).toBe(true);
    expect(below.obligations.join(" ")).toMatch(/Powered by Stability AI/);
    expect(
      checkUse(sai, { commercial: false, categories: [], annualRevenueUsd: 5_000_000 }).allowed,
    ).toBe(true);
  });

  it("checks combined restrictions only when all their categories fire", async () => {
    const reg = await loadLicenceRegistry(DIR);
    const sai = reg.get("stability-ai-community")!;
    expect(checkUse(sai, { commercial: false, categories: ["sexual"] }).allowed).toBe(true);
    const ncii = checkUse(sai, { commercial: false, categories: ["sexual", "public-figure"] });
    expect(ncii.allowed).toBe(false);
    expect(ncii.reasons.join("\n")).toMatch(/non-consensual intimate imagery/);
  });

  it("allows Apache-2.0 and the placeholder for any use", async () => {
    const reg = await loadLicenceRegistry(DIR);
    for (const model of ["flux1-schnell", "hallmark-placeholder"]) {
      const v = checkUse(reg.licenceFor(model)!, {
        commercial: true,
        categories: ["sexual", "violence"],
        annualRevenueUsd: 1e9,
      });
      expect(v).toEqual({
        allowed: true,
        reasons: [expect.stringMatching(/allows commercial use/)],
        obligations: [],
      });
    }
  });
});

describe("bad licence files", () => {
  const rail = readFileSync(`${DIR}/creativeml-openrail-m.yaml`, "utf8");
  const lineOf = (text: string, needle: string) =>
    text.split("\n").findIndex((l) => l.includes(needle)) + 1;

  it("reports a wrong value with the file and line", () => {
    const bad = rail.replace("status: restricted", "status: sometimes");
    const msg = configError(() => parseLicence(bad, "x.yaml"));
    expect(msg).toContain(`x.yaml:${lineOf(bad, "status: sometimes")}: commercial_use.status`);
  });

  it("reports an unknown category in a restriction with its line", () => {
    const bad = rail.replace("categories: [sexual/minors]", "categories: [minors]");
    const msg = configError(() => parseLicence(bad, "x.yaml"));
    expect(msg).toContain(
      `x.yaml:${lineOf(bad, "categories: [minors]")}: use_restrictions.1.categories.0`,
    );
  });

  it("reports unknown keys, a non-https URL, and YAML syntax errors", () => {
    expect(configError(() => parseLicence(`${rail}\nextra: 1\n`, "x.yaml"))).toMatch(/extra/);
    expect(
      configError(() =>
        parseLicence(rail.replace(/source_url: .*/, "source_url: http://x.org/"), "x.yaml"),
      ),
    ).toMatch(/x\.yaml:\d+: source_url/);
    expect(configError(() => parseLicence("id: [unclosed", "x.yaml"))).toMatch(/x\.yaml:1:/);
  });

  it("reports a file whose id is not its name, and the reserved id", () => {
    expect(configError(() => buildWith({ "other.yaml": rail }))).toMatch(
      /other\.yaml:1: id: expected "other"/,
    );
    expect(
      configError(() =>
        buildWith({ "unknown.yaml": rail.replace("id: creativeml-openrail-m", "id: unknown") }),
      ),
    ).toMatch(/reserved/);
  });

  it("reports a model mapped to a licence that does not exist, with its line", () => {
    const models = readFileSync(`${DIR}/models.yaml`, "utf8");
    const bad = models.replace("flux1-dev: flux-1-dev-non-commercial", "flux1-dev: flux-dev");
    const msg = configError(() => buildWith({ "models.yaml": bad }));
    expect(msg).toContain(`models.yaml:${lineOf(bad, "flux1-dev: flux-dev")}: models.flux1-dev`);
    expect(msg).toMatch(/found "flux-dev"/);
    const badPattern = models.replace("licence: apache-2.0 }", "licence: apache }");
    expect(configError(() => buildWith({ "models.yaml": badPattern }))).toMatch(
      /models\.yaml:\d+: patterns\.0\.licence/,
    );
    expect(configError(() => buildWith({ "models.yaml": null }))).toMatch(/models\.yaml: missing/);
  });

  it("reports an unreadable directory", async () => {
    await expect(loadLicenceRegistry("/nonexistent/licences")).rejects.toThrow(
      /cannot read licence directory/,
    );
  });
});
