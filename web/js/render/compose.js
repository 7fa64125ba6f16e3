/**
 * What each of the four panels of a case shows, as RGBA pixels, given the loaded images and the reader's
 * settings. Pure: the case view calls it and only puts the result on canvases.
 */
import { differenceLabels } from "./difference.js";
import { blendHeatmap, buildColormap } from "./heatmap.js";
import { compositeLayers } from "./overlay.js";
import { DIFFERENCE_PALETTE, RGB } from "./palette.js";
import { applyWindow, buildWindowLut } from "./windowing.js";

/** Overlay choices for the original-MRI panel. */
export const OVERLAYS = Object.freeze(["none", "unetpp", "attention_unet", "both", "difference"]);

const HEAT = buildColormap();
export const OUTLINE_BOOST = 1.8;

/**
 * @typedef {object} CaseImages
 * @property {number} width
 * @property {number} height
 * @property {Uint8Array} grey the MRI, one byte per pixel
 * @property {Uint8Array|null} groundTruth 0/1 mask
 * @property {{unetpp: Uint8Array|null, attention_unet: Uint8Array|null}} masks 0/1 masks, null until ready
 * @property {Uint8Array|null} attention attention coefficients 0..255
 * @property {{unetpp?: Uint8Array|null, attention_unet?: Uint8Array|null}} [probability] lesion probability
 *   0..255 per model, null until loaded
 *
 * @typedef {object} ViewSettings
 * @property {"none"|"unetpp"|"attention_unet"|"both"|"difference"} overlay drawn on the original MRI
 * @property {number} opacity 0..1
 * @property {"fill"|"outline"} style
 * @property {number} level window centre
 * @property {number} width window width
 * @property {boolean} heatmap attention heat map on the Attention U-Net panel
 * @property {boolean} [probability] model panels show each model's probability as heat, with the mask's contour
 */

function single(mask, colour) {
  return { labels: mask, palette: { 1: colour } };
}

/**
 * The layers drawn on the original MRI for an overlay choice.
 * @returns {Array<{labels: Uint8Array, palette: object}>}
 */
export function comparisonLayers(overlay, masks) {
  const { unetpp, attention_unet: attention } = masks;
  switch (overlay) {
    case "unetpp":
      return unetpp ? [single(unetpp, RGB.unetpp)] : [];
    case "attention_unet":
      return attention ? [single(attention, RGB.attention_unet)] : [];
    case "both":
      return [
        unetpp && single(unetpp, RGB.unetpp),
        attention && single(attention, RGB.attention_unet),
      ].filter(Boolean);
    case "difference":
      return unetpp && attention
        ? [{ labels: differenceLabels(unetpp, attention), palette: DIFFERENCE_PALETTE }]
        : [];
    case "none":
      return [];
    default:
      throw new Error(`unknown overlay ${overlay}; expected one of ${OVERLAYS.join(", ")}`);
  }
}

/**
 * @param {CaseImages} images
 * @param {ViewSettings} settings
 * @returns {{original: Uint8ClampedArray, groundTruth: Uint8ClampedArray|null,
 *            unetpp: Uint8ClampedArray, attention_unet: Uint8ClampedArray}} RGBA per panel
 */
export function composePanels(images, settings) {
  const { width, height } = images;
  const base = applyWindow(images.grey, buildWindowLut(settings.level, settings.width));
  // A one-pixel outline covers little of the image, so it is drawn stronger than a fill at the same setting.
  const opacity =
    settings.style === "outline" ? Math.min(1, settings.opacity * OUTLINE_BOOST) : settings.opacity;
  const options = { opacity, style: settings.style };
  const draw = (layers, source = base) => compositeLayers(source, width, height, layers, options);

  let attentionBase = base;
  if (settings.heatmap && images.attention) {
    attentionBase = blendHeatmap(new Uint8ClampedArray(base), images.attention, HEAT, settings.opacity);
  }
  /** A model's panel: its mask, or its probability as heat with the mask's contour on top. */
  const modelPanel = (model, source) => {
    const mask = images.masks[model];
    const probability = images.probability?.[model];
    if (!settings.probability || !probability) return draw(mask ? [single(mask, RGB[model])] : [], source);
    const heat = blendHeatmap(new Uint8ClampedArray(source), probability, HEAT, settings.opacity);
    const contour = mask ? [single(mask, RGB[model])] : [];
    return compositeLayers(heat, width, height, contour, { opacity: 1, style: "outline" });
  };
  return {
    original: draw(comparisonLayers(settings.overlay, images.masks)),
    groundTruth: images.groundTruth ? draw([single(images.groundTruth, RGB.groundTruth)]) : null,
    unetpp: modelPanel("unetpp", base),
    attention_unet: modelPanel("attention_unet", attentionBase),
  };
}
