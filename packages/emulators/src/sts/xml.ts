import { el, renderXml, type XmlElement } from "../internal/xml.js";

/** The XML namespace of every STS query-protocol response. */
export const STS_XML_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

const render = (root: XmlElement): string => renderXml(root, "  ");
const xmlns = `xmlns="${STS_XML_NAMESPACE}"`;

/** `<{Action}Response xmlns=...><{Action}Result>…</…><ResponseMetadata><RequestId/>…`. */
export const successXml = (action: string, result: XmlElement[], requestId: string): string =>
  render(
    el(
      `${action}Response`,
      [el(`${action}Result`, result), el("ResponseMetadata", [el("RequestId", requestId)])],
      xmlns,
    ),
  );

/**
 * The STS error document. `Type` is `Receiver` for server faults (5xx) and
 * `Sender` otherwise, as STS reports it.
 */
export const errorXml = (code: string, message: string, status: number, requestId: string): string =>
  render(
    el(
      "ErrorResponse",
      [
        el("Error", [
          el("Type", status >= 500 ? "Receiver" : "Sender"),
          el("Code", code),
          el("Message", message),
        ]),
        el("RequestId", requestId),
      ],
      xmlns,
    ),
  );
