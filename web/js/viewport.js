/**
 * Zoom and pan shared by every panel of a case, so that all panels always show the same part of the image.
 *
 * A view is {zoom, u, v}: the zoom relative to "fit the image in the panel", and the image point shown at the
 * panel's centre as a fraction of the image's width and height. Keeping the view in image fractions lets
 * panels of different pixel sizes share it. The math is pure; SyncedViewport only adds listeners.
 */

export const MIN_ZOOM = 0.5;
export const MAX_ZOOM = 32;

/** @returns {{zoom: number, u: number, v: number}} the whole image, centred */
export function defaultView() {
  return { zoom: 1, u: 0.5, v: 0.5 };
}

/**
 * Where to draw the image on a canvas.
 * @param {{zoom: number, u: number, v: number}} view
 * @param {{width: number, height: number}} canvas size in canvas pixels
 * @param {{width: number, height: number}} image size in image pixels
 * @returns {{scale: number, offsetX: number, offsetY: number}} canvas = image * scale + offset
 */
export function viewTransform(view, canvas, image) {
  const fit = Math.min(canvas.width / image.width, canvas.height / image.height);
  const scale = fit * view.zoom;
  return {
    scale,
    offsetX: canvas.width / 2 - view.u * image.width * scale,
    offsetY: canvas.height / 2 - view.v * image.height * scale,
  };
}

/**
 * The image pixel under a canvas point.
 * @returns {{x: number, y: number}} fractional image coordinates (may lie outside the image)
 */
export function canvasToImage(view, canvas, image, px, py) {
  const t = viewTransform(view, canvas, image);
  return { x: (px - t.offsetX) / t.scale, y: (py - t.offsetY) / t.scale };
}

/**
 * Zoom by a factor keeping the image point under (px, py) in place.
 * @returns {{zoom: number, u: number, v: number}} a new view
 */
export function zoomAt(view, factor, px, py, canvas, image) {
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.zoom * factor));
  const anchor = canvasToImage(view, canvas, image, px, py);
  const fit = Math.min(canvas.width / image.width, canvas.height / image.height);
  const scale = fit * zoom;
  // Solve px = anchor.x * scale + offsetX' for the new centre.
  const offsetX = px - anchor.x * scale;
  const offsetY = py - anchor.y * scale;
  return {
    zoom,
    u: (canvas.width / 2 - offsetX) / scale / image.width,
    v: (canvas.height / 2 - offsetY) / scale / image.height,
  };
}

/**
 * Move the image by (dx, dy) canvas pixels.
 * @returns {{zoom: number, u: number, v: number}} a new view
 */
export function panBy(view, dx, dy, canvas, image) {
  const { scale } = viewTransform(view, canvas, image);
  return { zoom: view.zoom, u: view.u - dx / scale / image.width, v: view.v - dy / scale / image.height };
}

/** One view shared by many panels; each panel redraws when it changes. */
export class SyncedViewport {
  constructor() {
    this.view = defaultView();
    /** @type {Set<(view: {zoom: number, u: number, v: number}) => void>} */
    this.listeners = new Set();
  }

  /** @returns {() => void} unsubscribe */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(view) {
    this.view = view;
    for (const listener of this.listeners) listener(view);
  }

  reset() {
    this.set(defaultView());
  }

  zoomAt(factor, px, py, canvas, image) {
    this.set(zoomAt(this.view, factor, px, py, canvas, image));
  }

  panBy(dx, dy, canvas, image) {
    this.set(panBy(this.view, dx, dy, canvas, image));
  }
}
