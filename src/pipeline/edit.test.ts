import { describe, expect, it } from "vitest";
import type { Generator } from "../generate/index.js";
import type { PipelineDeps } from "./deps.js";
import { checkEditSupported, type EditRequest } from "./edit.js";
import { inputFaceRule } from "./edit-screen.js";

const request = (over: Partial<EditRequest> = {}) =>
  ({ images: [Buffer.alloc(1)], prompt: "x", ...over }) as EditRequest;
const deps = (generator: Partial<Generator>) =>
  ({ generator: { name: "test", defaultModel: "m", ...generator } }) as unknown as PipelineDeps;
const edit = async () => {
  throw new Error("not called");
};

describe("checkEditSupported", () => {
  it("a backend without edit → edit_not_supported on image", () => {
    expect(() => checkEditSupported(deps({}), request())).toThrow(
      expect.objectContaining({ code: "edit_not_supported", param: "image" }),
    );
  });

  it("refuses what the capabilities leave out, naming the field", () => {
    const caps = { mask: false, maxImages: 1, strength: false };
    const g = deps({ edit, editCapabilities: caps });
    expect(() => checkEditSupported(g, request({ mask: Buffer.alloc(1) }))).toThrow(
      expect.objectContaining({ code: "edit_not_supported", param: "mask" }),
    );
    expect(() => checkEditSupported(g, request({ strength: 0.5 }))).toThrow(
      expect.objectContaining({ param: "strength" }),
    );
    expect(() =>
      checkEditSupported(g, request({ images: [Buffer.alloc(1), Buffer.alloc(1)] })),
    ).toThrow(expect.objectContaining({ param: "image" }));
    expect(checkEditSupported(g, request())).toEqual(caps);
  });
});

describe("inputFaceRule", () => {
  it("defaults to review; the stricter of edits.real_people and faces.input_with_face applies", () => {
    expect(inputFaceRule({} as never)).toBe("review");
    const rule = (real: string, face: string) =>
      inputFaceRule({
        edits: { real_people: real },
        faces: { input_with_face: face },
      } as never);
    expect(rule("allow", "allow")).toBe("allow");
    expect(rule("allow", "review")).toBe("review");
    expect(rule("block", "allow")).toBe("block");
    expect(rule("review", "block")).toBe("block");
  });
});
