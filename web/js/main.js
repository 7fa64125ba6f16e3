/**
 * Entry point: wires the views to the router, keeps the navigation's current link marked, and shows who is
 * signed in (when the server requires it).
 */
import { getSession, onUnauthorized, signOut } from "./api.js";
import { Router } from "./router.js";
import { mountCase } from "./views/case.js";
import { mountCases } from "./views/cases.js";
import { mountModels } from "./views/models.js";
import { mountSignIn } from "./views/sign-in.js";
import { mountUpload } from "./views/upload.js";
import { mountVolume } from "./views/volume.js";

const account = document.getElementById("account");
const accountName = document.getElementById("account-name");

function showAccount(me) {
  account.hidden = !me?.name;
  accountName.textContent = me?.name ?? "";
}

const routes = [
  { pattern: /^\/upload$/, title: "New scan", nav: "upload", mount: mountUpload },
  { pattern: /^\/cases$/, title: "Cases", nav: "cases", mount: mountCases },
  { pattern: /^\/cases\/([^/]+)$/, names: ["id"], title: "Case", nav: "cases", mount: mountCase },
  { pattern: /^\/volumes\/([^/]+)$/, names: ["id"], title: "Volume", nav: "cases", mount: mountVolume },
  { pattern: /^\/models$/, title: "Models", nav: "models", mount: mountModels },
  {
    pattern: /^\/sign-in$/,
    title: "Sign in",
    nav: null,
    mount: (outlet, context) => mountSignIn(outlet, { ...context, onSignedIn: showAccount }),
  },
];

const router = new Router({
  routes,
  outlet: document.getElementById("main"),
  fallback: "#/upload",
  onRoute(route) {
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === route.nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  },
});

function toSignIn() {
  showAccount(null);
  if (!window.location.hash.startsWith("#/sign-in")) {
    router.navigate(`#/sign-in?next=${encodeURIComponent(window.location.hash || "#/cases")}`);
  }
}

onUnauthorized(toSignIn);
document.getElementById("sign-out").addEventListener("click", async () => {
  await signOut().catch(() => {});
  toSignIn();
});
router.start();
getSession()
  .then((me) => (me.auth_required && !me.name ? toSignIn() : showAccount(me)))
  .catch(() => showAccount(null));
