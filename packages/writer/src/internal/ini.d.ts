// ini ships no types; this declares the part the specs use to show why the
// writer does not serialise with it (see ini-merge.ts).
declare module "ini" {
  export function parse(text: string): Record<string, unknown>;
  export function stringify(value: object, options?: { whitespace?: boolean; section?: string }): string;
}
