/**
 * One image panel of a case: a title bar, a canvas that shows RGBA pixels through the shared viewport, and a
 * message layer for "waiting", "failed" or "not available". Pointer input drives the shared viewport and the
 * window/level; the panel itself holds no reading state.
 */
import { h, oncePerFrame, replaceChildren } from "./dom.js";
import { canvasToImage, viewTransform } from "./viewport.js";
import { swatch } from "./swatch.js";

export class ImagePanel {
  /**
   * @param {{key: string, title: string, colour?: string, viewport: import("./viewport.js").SyncedViewport,
   *          onWindowDrag?: (dx: number, dy: number) => void, onHover?: (pixel: {x: number, y: number}|null) => void}}
   *        options
   */
  constructor({ key, title, colour, viewport, onWindowDrag, onHover }) {
    this.viewport = viewport;
    this.onWindowDrag = onWindowDrag ?? (() => {});
    this.onHover = onHover ?? (() => {});
    this.image = null;
    this.source = document.createElement("canvas");
    this.scheduleDraw = oncePerFrame(() => this.draw());

    this.status = h("span", { class: "panel-status" });
    this.message = h("div", { class: "panel-message", attrs: { "aria-live": "polite" } });
    this.canvas = h("canvas", {
      class: "panel-canvas",
      attrs: { role: "img", "aria-label": title, tabindex: "-1" },
      dataset: { panel: key },
    });
    this.element = h(
      "figure",
      { class: "panel", dataset: { panel: key } },
      h(
        "figcaption",
        { class: "panel-title" },
        colour ? swatch(colour) : null,
        h("span", { class: "panel-name", text: title }),
        this.status,
      ),
      h("div", { class: "panel-stage" }, this.canvas, this.message),
    );

    this.unsubscribe = viewport.subscribe(() => this.scheduleDraw());
    this.resizeObserver = new ResizeObserver(() => this.scheduleDraw());
    this.resizeObserver.observe(this.canvas);
    this.bindPointer();
  }

  /** Show pixels (RGBA, the image's size) now; the caller already batches its updates per frame. */
  setPixels(rgba, width, height) {
    if (this.source.width !== width || this.source.height !== height) {
      this.source.width = width;
      this.source.height = height;
    }
    this.source.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
    this.image = { width, height };
    this.scheduleDraw.cancel();
    this.draw();
  }

  /** A short state next to the title (e.g. "running"), styled by kind. */
  setStatus(text, kind = "") {
    this.status.textContent = text;
    this.status.className = `panel-status ${kind}`.trim();
  }

  /** A message over the canvas; an empty string hides it. */
  setMessage(text, { busy = false } = {}) {
    replaceChildren(
      this.message,
      busy ? h("span", { class: "spinner", attrs: { "aria-hidden": "true" } }) : null,
      text,
    );
    this.message.hidden = !text;
    this.element.classList.toggle("is-waiting", Boolean(text));
  }

  draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const context = this.canvas.getContext("2d", { willReadFrequently: true });
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#000";
    context.fillRect(0, 0, width, height);
    if (!this.image) return;
    const t = viewTransform(this.viewport.view, { width, height }, this.image);
    // Show the acquired pixels as squares when magnified; smooth only when shrinking.
    context.imageSmoothingEnabled = t.scale < 1;
    context.setTransform(t.scale, 0, 0, t.scale, t.offsetX, t.offsetY);
    context.drawImage(this.source, 0, 0);
  }

  /** Canvas pixel size and pointer position in canvas pixels. */
  canvasPoint(event) {
    const rect = this.canvas.getBoundingClientRect();
    const ratio = this.canvas.width / Math.max(1, rect.width);
    return { x: (event.clientX - rect.left) * ratio, y: (event.clientY - rect.top) * ratio, ratio };
  }

  bindPointer() {
    let drag = null;
    // Active touch/pen/mouse pointers by id; two at once pinch-zoom about their midpoint.
    const pointers = new Map();
    let pinch = null;
    const size = () => ({ width: this.canvas.width, height: this.canvas.height });
    const spread = () => {
      const [a, b] = [...pointers.values()];
      return {
        distance: Math.hypot(a.x - b.x, a.y - b.y),
        x: (a.x + b.x) / 2,
        y: (a.y + b.y) / 2,
      };
    };
    this.canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    this.canvas.addEventListener("pointerdown", (event) => {
      if (!this.image) return;
      try {
        this.canvas.setPointerCapture(event.pointerId);
      } catch {
        // A pointer the browser no longer tracks (or a synthetic one): dragging still works inside the panel.
      }
      pointers.set(event.pointerId, this.canvasPoint(event));
      if (pointers.size === 2) {
        drag = null;
        pinch = spread();
        return;
      }
      const windowing = event.button === 2 || event.shiftKey;
      drag = { x: event.clientX, y: event.clientY, windowing };
      this.canvas.classList.add(windowing ? "is-windowing" : "is-panning");
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (!this.image) return;
      const point = this.canvasPoint(event);
      if (pinch && pointers.has(event.pointerId)) {
        pointers.set(event.pointerId, point);
        const now = spread();
        this.viewport.panBy(now.x - pinch.x, now.y - pinch.y, size(), this.image);
        if (pinch.distance > 0)
          this.viewport.zoomAt(now.distance / pinch.distance, now.x, now.y, size(), this.image);
        pinch = now;
        return;
      }
      if (drag) {
        const dx = event.clientX - drag.x;
        const dy = event.clientY - drag.y;
        drag.x = event.clientX;
        drag.y = event.clientY;
        if (drag.windowing) this.onWindowDrag(dx, dy);
        else this.viewport.panBy(dx * point.ratio, dy * point.ratio, size(), this.image);
      }
      const pixel = canvasToImage(this.viewport.view, size(), this.image, point.x, point.y);
      const inside =
        pixel.x >= 0 && pixel.y >= 0 && pixel.x < this.image.width && pixel.y < this.image.height;
      this.onHover(inside ? { x: Math.floor(pixel.x), y: Math.floor(pixel.y) } : null);
    });
    const endDrag = (event) => {
      pointers.delete(event.pointerId);
      if (pointers.size < 2) pinch = null;
      drag = null;
      this.canvas.classList.remove("is-windowing", "is-panning");
    };
    this.canvas.addEventListener("pointerup", endDrag);
    this.canvas.addEventListener("pointercancel", endDrag);
    this.canvas.addEventListener("pointerleave", () => this.onHover(null));
    this.canvas.addEventListener(
      "wheel",
      (event) => {
        if (!this.image) return;
        event.preventDefault();
        const point = this.canvasPoint(event);
        this.viewport.zoomAt(Math.exp(-event.deltaY * 0.0015), point.x, point.y, size(), this.image);
      },
      { passive: false },
    );
    this.canvas.addEventListener("dblclick", () => this.viewport.reset());
  }

  destroy() {
    this.scheduleDraw.cancel();
    this.unsubscribe();
    this.resizeObserver.disconnect();
  }
}
