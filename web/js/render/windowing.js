/**
 * Window/level (brightness and contrast) for 8-bit display images. Pure functions, no DOM.
 *
 * A window of width W centred at level L maps [L - W/2, L + W/2] linearly onto 0..255 and clamps
 * everything outside it, as in a radiology viewer.
 */

/** Display values span 0..255. */
export const FULL_WINDOW = Object.freeze({ level: 127.5, width: 256 });

/**
 * @param {number} level window centre, in display units (0..255)
 * @param {number} width window width, at least 1
 * @returns {{low: number, high: number}} the input values mapped to 0 and 255
 */
export function windowRange(level, width) {
  const w = Math.max(1, width);
  return { low: level - w / 2, high: level + w / 2 };
}

/**
 * A 256-entry lookup table from input value to displayed value.
 * @param {number} level
 * @param {number} width
 * @returns {Uint8ClampedArray}
 * @example buildWindowLut(127.5, 256)[128] === 128
 */
export function buildWindowLut(level, width) {
  const { low, high } = windowRange(level, width);
  const lut = new Uint8ClampedArray(256);
  const span = high - low;
  for (let v = 0; v < 256; v += 1) {
    // Uint8ClampedArray rounds and clamps for us.
    lut[v] = ((v - low) / span) * 255;
  }
  return lut;
}

/**
 * Grey values of an RGBA buffer (Rec. 601 luma, so an RGB display image still reads sensibly).
 * @param {Uint8ClampedArray|Uint8Array} rgba
 * @returns {Uint8Array} one value per pixel
 */
export function greyFromRgba(rgba) {
  const n = rgba.length >> 2;
  const grey = new Uint8Array(n);
  for (let i = 0, p = 0; i < n; i += 1, p += 4) {
    grey[i] = Math.round(0.299 * rgba[p] + 0.587 * rgba[p + 1] + 0.114 * rgba[p + 2]);
  }
  return grey;
}

/**
 * Opaque RGBA pixels of a grey image seen through a window.
 * @param {Uint8Array} grey
 * @param {Uint8ClampedArray} lut from buildWindowLut
 * @returns {Uint8ClampedArray} RGBA, 4 bytes per pixel
 */
export function applyWindow(grey, lut) {
  const out = new Uint8ClampedArray(grey.length * 4);
  for (let i = 0, p = 0; i < grey.length; i += 1, p += 4) {
    const v = lut[grey[i]];
    out[p] = v;
    out[p + 1] = v;
    out[p + 2] = v;
    out[p + 3] = 255;
  }
  return out;
}

/**
 * A window that spans the given percentiles of the non-zero pixels (zero is the air around the head).
 * @param {Uint8Array} grey
 * @param {number} [lowFraction=0.01]
 * @param {number} [highFraction=0.995]
 * @returns {{level: number, width: number}} the full window when no pixel is non-zero
 */
export function autoWindow(grey, lowFraction = 0.01, highFraction = 0.995) {
  const histogram = new Uint32Array(256);
  let count = 0;
  for (let i = 0; i < grey.length; i += 1) {
    if (grey[i] > 0) {
      histogram[grey[i]] += 1;
      count += 1;
    }
  }
  if (count === 0) return { ...FULL_WINDOW };
  const low = percentile(histogram, count, lowFraction);
  const high = percentile(histogram, count, highFraction);
  const width = Math.max(1, high - low + 1);
  return { level: low + (width - 1) / 2, width };
}

function percentile(histogram, count, fraction) {
  const target = Math.max(1, Math.ceil(fraction * count));
  let seen = 0;
  for (let v = 0; v < 256; v += 1) {
    seen += histogram[v];
    if (seen >= target) return v;
  }
  return 255;
}
