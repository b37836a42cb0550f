/**
 * `value` cut to its first `max` characters, saying how long it was. For text
 * a client chose that goes into a denial or a log line: a pod author's
 * megabyte makes neither a megabyte long.
 */
export const clip = (value: string, max: number): string =>
  value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`;
