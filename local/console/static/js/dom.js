// Building the page's elements: a tag, its attributes and its children (text is always text, never HTML).

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// A time the API gave (ISO 8601, UTC) as a <time>, shown to the second.
export function timeElement(iso) {
  if (!iso) return "—";
  return element("time", { datetime: iso }, iso.replace("T", " ").replace(/\.\d+/, ""));
}
