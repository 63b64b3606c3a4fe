/** UTC time as bty writes it: `%Y-%m-%dT%H:%M:%SZ` (no fractional seconds); release.toml's released and the images' created label. */
export function utcStamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
