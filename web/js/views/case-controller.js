/**
 * The case view's controller: keeps the scan, the loaded images and the reader's settings; fetches the scan,
 * follows it live and loads its images; turns changes into one render per animation frame. It builds no DOM: it
 * tells a view (see CaseView) what to show, and the pure rules live in case-state.js.
 */
import { getScan, isSettled, scanUrls, watchScan } from "../api.js";
import { oncePerFrame } from "../dom.js";
import { comparedPair } from "../lineup.js";
import { differenceLabels, differenceSummary } from "../render/difference.js";
import { composePanels } from "../render/compose.js";
import { loadPixels } from "../render/image.js";
import { maskFromRgba } from "../render/overlay.js";
import { autoWindow, FULL_WINDOW, greyFromRgba } from "../render/windowing.js";
import { legendEntries, readoutText } from "./case-legend.js";
import {
  announcement,
  assetName,
  assetsToFetch,
  clampLevel,
  clampWidth,
  initialSettings,
  isReady,
  nextSettings,
  stepOpacity,
} from "./case-state.js";

/**
 * @typedef {object} CaseView what the controller asks the page to show
 * @property {(scan: object) => void} showScan header, chips and each model panel's status
 * @property {(text: string) => void} announce to screen readers
 * @property {(kind: "image"|"groundTruth") => void} loaded the panel's loading message goes
 * @property {(pixels: Record<string, Uint8ClampedArray|null>, width: number, height: number) => void} draw
 * @property {(entries: Array<[string|null, string]>) => void} legend
 * @property {(scan: object, agreement: {agreementDice: number}|null) => void} metrics
 * @property {(settings: object) => void} sync the controls
 * @property {(what: "probability"|"heatmap") => void} available a control that now has data
 * @property {(ready: boolean) => void} ready
 * @property {(message: string) => void} fail the scan cannot be shown
 * @property {(id: string) => void} openVolume the scan is a volume: show it in the volume view instead
 */

export class CaseController {
  /**
   * @param {{id: string, models: import("../lineup.js").ModelView[], view: CaseView}} options
   */
  constructor({ id, models, view }) {
    this.id = id;
    this.models = models;
    this.view = view;
    this.settings = initialSettings();
    /** @type {import("../render/compose.js").CaseImages|null} */
    this.images = null;
    this.scan = null;
    this.requested = new Set(); // assets already being fetched
    this.drawn = {}; // what the last render put on screen, for data-ready
    this.scheduleRender = oncePerFrame(() => this.render());
    this.abort = new AbortController();
    this.stopWatching = () => {};
    /** @type {import("../shortcuts.js").CaseActions} zoom, pan and fit are the view's (it owns the viewport) */
    this.actions = {
      setOverlay: (overlay) => this.update({ overlay }),
      toggleStyle: () => this.update({ style: this.settings.style === "fill" ? "outline" : "fill" }),
      nudgeOpacity: (delta) => this.update({ opacity: stepOpacity(this.settings.opacity, delta) }),
      toggleHeatmap: () => this.images?.attention && this.update({ heatmap: !this.settings.heatmap }),
      toggleProbability: () =>
        this.images?.probability && this.update({ probability: !this.settings.probability }),
      autoWindow: () => this.images && this.update(autoWindow(this.images.grey)),
      fullWindow: () => this.update({ ...FULL_WINDOW }),
    };
  }

  start() {
    this.view.sync(this.settings);
    getScan(this.id, this.abort.signal)
      .then((first) => {
        if (first.kind === "volume") return this.view.openVolume(first.id);
        this.showScan(first);
        if (!isSettled(first)) this.stopWatching = watchScan(this.id, (scan) => this.showScan(scan));
      })
      .catch((error) => {
        if (error.name !== "AbortError") this.view.fail(error.message);
      });
  }

  stop() {
    this.abort.abort();
    this.stopWatching();
    this.scheduleRender.cancel();
  }

  update(partial) {
    this.settings = nextSettings(this.settings, partial);
    this.view.sync(this.settings);
    this.scheduleRender();
  }

  /** A window drag: dx widens the window, dy raises the level. */
  dragWindow(dx, dy) {
    this.update({ width: clampWidth(this.settings.width + dx), level: clampLevel(this.settings.level + dy) });
  }

  readout(pixel) {
    return pixel && this.images ? readoutText(this.images, pixel, this.models) : " ";
  }

  showScan(next) {
    const previous = this.scan;
    this.scan = next;
    this.view.showScan(next);
    for (const model of this.models) {
      const text = announcement(model, previous?.results?.[model.name], next.results?.[model.name]);
      if (text) this.view.announce(text);
    }
    this.refreshMetrics();
    this.loadAssets();
    this.view.ready(isReady(this.scan, this.drawn, this.models));
  }

  render() {
    const images = this.images;
    if (!images) return;
    this.view.draw(composePanels(images, this.settings, this.models), images.width, images.height);
    this.drawn = {
      image: true,
      groundTruth: Boolean(images.groundTruth),
      ...Object.fromEntries(this.models.map((m) => [m.name, Boolean(images.masks[m.name])])),
    };
    this.view.legend(legendEntries(this.settings.overlay, images.masks, this.models));
    this.view.ready(isReady(this.scan, this.drawn, this.models));
  }

  refreshMetrics() {
    const pair = comparedPair(this.models);
    const [a, b] = pair && this.images ? pair.map((m) => this.images.masks[m.name]) : [];
    this.view.metrics(this.scan, a && b ? differenceSummary(differenceLabels(a, b)) : null);
  }

  loadAssets() {
    if (!this.scan) return;
    const urls = scanUrls(this.scan, this.models);
    for (const asset of assetsToFetch(this.scan, this.images, urls, this.models)) this.fetchOnce(asset);
  }

  async fetchOnce(asset) {
    if (this.requested.has(asset.key)) return;
    this.requested.add(asset.key);
    try {
      this.use(asset, await loadPixels(asset.url, this.abort.signal));
      this.scheduleRender();
    } catch (error) {
      if (error.name === "AbortError") return;
      this.requested.delete(asset.key); // let the next scan update retry it
      this.view.announce(`Could not load an image: ${error.message}`);
    }
  }

  /** Put a loaded picture where it belongs; one of another size than the slice is refused, and said so. */
  use(asset, picture) {
    if (asset.kind === "image") {
      this.images = {
        width: picture.width,
        height: picture.height,
        grey: greyFromRgba(picture.rgba),
        groundTruth: null,
        masks: Object.fromEntries(this.models.map((m) => [m.name, null])),
        attention: null,
      };
      this.view.loaded("image");
      this.loadAssets();
      return;
    }
    const images = this.images;
    const fits = picture.width === images.width && picture.height === images.height;
    if (!fits) {
      const size = `${picture.width}×${picture.height}, not ${images.width}×${images.height}`;
      this.view.announce(`The ${assetName(asset)} is ${size}; not shown.`);
    }
    if (asset.kind === "groundTruth") {
      if (fits) images.groundTruth = maskFromRgba(picture.rgba);
      this.view.loaded("groundTruth");
    } else if (asset.kind === "mask") {
      if (fits) images.masks[asset.model.name] = maskFromRgba(picture.rgba);
      this.refreshMetrics();
    } else if (fits && asset.kind === "probability") {
      images.probability = { ...images.probability, [asset.model.name]: greyFromRgba(picture.rgba) };
      this.view.available("probability");
    } else if (fits && asset.kind === "attention") {
      images.attention = greyFromRgba(picture.rgba);
      this.view.available("heatmap");
    }
  }
}
