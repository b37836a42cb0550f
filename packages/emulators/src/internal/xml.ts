const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A tree of elements: a string is text, a list keeps repeated or ordered children. */
export type XmlNode = string | number | XmlElement[];
export interface XmlElement {
  name: string;
  value: XmlNode;
  /** Written unescaped into the start tag, e.g. `xmlns="…"`. */
  attributes?: string;
}

export const el = (name: string, value: XmlNode, attributes?: string): XmlElement =>
  attributes === undefined ? { name, value } : { name, value, attributes };

/** Drops children whose value is undefined, so optional members are simply absent. */
export const children = (...items: Array<XmlElement | undefined>): XmlElement[] =>
  items.filter((i): i is XmlElement => i !== undefined);

/**
 * Writes an element tree. Each service keeps its own wire format: indented
 * one element a line (STS, `indent: "  "`), or all on one line (S3, the default).
 */
export const renderXml = (node: XmlElement, indent = "", depth = 0): string => {
  const pad = indent.repeat(depth);
  const nl = indent === "" ? "" : "\n";
  const open = node.attributes === undefined ? node.name : `${node.name} ${node.attributes}`;
  if (!Array.isArray(node.value))
    return `${pad}<${open}>${escapeXml(String(node.value))}</${node.name}>${nl}`;
  const inner = node.value.map((c) => renderXml(c, indent, depth + 1)).join("");
  return `${pad}<${open}>${nl}${inner}${pad}</${node.name}>${nl}`;
};
