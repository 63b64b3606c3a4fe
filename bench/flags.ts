/** `--NAME` (every choice) or `--NAME=a,b` (those), checked against the choices; [] when absent. */
export function choiceFlag<T extends string>(argv: string[], name: string, choices: readonly T[]): T[] {
  const flag = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!flag) return [];
  if (flag === `--${name}`) return [...choices];
  const wanted = flag.slice(`--${name}=`.length).split(",");
  const unknown = wanted.filter((w) => !(choices as readonly string[]).includes(w));
  if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(", ")}; use ${choices.join(", ")}`);
  return wanted as T[];
}
