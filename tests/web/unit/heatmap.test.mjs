import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { INFERNO_STOPS, blendHeatmap, buildColormap } from "../../../web/js/render/heatmap.js";

describe("buildColormap", () => {
  test("starts and ends on the first and last stop", () => {
    const lut = buildColormap();
    assert.deepEqual([...lut.slice(0, 3)], INFERNO_STOPS[0][1]);
    assert.deepEqual([...lut.slice(255 * 3)], INFERNO_STOPS.at(-1)[1]);
  });

  test("interpolates linearly between two stops", () => {
    const lut = buildColormap([
      [0, [0, 0, 0]],
      [1, [255, 0, 0]],
    ]);
    assert.equal(lut[128 * 3], 128);
    assert.equal(lut[128 * 3 + 1], 0);
  });

  test("gets brighter overall from low to high values", () => {
    const lut = buildColormap();
    const brightness = (v) => lut[v * 3] + lut[v * 3 + 1] + lut[v * 3 + 2];
    assert.ok(brightness(0) < brightness(128) && brightness(128) < brightness(255));
  });
});

describe("blendHeatmap", () => {
  const lut = buildColormap([
    [0, [0, 0, 0]],
    [1, [255, 255, 255]],
  ]);

  test("zero attention leaves the pixel and full attention at opacity 1 paints the colour", () => {
    const rgba = new Uint8ClampedArray([50, 50, 50, 255, 50, 50, 50, 255]);
    blendHeatmap(rgba, new Uint8Array([0, 255]), lut, 1);
    assert.deepEqual([...rgba], [50, 50, 50, 255, 255, 255, 255, 255]);
  });

  test("opacity scales the weight", () => {
    const rgba = new Uint8ClampedArray([0, 0, 0, 255]);
    blendHeatmap(rgba, new Uint8Array([255]), lut, 0.5);
    assert.equal(rgba[0], 128);
  });
});
