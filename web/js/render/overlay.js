/**
 * Masks drawn over an image: filled or as an outline, with an opacity. Pure functions, no DOM.
 *
 * A mask is a Uint8Array with one byte per pixel (non-zero = inside). A label map is the same with small
 * integers naming classes; a palette maps each label to an RGB colour.
 */

/**
 * @param {string} hex "#rrggbb"
 * @returns {[number, number, number]}
 */
export function parseHexColor(hex) {
  const match = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!match) throw new Error(`expected a colour like #12abef, got ${hex}`);
  const n = Number.parseInt(match[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * A binary mask from the RGBA pixels of a mask image (0 = outside, 255 = inside).
 * @param {Uint8ClampedArray|Uint8Array} rgba
 * @param {number} [threshold=128] a pixel is inside when its brightest channel reaches this and it is opaque
 * @returns {Uint8Array} 0 or 1 per pixel
 */
export function maskFromRgba(rgba, threshold = 128) {
  const n = rgba.length >> 2;
  const mask = new Uint8Array(n);
  for (let i = 0, p = 0; i < n; i += 1, p += 4) {
    const brightest = Math.max(rgba[p], rgba[p + 1], rgba[p + 2]);
    mask[i] = brightest >= threshold && rgba[p + 3] >= threshold ? 1 : 0;
  }
  return mask;
}

/**
 * The boundary of each labelled region: labelled pixels with a 4-neighbour of another label (or the edge).
 * @param {Uint8Array} labels
 * @param {number} width
 * @param {number} height
 * @returns {Uint8Array} the label where a pixel is on a boundary, else 0
 */
export function outline(labels, width, height) {
  const edge = new Uint8Array(labels.length);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = y * width + x;
      const label = labels[i];
      if (label === 0) continue;
      const onBorder =
        x === 0 ||
        y === 0 ||
        x === width - 1 ||
        y === height - 1 ||
        labels[i - 1] !== label ||
        labels[i + 1] !== label ||
        labels[i - width] !== label ||
        labels[i + width] !== label;
      if (onBorder) edge[i] = label;
    }
  }
  return edge;
}

/**
 * Number of non-zero pixels.
 * @param {Uint8Array} mask
 * @returns {number}
 */
export function countPixels(mask) {
  let n = 0;
  for (let i = 0; i < mask.length; i += 1) if (mask[i]) n += 1;
  return n;
}

/**
 * Blend a label map over RGBA pixels, in place.
 * @param {Uint8ClampedArray} rgba the pixels to draw on (modified)
 * @param {Uint8Array} labels one label per pixel; 0 is left untouched
 * @param {Record<number, [number, number, number]>} palette colour per label; labels without one are skipped
 * @param {number} opacity 0..1
 * @returns {Uint8ClampedArray} rgba
 */
export function blendLabels(rgba, labels, palette, opacity) {
  const a = Math.min(1, Math.max(0, opacity));
  if (a === 0) return rgba;
  for (let i = 0, p = 0; i < labels.length; i += 1, p += 4) {
    const colour = labels[i] ? palette[labels[i]] : undefined;
    if (!colour) continue;
    rgba[p] = rgba[p] + (colour[0] - rgba[p]) * a;
    rgba[p + 1] = rgba[p + 1] + (colour[1] - rgba[p + 1]) * a;
    rgba[p + 2] = rgba[p + 2] + (colour[2] - rgba[p + 2]) * a;
  }
  return rgba;
}

/**
 * A new RGBA image: the base with each layer drawn over it in order.
 * @param {Uint8ClampedArray} base RGBA pixels (not modified)
 * @param {number} width
 * @param {number} height
 * @param {Array<{labels: Uint8Array, palette: Record<number, [number, number, number]>}>} layers
 *   a binary mask is a label map with the single label 1
 * @param {{opacity: number, style: "fill" | "outline"}} options
 * @returns {Uint8ClampedArray}
 */
export function compositeLayers(base, width, height, layers, { opacity, style }) {
  if (style !== "fill" && style !== "outline") throw new Error(`style must be fill or outline, got ${style}`);
  const out = new Uint8ClampedArray(base);
  for (const layer of layers) {
    const labels = style === "outline" ? outline(layer.labels, width, height) : layer.labels;
    blendLabels(out, labels, layer.palette, opacity);
  }
  return out;
}
