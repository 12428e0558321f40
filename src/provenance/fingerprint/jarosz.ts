/**
 * PDQ's "Jarosz filter" downsampler: repeated 1-D box filters along rows then columns (two
 * passes approximate a tent filter), then point-sampling at cell centres. Described in Meta's
 * hashing.pdf (https://github.com/facebook/ThreatExchange/tree/main/hashing) after W. Jarosz,
 * "Fast image convolutions" (2001).
 *
 * Arithmetic is rounded to IEEE single precision at every step (`Math.fround`) because the
 * reference implementation works in `float`: with doubles, DCT coefficients that sit next to
 * the median can land on the other side of it and flip bits.
 */

const f = Math.fround;

/**
 * Box window length for shrinking `oldSize` samples to `newSize`: ⌈old / (2·new)⌉, i.e. half
 * the decimation step, so that two passes span about one step.
 */
export function jaroszWindow(oldSize: number, newSize: number): number {
  return Math.floor((oldSize + 2 * newSize - 1) / (2 * newSize));
}

/**
 * One box-filter pass over `length` samples of `input` starting at `offset` with `stride`,
 * written to the same positions of `output`. Output sample i is the mean of inputs
 * [i − (w − h), i + h − 1] clipped to the vector, where h = ⌊(w + 2) / 2⌋: a window of w
 * samples centred on i (one more on the right for even w), shrinking at the edges.
 */
function boxPass(
  input: Float32Array,
  output: Float32Array,
  offset: number,
  length: number,
  stride: number,
  window: number,
): void {
  const half = Math.floor((window + 2) / 2);
  const lead = half - 1; // samples to the right of the current one
  const trail = window - half; // samples to its left
  let sum = 0;
  let count = 0;
  // Prime the running sum with the samples right of position 0.
  for (let k = 0; k < lead && k < length; k++) {
    sum = f(sum + input[offset + k * stride]!);
    count++;
  }
  for (let i = 0; i < length; i++) {
    const enter = i + lead;
    if (enter < length) {
      sum = f(sum + input[offset + enter * stride]!);
      count++;
    }
    const leave = i - trail - 1;
    if (leave >= 0) {
      sum = f(sum - input[offset + leave * stride]!);
      count--;
    }
    output[offset + i * stride] = f(sum / count);
  }
}

/**
 * One box-filter pass down every column at once, row by row, so memory is read in order
 * (a column-at-a-time pass strides across the whole image and is several times slower).
 * Same window and rounding as `boxPass`; the Float32Array `sums` rounds each update.
 */
function boxColumns(
  input: Float32Array,
  output: Float32Array,
  height: number,
  width: number,
  window: number,
): void {
  const half = Math.floor((window + 2) / 2);
  const lead = half - 1;
  const trail = window - half;
  const sums = new Float32Array(width);
  let count = 0;
  for (let k = 0; k < lead && k < height; k++) {
    const row = k * width;
    for (let x = 0; x < width; x++) sums[x]! += input[row + x]!;
    count++;
  }
  for (let i = 0; i < height; i++) {
    const enter = i + lead;
    if (enter < height) {
      const row = enter * width;
      for (let x = 0; x < width; x++) sums[x]! += input[row + x]!;
      count++;
    }
    const leave = i - trail - 1;
    if (leave >= 0) {
      const row = leave * width;
      for (let x = 0; x < width; x++) sums[x]! -= input[row + x]!;
      count--;
    }
    const out = i * width;
    for (let x = 0; x < width; x++) output[out + x] = sums[x]! / count;
  }
}

/**
 * Blurs `a` (height×width, row-major) in place with `passes` rounds of a row box filter then a
 * column box filter; `scratch` is a buffer of the same size.
 */
export function jaroszFilter(
  a: Float32Array,
  scratch: Float32Array,
  height: number,
  width: number,
  rowWindow: number,
  colWindow: number,
  passes: number,
): void {
  for (let p = 0; p < passes; p++) {
    for (let y = 0; y < height; y++) boxPass(a, scratch, y * width, width, 1, rowWindow);
    boxColumns(scratch, a, height, width, colWindow);
  }
}

/** Point-samples `a` (height×width) at the centres of an outSize×outSize grid of cells. */
export function decimate(
  a: Float32Array,
  height: number,
  width: number,
  outSize: number,
): Float32Array {
  const out = new Float32Array(outSize * outSize);
  for (let i = 0; i < outSize; i++) {
    const y = Math.floor(((i + 0.5) * height) / outSize);
    for (let j = 0; j < outSize; j++) {
      const x = Math.floor(((j + 0.5) * width) / outSize);
      out[i * outSize + j] = a[y * width + x]!;
    }
  }
  return out;
}
