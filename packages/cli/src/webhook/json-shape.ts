/**
 * The most objects and arrays a review may hold, and how deep. JSON.parse
 * turns 3 MiB of `[{},{},…]` into a million objects, some 170 MiB resident:
 * more than the webhook's 128 Mi container, from one pod author. A real pod
 * holds a few thousand at most, nested a dozen deep.
 */
export const MAX_JSON_STRUCTURES = 100_000;
export const MAX_JSON_DEPTH = 100;
/**
 * The most object members, and distinct member names, a review may hold.
 * JSON.parse spends on each new name (a string to internalize, a hidden class
 * to make) and on each member of a large object (a dictionary): 2.9 MiB of
 * one object of 340 000 names took 1 s and 126 MiB, 3 400 objects of 100
 * names each, none repeated, 3–4 s. A pod repeats a few hundred names (its
 * fields, its annotations' keys); its members run to a few thousand.
 */
export const MAX_JSON_MEMBERS = 200_000;
export const MAX_JSON_NAMES = 10_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * Why `text` is too costly to parse (too many objects and arrays, members or
 * member names, or nested too deep), or undefined. One pass over the
 * characters, before any is turned into an object; malformed JSON is left for
 * JSON.parse to refuse.
 */
export const jsonShapeProblem = (text: string): string | undefined => {
  let structures = 0;
  let depth = 0;
  let members = 0;
  const names = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      // Unterminated: malformed, which JSON.parse refuses.
      if (end === -1) return undefined;
      if (isName(text, end)) {
        if (++members > MAX_JSON_MEMBERS)
          return `the review holds more than ${MAX_JSON_MEMBERS} object members`;
        // As written, escapes and all: two spellings of one name count twice, which errs on the safe side.
        names.add(text.slice(i + 1, end));
        if (names.size > MAX_JSON_NAMES) {
          return `the review holds more than ${MAX_JSON_NAMES} distinct member names`;
        }
      }
      i = end;
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

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

/** Whether the string closing at `end` is a member's name: a colon follows it. */
const isName = (text: string, end: number): boolean => {
  let i = end + 1;
  let c = text.charCodeAt(i);
  while (c === SPACE || c === TAB || c === LF || c === CR) c = text.charCodeAt(++i);
  return c === COLON;
};

/**
 * The index of the quote that closes the string opening at `start`, or -1.
 * Strings are most of a review's bytes: indexOf skips them at native speed.
 */
const stringEnd = (text: string, start: number): number => {
  let quote = start;
  for (;;) {
    quote = text.indexOf('"', quote + 1);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
};
