/** C0 and C1 controls, DEL, and the two Unicode line breaks: what can end a line or drive a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * `text` with every control character written as an escape (`\n`, `\u001b`): a name or a value
 * from the environment or the command line, put in a plain-text line, can neither start a line
 * of its own (a forged log entry) nor send escape sequences to the terminal.
 */
export const printable = (text: string): string =>
  text.replace(CONTROL, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
