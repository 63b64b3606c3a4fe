/** Text quoted in a one-line message (pure): run reports and input errors use it alike. */

/** Shorten `text` to `max` characters on one line. */
export function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
