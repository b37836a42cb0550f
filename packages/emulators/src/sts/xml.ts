/** The XML namespace of every STS query-protocol response. */
export const STS_XML_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A tree of elements: a string is text, a list keeps repeated or ordered children. */
export type XmlNode = string | number | XmlElement[];
export interface XmlElement {
  name: string;
  value: XmlNode;
}

export const el = (name: string, value: XmlNode): XmlElement => ({ name, value });

/** Drops children whose value is undefined, so optional members are simply absent. */
export const children = (...items: Array<XmlElement | undefined>): XmlElement[] =>
  items.filter((i): i is XmlElement => i !== undefined);

const render = (node: XmlElement, depth: number): string => {
  const pad = "  ".repeat(depth);
  if (!Array.isArray(node.value))
    return `${pad}<${node.name}>${escapeXml(String(node.value))}</${node.name}>\n`;
  const inner = node.value.map((c) => render(c, depth + 1)).join("");
  return `${pad}<${node.name}>\n${inner}${pad}</${node.name}>\n`;
};

/** `<{Action}Response xmlns=...><{Action}Result>…</…><ResponseMetadata><RequestId/>…`. */
export const successXml = (action: string, result: XmlElement[], requestId: string): string => {
  const body = [el(`${action}Result`, result), el("ResponseMetadata", [el("RequestId", requestId)])]
    .map((c) => render(c, 1))
    .join("");
  return `<${action}Response xmlns="${STS_XML_NAMESPACE}">\n${body}</${action}Response>\n`;
};

/**
 * The STS error document. `Type` is `Receiver` for server faults (5xx) and
 * `Sender` otherwise, as STS reports it.
 */
export const errorXml = (code: string, message: string, status: number, requestId: string): string => {
  const error = el("Error", [
    el("Type", status >= 500 ? "Receiver" : "Sender"),
    el("Code", code),
    el("Message", message),
  ]);
  return `<ErrorResponse xmlns="${STS_XML_NAMESPACE}">\n${render(error, 1)}${render(el("RequestId", requestId), 1)}</ErrorResponse>\n`;
};
