/**
 * Seeded standard-normal numbers for initial latents and ancestral noise, the same on every
 * platform and Node version: xoshiro128** (Blackman and Vigna) seeded by splitmix32 from the
 * 32-bit seed, and the Box–Muller transform on two uniforms in (0, 1). Not torch's generator, so
 * a seed does not reproduce a PyTorch image; it reproduces a Hallmark image.
 */
export interface Gaussian {
  next(): number;
  fill(out: Float32Array): Float32Array;
}

export function createGaussian(seed: number): Gaussian {
  let x = seed >>> 0;
  const splitmix = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  if ((a | b | c | d) === 0) a = 1;
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  // (k + 0.5) / 2^32: strictly inside (0, 1), so log() below is finite.
  const uniform = (): number => (nextU32() + 0.5) / 4294967296;
  let spare: number | null = null;
  const next = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  return {
    next,
    fill(out: Float32Array): Float32Array {
      for (let i = 0; i < out.length; i++) out[i] = next();
      return out;
    },
  };
}

function rotl(v: number, k: number): number {
  return ((v << k) | (v >>> (32 - k))) >>> 0;
}
