/**
 * Hash routing: "#/upload", "#/cases", "#/cases/<id>", "#/models". Each view mounts into the outlet and
 * returns a cleanup that the router calls before the next view mounts.
 */

/**
 * Match a hash against route patterns.
 * @param {string} hash e.g. "#/cases/abc?offset=20"
 * @param {Array<{pattern: RegExp, names?: string[]}>} routes
 * @returns {{route: object, params: Record<string, string>, query: URLSearchParams}|null}
 */
export function matchRoute(hash, routes) {
  const [path, search = ""] = hash.replace(/^#/, "").split("?");
  for (const route of routes) {
    const match = route.pattern.exec(path || "/");
    if (!match) continue;
    const params = Object.fromEntries(
      (route.names ?? []).map((name, i) => [name, decodeURIComponent(match[i + 1])]),
    );
    return { route, params, query: new URLSearchParams(search) };
  }
  return null;
}

export class Router {
  /**
   * @param {{routes: Array<{pattern: RegExp, names?: string[], title: string, nav?: string,
   *           mount: (outlet: HTMLElement, context: object) => () => void}>, outlet: HTMLElement,
   *           fallback: string, onRoute?: (route: object) => void, context?: object}} options
   *   context: given to every view beside the route's own (e.g. the server's config)
   */
  constructor({ routes, outlet, fallback, onRoute, context = {} }) {
    this.routes = routes;
    this.context = context;
    this.outlet = outlet;
    this.fallback = fallback;
    this.onRoute = onRoute ?? (() => {});
    this.cleanup = () => {};
    this.navigate = this.navigate.bind(this);
  }

  start() {
    window.addEventListener("hashchange", () => this.resolve());
    this.resolve();
  }

  navigate(hash) {
    if (window.location.hash === hash) this.resolve();
    else window.location.hash = hash;
  }

  resolve() {
    const found = matchRoute(window.location.hash, this.routes);
    if (!found) {
      window.location.replace(this.fallback);
      return;
    }
    this.cleanup();
    this.cleanup =
      found.route.mount(this.outlet, { ...this.context, ...found, navigate: this.navigate }) ?? (() => {});
    document.title = `${found.route.title} · BrainMets`;
    this.onRoute(found.route);
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    this.outlet.querySelector("h1")?.focus({ preventScroll: true });
  }
}
