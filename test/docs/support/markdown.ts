/**
 * The text of a Markdown section: from the heading whose text is `title` (any
 * level) to the next heading of the same or a higher level. Throws when absent,
 * so a renamed heading fails the test that reads it.
 */
export const markdownSection = (markdown: string, title: string): string => {
  const lines = markdown.split("\n");
  let fence = false;
  let start = -1;
  let level = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const heading = /^(#{1,6}) (.*)$/.exec(line);
    if (!heading) continue;
    if (start === -1) {
      if (heading[2]!.trim() === title) {
        start = i;
        level = heading[1]!.length;
      }
    } else if (heading[1]!.length <= level) {
      return lines.slice(start, i).join("\n");
    }
  }
  if (start === -1) throw new Error(`no section "${title}"`);
  return lines.slice(start).join("\n");
};

/** The bodies of the fenced code blocks of `language` in `markdown`, in order. */
export const fencedBlocks = (markdown: string, language: string): string[] =>
  [...markdown.matchAll(/^```([\w-]*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === language)
    .map((m) => m[2]!);
