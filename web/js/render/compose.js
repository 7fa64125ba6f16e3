/**
 * What each panel of a case shows (the original, the ground truth, one per model), as RGBA pixels, given the
 * loaded images, the reader's settings and the models in the server's order. Pure: the case view calls it and
 * only puts the result on canvases.
 */
import { comparedPair } from "../lineup.js";
import { differenceLabels } from "./difference.js";
import { blendHeatmap, buildColormap } from "./heatmap.js";
import { compositeLayers } from "./overlay.js";
import { RGB, differencePalette } from "./palette.js";
import { applyWindow, buildWindowLut } from "./windowing.js";

/** Overlay choices that are not a single model. */
export const FIXED_OVERLAYS = Object.freeze(["none", "both", "difference"]);

const HEAT = buildColormap();
export const OUTLINE_BOOST = 1.8;

/**
 * @typedef {object} CaseImages
 * @property {number} width
 * @property {number} height
 * @property {Uint8Array} grey the MRI, one byte per pixel
 * @property {Uint8Array|null} groundTruth 0/1 mask
 * @property {Record<string, Uint8Array|null>} masks 0/1 mask per model name, null until ready
 * @property {Uint8Array|null} attention attention coefficients 0..255
 * @property {Record<string, Uint8Array|null>} [probability] lesion probability 0..255 per model, once loaded
 *
 * @typedef {object} ViewSettings
 * @property {string} overlay drawn on the original MRI: "none", a model's name, "both" or "difference"
 * @property {number} opacity 0..1
 * @property {"fill"|"outline"} style
 * @property {number} level window centre
 * @property {number} width window width
 * @property {boolean} heatmap attention heat map on the panels of models that give one
 * @property {boolean} [probability] model panels show each model's probability as heat, with the mask's contour
 */

function single(mask, colour) {
  return { labels: mask, palette: { 1: colour } };
}

/**
 * The layers drawn on the original MRI for an overlay choice.
 * @param {string} overlay
 * @param {Record<string, Uint8Array|null>} masks
 * @param {import("../lineup.js").ModelView[]} models
 * @returns {Array<{labels: Uint8Array, palette: object}>}
 */
export function comparisonLayers(overlay, masks, models) {
  const model = models.find((m) => m.name === overlay);
  if (model) return masks[model.name] ? [single(masks[model.name], model.rgb)] : [];
  switch (overlay) {
    case "both":
      return models.filter((m) => masks[m.name]).map((m) => single(masks[m.name], m.rgb));
    case "difference": {
      const pair = comparedPair(models);
      const [a, b] = pair ? pair.map((m) => masks[m.name]) : [];
      return a && b
        ? [{ labels: differenceLabels(a, b), palette: differencePalette(pair[0].rgb, pair[1].rgb) }]
        : [];
    }
    case "none":
      return [];
    default: {
      const known = [...FIXED_OVERLAYS, ...models.map((m) => m.name)];
      throw new Error(`unknown overlay ${overlay}; expected one of ${known.join(", ")}`);
    }
  }
}

/**
 * @param {CaseImages} images
 * @param {ViewSettings} settings
 * @param {import("../lineup.js").ModelView[]} models
 * @returns {Record<string, Uint8ClampedArray|null>} RGBA per panel: original, groundTruth (null without one),
 *   and one per model name
 */
export function composePanels(images, settings, models) {
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
  const modelPanel = (model) => {
    const source = model.attentionMap ? attentionBase : base;
    const mask = images.masks[model.name];
    const probability = images.probability?.[model.name];
    const contour = mask ? [single(mask, model.rgb)] : [];
    if (!settings.probability || !probability) return draw(contour, source);
    const heat = blendHeatmap(new Uint8ClampedArray(source), probability, HEAT, settings.opacity);
    return compositeLayers(heat, width, height, contour, { opacity: 1, style: "outline" });
  };
  return {
    original: draw(comparisonLayers(settings.overlay, images.masks, models)),
    groundTruth: images.groundTruth ? draw([single(images.groundTruth, RGB.groundTruth)]) : null,
    ...Object.fromEntries(models.map((model) => [model.name, modelPanel(model)])),
  };
}
