import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  MAX_ZOOM,
  SyncedViewport,
  canvasToImage,
  defaultView,
  panBy,
  viewTransform,
  zoomAt,
} from "../../../web/js/viewport.js";

const canvas = { width: 400, height: 200 };
const image = { width: 100, height: 100 };

function near(actual, expected) {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}

describe("viewTransform", () => {
  test("the default view fits the image and centres it", () => {
    assert.deepEqual(viewTransform(defaultView(), canvas, image), { scale: 2, offsetX: 100, offsetY: 0 });
  });
});

describe("zoomAt", () => {
  test("keeps the image point under the cursor in place", () => {
    const before = canvasToImage(defaultView(), canvas, image, 150, 40);
    const view = zoomAt(defaultView(), 3, 150, 40, canvas, image);
    const after = canvasToImage(view, canvas, image, 150, 40);
    near(after.x, before.x);
    near(after.y, before.y);
    assert.equal(view.zoom, 3);
  });

  test("clamps the zoom", () => {
    assert.equal(zoomAt(defaultView(), 1000, 0, 0, canvas, image).zoom, MAX_ZOOM);
  });
});

describe("panBy", () => {
  test("moves the image by the given canvas pixels", () => {
    const view = panBy(defaultView(), 20, -10, canvas, image);
    const t = viewTransform(view, canvas, image);
    near(t.offsetX, 120);
    near(t.offsetY, -10);
  });
});

describe("SyncedViewport", () => {
  test("tells every subscriber and stops after unsubscribe", () => {
    const shared = new SyncedViewport();
    const seen = [];
    const stop = shared.subscribe((v) => seen.push(v.zoom));
    shared.zoomAt(2, 200, 100, canvas, image);
    stop();
    shared.reset();
    assert.deepEqual(seen, [2]);
    assert.deepEqual(shared.view, defaultView());
  });
});
