/**
 * A heat colour map for attention coefficients, blended so that low attention leaves the image untouched.
 * Pure functions, no DOM.
 */

/** Colour stops (position 0..1, RGB) of a perceptually ordered dark-to-bright map close to "inferno". */
export const INFERNO_STOPS = Object.freeze([
  [0.0, [0, 0, 4]],
  [0.25, [87, 16, 110]],
  [0.5, [188, 55, 84]],
  [0.75, [249, 142, 9]],
  [1.0, [252, 255, 164]],
]);

/**
 * A 256-entry RGB lookup table interpolated between colour stops.
 * @param {ReadonlyArray<[number, [number, number, number]]>} [stops=INFERNO_STOPS] sorted by position,
 *   the first at 0 and the last at 1
 * @returns {Uint8ClampedArray} 768 bytes: r, g, b for each value 0..255
 */
export function buildColormap(stops = INFERNO_STOPS) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let v = 0; v < 256; v += 1) {
    const t = v / 255;
    let k = 1;
    while (k < stops.length - 1 && stops[k][0] < t) k += 1;
    const [t0, c0] = stops[k - 1];
    const [t1, c1] = stops[k];
    const f = t1 === t0 ? 0 : (t - t0) / (t1 - t0);
    for (let ch = 0; ch < 3; ch += 1) lut[v * 3 + ch] = c0[ch] + (c1[ch] - c0[ch]) * f;
  }
  return lut;
}

/**
 * Blend a heat map over RGBA pixels, in place; each pixel's weight is opacity x value / 255.
 * @param {Uint8ClampedArray} rgba pixels to draw on (modified)
 * @param {Uint8Array} values 0..255 per pixel
 * @param {Uint8ClampedArray} colormap from buildColormap
 * @param {number} opacity 0..1
 * @returns {Uint8ClampedArray} rgba
 */
export function blendHeatmap(rgba, values, colormap, opacity) {
  const a = Math.min(1, Math.max(0, opacity));
  for (let i = 0, p = 0; i < values.length; i += 1, p += 4) {
    const w = (a * values[i]) / 255;
    if (w === 0) continue;
    const c = values[i] * 3;
    rgba[p] = rgba[p] + (colormap[c] - rgba[p]) * w;
    rgba[p + 1] = rgba[p + 1] + (colormap[c + 1] - rgba[p + 1]) * w;
    rgba[p + 2] = rgba[p + 2] + (colormap[c + 2] - rgba[p + 2]) * w;
  }
  return rgba;
}
