/**
 * The most objects and arrays a review may hold, and how deep. JSON.parse
 * turns 3 MiB of `[{},{},…]` into a million objects, some 170 MiB resident:
 * more than the webhook's 128 Mi container, from one pod author. A real pod
 * holds a few thousand at most, nested a dozen deep.
 */
export const MAX_JSON_STRUCTURES = 100_000;
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * Why `text` is too costly to parse (too many objects and arrays, or nested
 * too deep), or undefined. One pass over the characters, before any is turned
 * into an object; malformed JSON is left for JSON.parse to refuse.
 */
export const jsonShapeProblem = (text: string): string | undefined => {
  let structures = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      structures++;
      depth++;
      if (structures > MAX_JSON_STRUCTURES) {
        return `the review holds more than ${MAX_JSON_STRUCTURES} objects and arrays`;
      }
      if (depth > MAX_JSON_DEPTH)
        return `the review nests objects and arrays more than ${MAX_JSON_DEPTH} deep`;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return undefined;
};
