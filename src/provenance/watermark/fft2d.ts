import FFT from "fft.js";

/**
 * Two-dimensional FFTs of power-of-two sizes on fft.js (radix-4, pure JS), rows then
 * columns. Complex data is interleaved (re, im) in row-major order. Instances keep their
 * twiddle tables, so a watermarker builds one set and reuses it.
 */
export class Fft2d {
  readonly width: number;
  readonly height: number;
  private readonly rowFft: FFT;
  private readonly colFft: FFT;
  private readonly rowIn: Float64Array;
  private readonly rowOut: Float64Array;
  private readonly colIn: Float64Array;
  private readonly colOut: Float64Array;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.rowFft = new FFT(width);
    this.colFft = height === width ? this.rowFft : new FFT(height);
    this.rowIn = new Float64Array(2 * width);
    this.rowOut = new Float64Array(2 * width);
    this.colIn = new Float64Array(2 * height);
    this.colOut = new Float64Array(2 * height);
  }

  /**
   * Spectrum of a real image for kx = 0..width/2 only (the rest follows by Hermitian
   * symmetry): complex, row-major with `width/2 + 1` entries per row.
   */
  halfSpectrum(input: Float64Array, out: Float64Array): void {
    const { width: w, height: h, rowOut, colIn, colOut } = this;
    const half = w / 2 + 1;
    for (let y = 0; y < h; y++) {
      this.rowFft.realTransform(rowOut, input.subarray(y * w, y * w + w));
      out.set(rowOut.subarray(0, 2 * half), y * 2 * half);
    }
    for (let x = 0; x < half; x++) {
      for (let y = 0; y < h; y++) {
        colIn[2 * y] = out[2 * (y * half + x)]!;
        colIn[2 * y + 1] = out[2 * (y * half + x) + 1]!;
      }
      this.colFft.transform(colOut, colIn);
      for (let y = 0; y < h; y++) {
        out[2 * (y * half + x)] = colOut[2 * y]!;
        out[2 * (y * half + x) + 1] = colOut[2 * y + 1]!;
      }
    }
  }

  /**
   * Cyclic autocorrelation of a real image computed from its spectral magnitude |F| rather
   * than its power |F|² (a whitening: the mark's many weak spectral lines count as much as
   * the image's few strong ones). |F| is real and even, so its transform is real and even
   * too and two half-spectrum passes suffice. Returns width×height values, lag (0,0) first.
   */
  magnitudeAutocorrelation(input: Float64Array): Float64Array {
    const { width: w, height: h } = this;
    const half = w / 2 + 1;
    const spec = new Float64Array(2 * half * h);
    this.halfSpectrum(input, spec);
    const mag = new Float64Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < half; x++) {
        const re = spec[2 * (y * half + x)]!;
        const im = spec[2 * (y * half + x) + 1]!;
        mag[y * w + x] = Math.sqrt(re * re + im * im);
      }
    }
    mag[0] = 0;
    mirrorHalf(mag, w, h);
    this.halfSpectrum(mag, spec);
    const ac = new Float64Array(w * h);
    const n = w * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < half; x++) ac[y * w + x] = spec[2 * (y * half + x)]! / n;
    }
    mirrorHalf(ac, w, h);
    return ac;
  }

  /** In-place forward complex transform. */
  forward(data: Float64Array): void {
    this.rows(data, false);
    this.columns(data, false);
  }

  /** In-place inverse complex transform (scaled by 1/(width·height), as fft.js does). */
  inverse(data: Float64Array): void {
    this.columns(data, true);
    this.rows(data, true);
  }

  private rows(data: Float64Array, inverse: boolean): void {
    const { width: w, height: h, rowIn, rowOut } = this;
    for (let y = 0; y < h; y++) {
      rowIn.set(data.subarray(y * 2 * w, (y + 1) * 2 * w));
      if (inverse) this.rowFft.inverseTransform(rowOut, rowIn);
      else this.rowFft.transform(rowOut, rowIn);
      data.set(rowOut, y * 2 * w);
    }
  }

  private columns(data: Float64Array, inverse: boolean): void {
    const { width: w, height: h, colIn, colOut } = this;
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        colIn[2 * y] = data[2 * (y * w + x)]!;
        colIn[2 * y + 1] = data[2 * (y * w + x) + 1]!;
      }
      if (inverse) this.colFft.inverseTransform(colOut, colIn);
      else this.colFft.transform(colOut, colIn);
      for (let y = 0; y < h; y++) {
        data[2 * (y * w + x)] = colOut[2 * y]!;
        data[2 * (y * w + x) + 1] = colOut[2 * y + 1]!;
      }
    }
  }
}

/** Fills columns x > width/2 of an even array from v(x, y) = v(width - x, height - y). */
function mirrorHalf(v: Float64Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const my = ((h - y) % h) * w;
    for (let x = w / 2 + 1; x < w; x++) v[y * w + x] = v[my + w - x]!;
  }
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}
