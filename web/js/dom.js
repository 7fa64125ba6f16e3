/**
 * Building DOM nodes without innerHTML: every piece of data goes in as text.
 */

/**
 * Create an element.
 * @param {string} tag
 * @param {{class?: string, text?: string, attrs?: Record<string, string|number|boolean|null|undefined>,
 *          dataset?: Record<string, string>, style?: Record<string, string>, on?: Record<string, EventListener>}}
 *        [props] `style` goes through the CSSOM (allowed by a Content Security Policy, unlike style attributes)
 * @param {...(Node|string|number|null|undefined|false|Array)} children strings become text nodes
 * @returns {HTMLElement}
 * @example h("button", {class: "primary", on: {click: save}}, "Save")
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = String(props.text);
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [name, value] of Object.entries(props.dataset ?? {})) node.dataset[name] = value;
  for (const [name, value] of Object.entries(props.style ?? {})) node.style.setProperty(name, value);
  for (const [event, listener] of Object.entries(props.on ?? {})) node.addEventListener(event, listener);
  append(node, children);
  return node;
}

/** Append children (nodes, strings, nested arrays; null/false skipped). */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/**
 * A function that runs `work` once in the next animation frame however often it is called before then (one draw
 * per frame); its `cancel()` drops a pending run.
 * @param {() => void} work
 * @returns {(() => void) & {cancel: () => void}}
 */
export function oncePerFrame(work) {
  let frame = 0;
  const schedule = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      work();
    });
  };
  schedule.cancel = () => {
    cancelAnimationFrame(frame);
    frame = 0;
  };
  return schedule;
}

/** Replace all children of a node. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}
