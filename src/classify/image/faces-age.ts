/**
 * Apparent age from faceres (HSE FaceRes, A. Savchenko's MobileNet trained for age and gender,
 * as @vladmandic/human ships it, converted to models/faces/faceres.onnx): the face box enlarged
 * 1.4× and squared (as human crops for it), resized to 224×224, RGB in [0, 255]; the age output
 * is a distribution over 0..99 years. The estimate is its expectation Σ i·p(i): on blurred,
 * grey or small faces the distribution is often bimodal, and the reading from the one or two
 * most probable ages (human's, and the HSE authors') jumps between modes (a grey photo of an adult
 * read 9.5 years that way and 22 by expectation).
 */
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import type { RawImageInput } from "./decode.js";
import type { FaceBox } from "./faces-detect.js";

export const FACERES_SIZE = 224;
/** How much larger than the detector's box the crop is (human's face.detector.scale). */
export const FACE_CROP_SCALE = 1.4;

/** Age in years from the 100-way distribution: its expectation. */
export function ageFromDistribution(p: ArrayLike<number>): number {
  let sum = 0;
  let mass = 0;
  for (let i = 0; i < p.length; i++) {
    sum += i * p[i]!;
    mass += p[i]!;
  }
  return mass > 0 ? sum / mass : 0;
}

/** The square crop around a face, in image pixels (may extend past the image). */
export function faceCrop(box: FaceBox): { left: number; top: number; size: number } {
  const size = Math.max(1, Math.round(Math.max(box.width, box.height) * FACE_CROP_SCALE));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { left: Math.round(cx - size / 2), top: Math.round(cy - size / 2), size };
}

/** 224×224×3 floats in [0,255]; outside the image reads black (as TF's crop-and-resize). */
export async function faceTensor(image: RawImageInput, box: FaceBox): Promise<Float32Array> {
  const { left, top, size } = faceCrop(box);
  // Extend the image with black where the crop passes its edges, then cut the square.
  const padL = Math.max(0, -left);
  const padT = Math.max(0, -top);
  const padR = Math.max(0, left + size - image.width);
  const padB = Math.max(0, top + size - image.height);
  // sharp applies extend after extract within one pipeline: pad first, then cut and resize.
  const padded = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .flatten({ background: "#000000" })
    .extend({ left: padL, top: padT, right: padR, bottom: padB, background: "#000000" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgb = await sharp(padded.data, {
    raw: { width: padded.info.width, height: padded.info.height, channels: 3 },
  })
    .extract({ left: left + padL, top: top + padT, width: size, height: size })
    .resize(FACERES_SIZE, FACERES_SIZE, { fit: "fill" })
    .raw()
    .toBuffer();
  return Float32Array.from(rgb);
}

export interface AgeModel {
  /** Apparent age in years per face, in the order given. */
  estimate(image: RawImageInput, faces: FaceBox[]): Promise<number[]>;
  release(): Promise<void>;
}

export async function createAgeModel(
  path: string,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<AgeModel> {
  const session = await ort.InferenceSession.create(path, sessionOptions);
  const plane = FACERES_SIZE * FACERES_SIZE * 3;
  return {
    async estimate(image, faces) {
      if (faces.length === 0) return [];
      const x = new Float32Array(plane * faces.length);
      const crops = await Promise.all(faces.map((f) => faceTensor(image, f)));
      crops.forEach((c, i) => {
        x.set(c, i * plane);
      });
      const r = await session.run({
        input_1: new ort.Tensor("float32", x, [faces.length, FACERES_SIZE, FACERES_SIZE, 3]),
      });
      const ages = r["age_pred/Softmax"]!.data as Float32Array;
      return faces.map((_, i) => ageFromDistribution(ages.subarray(i * 100, (i + 1) * 100)));
    },
    release: () => session.release(),
  };
}
