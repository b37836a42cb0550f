/**
 * Line-preserving edits of AWS shared credentials and config files.
 *
 * The file is split into sections at `[header]` lines and only the target
 * section is touched: every other byte (other profiles, comments, ordering,
 * values with `;` or `#`, dotted names, line endings) is kept as it was. A
 * generic INI library cannot promise that: `ini` v5 drops comments, cuts values
 * at `;` and `#`, quotes any value containing `=` (a base64 session token) in a
 * way no AWS SDK unquotes, and nests `[a.b]` sections under `[a]`.
 */

interface Section {
  /**
   * The name between the brackets, exactly: botocore (configparser) and the JS
   * SDK read `[ default ]` as a section named " default ", not as the default
   * profile, so the writer neither writes into it nor removes it.
   */
  name: string;
  header: string;
  body: string[];
}

interface Document {
  preamble: string[];
  sections: Section[];
}

const HEADER = /^\s*\[([^\]]*)\]/;
/** `key = value` or `key: value`, as configparser (botocore) and v3 read them. */
const KEY_LINE = /^\s*([^\s=:[#;][^=:]*?)\s*[=:]/;
const CONTINUATION = /^[ \t]+\S/;

/**
 * The profile some SDK could take a section for, loosely: aws-sdk-go v1 trims
 * the name (`[ default ]` is its default profile), botocore splits `profile
 * "a"` and `profile  a` as a shell would. Those SDKs let the last such section
 * win, so the writer keeps its own section after every one of these.
 */
const looseName = (name: string): string => {
  const words = name.trim().split(/\s+/);
  if (words.length === 2 && words[0] === "profile")
    words[1] = (words[1] ?? "").replace(/^(["'])(.*)\1$/, "$2");
  return words.join(" ");
};

const parse = (text: string): Document => {
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  if (text === "") lines.length = 0;
  const doc: Document = { preamble: [], sections: [] };
  let body = doc.preamble;
  for (const line of lines) {
    const m = HEADER.exec(line);
    if (m) {
      const section: Section = { name: m[1] ?? "", header: line, body: [] };
      doc.sections.push(section);
      body = section.body;
    } else {
      body.push(line);
    }
  }
  return doc;
};

const serialise = (doc: Document): string => {
  const lines = [...doc.preamble];
  for (const s of doc.sections) lines.push(s.header, ...s.body);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
};

const isBlank = (line: string) => line.trim() === "";

/** Removes the lines setting any of `keys` (lower case), with their continuation lines. */
const withoutKeys = (body: readonly string[], keys: ReadonlySet<string>): string[] => {
  const kept: string[] = [];
  let dropping = false;
  for (const line of body) {
    if (dropping && CONTINUATION.test(line)) continue;
    dropping = false;
    const key = KEY_LINE.exec(line)?.[1];
    if (key !== undefined && keys.has(key.toLowerCase())) {
      dropping = true;
      continue;
    }
    kept.push(line);
  }
  return kept;
};

const splitTrailingBlanks = (body: readonly string[]): [string[], string[]] => {
  let end = body.length;
  while (end > 0 && isBlank(body[end - 1] ?? "")) end--;
  return [body.slice(0, end), body.slice(end)];
};

export interface UpsertOptions {
  /** Further keys (lower case) to remove from the section without writing them: stale companions. */
  remove?: ReadonlySet<string> | undefined;
  /** Drop every other line of the section, keeping only `entries`. */
  replaceSection?: boolean | undefined;
}

/**
 * Sets `entries` in section `target` (matched exactly, as botocore and the JS
 * SDK match it), replacing any earlier lines for the same keys
 * (case-insensitively, as botocore reads them) and keeping the section's other
 * lines. A missing section is appended; duplicate sections (which configparser
 * refuses) lose their copies of the keys, the first one gets them, and it is
 * moved after any section another SDK could read as the same profile (see
 * {@link looseName}), so that every SDK reads the keys written.
 */
export const upsertSection = (
  text: string,
  target: string,
  entries: ReadonlyArray<readonly [string, string]>,
  options: UpsertOptions = {},
): string => {
  const doc = parse(text);
  const name = target;
  const keys = new Set([...entries.map(([k]) => k.toLowerCase()), ...(options.remove ?? [])]);
  const lines = entries.map(([k, v]) => `${k} = ${v}`);
  const matches = doc.sections.filter((s) => s.name === name);
  if (matches.length === 0) {
    const last = doc.sections.at(-1)?.body ?? doc.preamble;
    if (last.length > 0 && !isBlank(last.at(-1) ?? "")) last.push("");
    doc.sections.push({ name, header: `[${target}]`, body: lines });
    return serialise(doc);
  }
  matches.forEach((section, i) => {
    const [content, blanks] = splitTrailingBlanks(section.body);
    const kept = options.replaceSection
      ? content.filter((l) => !KEY_LINE.test(l) && !CONTINUATION.test(l))
      : content;
    const filtered = withoutKeys(kept, keys);
    section.body = i === 0 ? [...filtered, ...lines, ...blanks] : [...filtered, ...blanks];
  });
  const ours = matches[0] as Section;
  if (options.replaceSection) {
    doc.sections = doc.sections.filter((s) => s === ours || s.name !== name);
  }
  const at = doc.sections.indexOf(ours);
  if (doc.sections.slice(at + 1).some((s) => looseName(s.name) === looseName(name))) {
    doc.sections.splice(at, 1);
    const last = doc.sections.at(-1)?.body ?? doc.preamble;
    if (last.length > 0 && !isBlank(last.at(-1) ?? "")) last.push("");
    const [content] = splitTrailingBlanks(ours.body);
    doc.sections.push({ ...ours, body: content });
  }
  return serialise(doc);
};

/** Removes every section named `target`. Returns undefined when there was none. */
export const removeSection = (text: string, target: string): string | undefined => {
  const doc = parse(text);
  const name = target;
  const before = doc.sections.length;
  doc.sections = doc.sections.filter((s) => s.name !== name);
  if (doc.sections.length === before) return undefined;
  const last = doc.sections.at(-1)?.body ?? doc.preamble;
  last.splice(0, last.length, ...splitTrailingBlanks(last)[0]);
  return serialise(doc);
};

/**
 * Reads sections and keys roughly as botocore does (later keys win, names as
 * written, continuation lines ignored). For checks and tests, not for SDK parity.
 */
export const readSections = (text: string): Map<string, Record<string, string>> => {
  const out = new Map<string, Record<string, string>>();
  for (const section of parse(text).sections) {
    const values = out.get(section.name) ?? {};
    for (const line of section.body) {
      if (CONTINUATION.test(line)) continue;
      const m = /^\s*([^\s=:[#;][^=:]*?)\s*[=:](.*)$/.exec(line);
      if (m?.[1] !== undefined) values[m[1]] = (m[2] ?? "").trim();
    }
    out.set(section.name, values);
  }
  return out;
};
