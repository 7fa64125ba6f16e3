import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  FIXED_OVERLAYS,
  OUTLINE_BOOST,
  comparisonLayers,
  composePanels,
} from "../../../web/js/render/compose.js";
import { RGB } from "../../../web/js/render/palette.js";
import { FULL_WINDOW } from "../../../web/js/render/windowing.js";
import { ATTENTION, MODELS, UNETPP } from "./fixtures.mjs";

const compose = (images, settings) => composePanels(images, settings, MODELS);

// A 3x1 image: pixel 0 only in U-Net++'s mask, pixel 1 in both, pixel 2 in neither.
const images = {
  width: 3,
  height: 1,
  grey: new Uint8Array([100, 100, 100]),
  groundTruth: new Uint8Array([0, 1, 0]),
  masks: { unetpp: new Uint8Array([1, 1, 0]), attention_unet: new Uint8Array([0, 1, 0]) },
  attention: new Uint8Array([0, 0, 255]),
};
const settings = { overlay: "none", opacity: 1, style: "fill", ...FULL_WINDOW, heatmap: false };

const rgb = (rgba, i) => [rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]];

describe("composePanels", () => {
  test("the original shows the windowed MRI alone by default", () => {
    const out = compose(images, settings);
    assert.deepEqual(
      [0, 1, 2].map((i) => rgb(out.original, i)),
      [
        [100, 100, 100],
        [100, 100, 100],
        [100, 100, 100],
      ],
    );
  });

  test("each mask panel colours its own mask", () => {
    const out = compose(images, settings);
    assert.deepEqual(rgb(out.unetpp, 0), UNETPP.rgb);
    assert.deepEqual(rgb(out.attention_unet, 0), [100, 100, 100]);
    assert.deepEqual(rgb(out.attention_unet, 1), ATTENTION.rgb);
    assert.deepEqual(rgb(out.groundTruth, 1), RGB.groundTruth);
  });

  test("toggling the overlay changes what the original shows", () => {
    const unetpp = compose(images, { ...settings, overlay: "unetpp" });
    const attention = compose(images, { ...settings, overlay: "attention_unet" });
    assert.deepEqual(rgb(unetpp.original, 0), UNETPP.rgb);
    assert.deepEqual(rgb(attention.original, 0), [100, 100, 100]);
  });

  test("the difference view colours only-A, both and neither", () => {
    const out = compose(images, { ...settings, overlay: "difference" });
    assert.deepEqual(rgb(out.original, 0), UNETPP.rgb);
    assert.deepEqual(rgb(out.original, 1), RGB.agreement);
    assert.deepEqual(rgb(out.original, 2), [100, 100, 100]);
  });

  test("the window applies to every panel", () => {
    const out = compose(images, { ...settings, level: 50, width: 20 });
    assert.deepEqual(rgb(out.original, 2), [255, 255, 255]);
    assert.deepEqual(rgb(out.unetpp, 2), [255, 255, 255]);
  });

  test("the heat map tints the Attention U-Net panel only where attention is high", () => {
    const out = compose(images, { ...settings, heatmap: true });
    assert.notDeepEqual(rgb(out.attention_unet, 2), [100, 100, 100]);
    assert.deepEqual(rgb(out.unetpp, 2), [100, 100, 100]);
    assert.deepEqual(rgb(out.attention_unet, 0), [100, 100, 100]);
  });

  test("masks not loaded yet and a missing ground truth leave plain panels", () => {
    const waiting = { ...images, groundTruth: null, masks: { unetpp: null, attention_unet: null } };
    const out = compose(waiting, { ...settings, overlay: "difference" });
    assert.equal(out.groundTruth, null);
    assert.deepEqual(rgb(out.unetpp, 0), [100, 100, 100]);
    assert.deepEqual(rgb(out.original, 0), [100, 100, 100]);
  });
});

describe("comparisonLayers", () => {
  test("knows every overlay choice and refuses others", () => {
    for (const overlay of [...FIXED_OVERLAYS, ...MODELS.map((m) => m.name)]) {
      assert.ok(Array.isArray(comparisonLayers(overlay, images.masks, MODELS)));
    }
    assert.throws(() => comparisonLayers("ground-truth", images.masks, MODELS), /unknown overlay/);
  });

  test("both draws two layers, Attention U-Net on top", () => {
    const layers = comparisonLayers("both", images.masks, MODELS);
    assert.equal(layers.length, 2);
    assert.deepEqual(layers[1].palette[1], ATTENTION.rgb);
  });
});

describe("outline opacity", () => {
  test("outlines are drawn stronger than fills at the same setting, up to opaque", () => {
    const single = { ...images, width: 1, height: 1, grey: new Uint8Array([0]), groundTruth: null };
    single.masks = { unetpp: new Uint8Array([1]), attention_unet: null };
    const fill = compose(single, { ...settings, opacity: 0.25 });
    const edge = compose(single, { ...settings, opacity: 0.25, style: "outline" });
    assert.equal(fill.unetpp[0], Math.round(UNETPP.rgb[0] * 0.25));
    assert.equal(edge.unetpp[0], Math.round(UNETPP.rgb[0] * 0.25 * OUTLINE_BOOST));
    const opaque = compose(single, { ...settings, opacity: 0.9, style: "outline" });
    assert.deepEqual(rgb(opaque.unetpp, 0), UNETPP.rgb);
  });
});

describe("probability view", () => {
  const soft = {
    ...images,
    probability: { unetpp: new Uint8Array([255, 255, 0]), attention_unet: new Uint8Array([0, 128, 0]) },
  };

  test("model panels show probability as heat with the mask's contour on top", () => {
    const out = compose(soft, { ...settings, probability: true, opacity: 0.5 });
    // Pixel 2: outside the mask and zero probability, so untouched.
    assert.deepEqual(rgb(out.unetpp, 2), [100, 100, 100]);
    // Pixels 0 and 1 are U-Net++'s mask; on a 3x1 image every mask pixel is on its contour.
    assert.deepEqual(rgb(out.unetpp, 0), UNETPP.rgb);
    // Attention U-Net's pixel 0 is outside its mask with zero probability.
    assert.deepEqual(rgb(out.attention_unet, 0), [100, 100, 100]);
  });

  test("falls back on the mask until the probability map has loaded", () => {
    const masks = compose(images, { ...settings, probability: true });
    const plain = compose(images, settings);
    assert.deepEqual([...masks.unetpp], [...plain.unetpp]);
  });

  test("the heat follows the probability", () => {
    const wide = {
      width: 2,
      height: 1,
      grey: new Uint8Array([100, 100]),
      groundTruth: null,
      masks: { unetpp: new Uint8Array([0, 0]), attention_unet: null },
      attention: null,
      probability: { unetpp: new Uint8Array([40, 220]) },
    };
    const out = compose(wide, { ...settings, probability: true, opacity: 1 });
    const brightness = (i) => rgb(out.unetpp, i).reduce((a, b) => a + b, 0);
    assert.notDeepEqual(rgb(out.unetpp, 1), [100, 100, 100]);
    assert.ok(brightness(1) > brightness(0));
  });
});

describe("a third model from the server", () => {
  const third = {
    ...UNETPP,
    name: "swin_unetr",
    label: "Swin UNETR",
    colour: "#c4b5fd",
    rgb: [196, 181, 253],
  };
  const three = [...MODELS, third];
  const withThird = { ...images, masks: { ...images.masks, swin_unetr: new Uint8Array([0, 0, 1]) } };

  test("gets its own panel and overlay, and joins 'all'", () => {
    const out = composePanels(withThird, { ...settings, overlay: "swin_unetr" }, three);
    assert.deepEqual(rgb(out.swin_unetr, 2), third.rgb);
    assert.deepEqual(rgb(out.original, 2), third.rgb);
    assert.equal(comparisonLayers("both", withThird.masks, three).length, 3);
  });

  test("the difference still compares the first two", () => {
    const out = composePanels(withThird, { ...settings, overlay: "difference" }, three);
    assert.deepEqual(rgb(out.original, 0), UNETPP.rgb);
    assert.deepEqual(rgb(out.original, 2), [100, 100, 100]);
  });
});
