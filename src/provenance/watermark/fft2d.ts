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

  /** Forward transform of a real image (row-major `width×height`) into `out` (complex). */
  forwardReal(input: Float64Array, out: Float64Array): void {
    const { width: w, height: h, rowOut } = this;
    const real = new Float64Array(w);
    for (let y = 0; y < h; y++) {
      real.set(input.subarray(y * w, y * w + w));
      this.rowFft.realTransform(rowOut, real);
      this.rowFft.completeSpectrum(rowOut);
      out.set(rowOut, y * 2 * w);
    }
    this.columns(out, false);
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

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}
