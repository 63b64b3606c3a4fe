/**
 * What the documentation claims about bty-ci, checked against the generated
 * reference and the repository (pure; test/unit/docs.test.ts applies it to
 * README.md and docs/). A `dagger call` or `dagger check` names only
 * functions, checks and flags the reference lists, spelled as the CLI spells
 * them; an `npm run` names a script package.json has; a path of this
 * repository exists; a relative link leads to a file.
 */

/** One documented function: its arguments by flag, each with its type. */
export interface DocumentedFunction {
  flags: Map<string, string>;
  returns: string;
}

/** The generated reference (docs/reference.md), as the checks need it. */
export interface ReferenceIndex {
  constructorFlags: Map<string, string>;
  /** By name as the CLI spells it; a sub-object's function as `parent child`. */
  functions: Map<string, DocumentedFunction>;
  /** Check names as `dagger check -l` prints them (`test:py-311`). */
  checks: Set<string>;
}

/** The argument rows of a reference table: `--flag` → type. */
function tableFlags(section: string): Map<string, string> {
  return new Map([...section.matchAll(/^\| `(--[a-z0-9-]+)` \| (\S+) \|/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Parse docs/reference.md: the constructor's section and one `### \`name\` → Type` section per function. */
export function parseReference(text: string): ReferenceIndex {
  const ctor = /^## `[^`]+` \(constructor\)$([\s\S]*?)(?=^### )/m.exec(text);
  if (!ctor) throw new Error("no constructor section (## `name` (constructor)): is this docs/reference.md?");
  const functions = new Map<string, DocumentedFunction>();
  const checks = new Set<string>();
  for (const m of text.matchAll(/^### `([^`]+)` → (\S+)(?: \(([^)]*)\))?$([\s\S]*?)(?=^### |(?![\s\S]))/gm)) {
    functions.set(m[1]!, { flags: tableFlags(m[4]!), returns: m[2]! });
    if ((m[3] ?? "").split(", ").includes("check")) checks.add(m[1]!.replace(" ", ":"));
  }
  return { constructorFlags: tableFlags(ctor[1]!), functions, checks };
}

/** A code span or fenced block of a Markdown document. */
export interface CodeSpan {
  text: string;
  /** The fenced block's language ("" for none); undefined for an inline span. */
  lang?: string;
  /** What precedes an inline span on its line (to tell bty's own paths: "bty's `src/bty/...`"). */
  before: string;
  line: number;
}

/** Every fenced block and inline code span of a Markdown text, with its line number. */
export function codeSpans(markdown: string): CodeSpan[] {
  const spans: CodeSpan[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)(`{3,}|~{3,})(\S*)/.exec(lines[i]!);
    if (fence) {
      const close = lines.findIndex((l, j) => j > i && l.trim().startsWith(fence[2]!));
      const end = close < 0 ? lines.length : close;
      spans.push({ text: lines.slice(i + 1, end).join("\n"), lang: fence[3]!, before: "", line: i + 1 });
      i = end;
      continue;
    }
    for (const m of lines[i]!.matchAll(/(`+)([^`]+?)\1/g)) {
      spans.push({ text: m[2]!, before: lines[i]!.slice(0, m.index), line: i + 1 });
    }
  }
  return spans;
}

/** Shell redirections: the word after one is a file, not an argument. */
const REDIRECTS = new Set([">", ">>", "<", "2>", "2>>", "&>"]);

/**
 * Shell commands of a script, each with the line (0-based) it starts on:
 * continuations joined, comments dropped, split at `&&`, `||`, `|` and `;`,
 * redirections and their files left out.
 */
export function shellCommands(script: string): { argv: string[]; line: number }[] {
  const commands: { argv: string[]; line: number }[] = [];
  const lines = script.split("\n");
  for (let start = 0; start < lines.length; start++) {
    let raw = lines[start]!;
    const first = start;
    while (raw.endsWith("\\") && start + 1 < lines.length) raw = `${raw.slice(0, -1)} ${lines[++start]!}`;
    let current: string[] = [];
    const tokens = tokenize(raw);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token === "#") break;
      if (REDIRECTS.has(token)) i++;
      else if (["&&", "||", "|", ";"].includes(token)) {
        if (current.length) commands.push({ argv: current, line: first });
        current = [];
      } else current.push(token);
    }
    if (current.length) commands.push({ argv: current, line: first });
  }
  return commands;
}

/**
 * Words of one shell line: quotes removed, `$(...)` and `${...}` kept whole,
 * operators and a comment's `#` as tokens of their own.
 */
export function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let word: string | undefined;
  const push = () => {
    if (word !== undefined) tokens.push(word);
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      const end = close < 0 ? line.length : close;
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === "$" && (line[i + 1] === "(" || line[i + 1] === "{")) {
      const open = line[i + 1]!;
      const shut = open === "(" ? ")" : "}";
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j++) {
        if (line[j] === open) depth++;
        else if (line[j] === shut && --depth === 0) break;
      }
      word = (word ?? "") + line.slice(i, j + 1);
      i = j;
    } else if (/\s/.test(c)) push();
    else if (c === "#" && word === undefined) {
      push();
      tokens.push("#");
      return tokens;
    } else if ((c === "&" && line[i + 1] === "&") || (c === "|" && line[i + 1] === "|")) {
      push();
      tokens.push(c + c);
      i++;
    } else if (c === "|" || c === ";") {
      push();
      tokens.push(c);
    } else if (c === ">" || c === "<") {
      // `2>` and `&>` keep their descriptor; `>>` is one operator.
      const fd = word === "2" || word === "&" ? word : "";
      if (fd) word = undefined;
      push();
      const op = line[i + 1] === ">" && c === ">" ? ">>" : c;
      tokens.push(fd + op);
      i += op.length - 1;
    } else word = (word ?? "") + c;
  }
  push();
  return tokens;
}

/** dagger's own options before a subcommand that take a value (`dagger -m github.com/... call`). */
const DAGGER_VALUE_OPTIONS = new Set(["-m", "--mod", "--progress", "-W", "--workdir"]);
/** `dagger call`'s own flags, allowed anywhere in a call. */
const CALL_OPTIONS = new Map([["-m", true], ["--mod", true], ["-o", true], ["--output", true], ["--json", false], ["-j", false], ["--help", false], ["-h", false]]);
/** Flags that each take a value, as a function's flag → type table. */
const valueFlags = (...flags: string[]): ReadonlyMap<string, string> => new Map(flags.map((f) => [f, "string"]));
/** Functions of Dagger's core types a call may chain after bty-ci's function, with their flags. */
const CORE_CHAIN: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map([
  ["export", new Map([["--path", "string"], ["--allow-parent-dir-path", "boolean"], ["--wipe", "boolean"]])],
  ["contents", valueFlags()],
  ["entries", valueFlags()],
  ["sync", valueFlags()],
  ["size", valueFlags()],
  ["name", valueFlags()],
  ["digest", valueFlags()],
  ["file", valueFlags("--path")],
  ["directory", valueFlags("--path")],
]);

/** The flag and whether its value is in the same word (`--x=1`). */
function splitFlag(token: string): { flag: string; inline: boolean } {
  const eq = token.indexOf("=");
  return eq < 0 ? { flag: token, inline: false } : { flag: token.slice(0, eq), inline: true };
}

/**
 * What is wrong with one `dagger ...` command line as the reference
 * describes bty-ci (empty: nothing). Only `call` and `check` are bty-ci's;
 * other subcommands (`functions`, `init`, `toolchain`) are Dagger's.
 */
export function daggerProblems(argv: readonly string[], ref: ReferenceIndex): string[] {
  let i = argv.indexOf("dagger") + 1;
  while (i < argv.length && argv[i]!.startsWith("-")) i += DAGGER_VALUE_OPTIONS.has(argv[i]!) ? 2 : 1;
  const sub = argv[i];
  const rest = argv.slice(i + 1);
  if (sub === "check") return checkProblems(rest, ref);
  if (sub === "call") return callProblems(rest, ref);
  return [];
}

function checkProblems(args: readonly string[], ref: ReferenceIndex): string[] {
  return args
    .filter((a) => !a.startsWith("-") && !a.includes("*"))
    .map((a) => a.replace(/^bty-ci:/, ""))
    .filter((name) => !ref.checks.has(name))
    .map((name) => `dagger check: no check "${name}" in the reference`);
}

/** The toolchain's name: installed as a toolchain, bty-ci's functions are called under it (`dagger call bty-ci lint`). */
const TOOLCHAIN = "bty-ci";

/**
 * A call's words as the checks read them: a synopsis's optional brackets
 * (`[--index URL]`) and elisions (`…`) dropped.
 */
function callWords(args: readonly string[]): string[] {
  return args.filter((a) => a !== "…").map((a) => a.replace(/^\[(?=-)|(?<=\S)\]$/g, ""));
}

function callProblems(given: readonly string[], ref: ReferenceIndex): string[] {
  const args = callWords(given);
  const problems: string[] = [];
  let i = 0;
  let stop = false;
  /** Consume flags of one stage; `flags` maps flag → type. */
  const flagsOf = (stage: string, flags: ReadonlyMap<string, string>) => {
    while (!stop && i < args.length && args[i]!.startsWith("-")) {
      const { flag, inline } = splitFlag(args[i]!);
      i++;
      if (CALL_OPTIONS.has(flag)) {
        if (CALL_OPTIONS.get(flag) && !inline) i++;
        continue;
      }
      if (!flags.has(flag)) {
        // What follows an unknown flag cannot be told apart: one problem per call.
        problems.push(`dagger call: ${stage} has no flag ${flag} in the reference`);
        stop = true;
        return;
      }
      if (!inline && flags.get(flag) !== "boolean") i++;
    }
  };
  flagsOf("the constructor", ref.constructorFlags);
  if (args[i] === TOOLCHAIN) i++;
  const name = args[i++];
  // A synopsis (`dagger call <function> --help`) names no function.
  if (stop || name === undefined || name.startsWith("<")) return problems;
  let fn = ref.functions.get(name);
  if (!fn) return [...problems, `dagger call: no function "${name}" in the reference`];
  let path = name;
  // A function returning one of bty-ci's objects is followed by that object's function.
  if ([...ref.functions.keys()].some((k) => k.startsWith(`${name} `))) {
    const child = args[i++];
    if (child === undefined) return problems;
    fn = ref.functions.get(`${name} ${child}`);
    if (!fn) return [...problems, `dagger call: no function "${name} ${child}" in the reference`];
    path = `${name} ${child}`;
  }
  flagsOf(path, fn.flags);
  while (!stop && i < args.length) {
    const core = args[i++]!;
    const flags = CORE_CHAIN.get(core);
    if (!flags) {
      problems.push(`dagger call: "${core}" after ${path} is neither a flag of it nor a core function (${[...CORE_CHAIN.keys()].join(", ")})`);
      break;
    }
    flagsOf(core, flags);
  }
  return problems;
}

/** What is wrong with an `npm ...` command line (empty: nothing): `npm run X` needs script X. */
export function npmProblems(argv: readonly string[], scripts: ReadonlySet<string>): string[] {
  const i = argv.indexOf("npm");
  if (argv[i + 1] !== "run") return [];
  const script = argv.slice(i + 2).find((a) => !a.startsWith("-"));
  return script === undefined || scripts.has(script) ? [] : [`npm run: package.json has no script "${script}"`];
}

/** Paths that are this repository's (another project's are cited as "bty's `path`", "iPXE's `path`"). */
const REPO_PATH = /^(src\/(?!bty\/)|ci\/|test\/|bench\/|scripts\/|\.ci\/|docs\/[a-z-]+\.md$|(package|dagger|tsconfig(\.test)?)\.json$|(stryker|vitest)[a-z.]*\.(mjs|ts)$|CHANGELOG\.md$|README\.md$)/;

/**
 * The repository path an inline span names, if it names one: not a glob or
 * placeholder, not another project's (the text before it ends in "bty's",
 * "iPXE's": anyone's but bty-ci's), a line number
 * or anchor after it dropped.
 */
export function repositoryPath(span: CodeSpan): string | undefined {
  if (span.lang !== undefined || /[\s*<>{}$…]/.test(span.text)) return undefined;
  const owner = /([\w.-]+)'s\s*$/.exec(span.before);
  if (owner && owner[1] !== "bty-ci") return undefined;
  const path = span.text.replace(/[:#].*$/, "").replace(/^\.\//, "");
  return REPO_PATH.test(path) ? path : undefined;
}

/** Relative link targets of a Markdown text (no scheme, no pure anchors), without their anchor. */
export function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((t) => !/^[a-z]+:/.test(t) && !t.startsWith("#"))
    .map((t) => t.replace(/#.*$/, ""));
}

/** Shells a fenced block may be written for. */
export const SHELL_LANGS = new Set(["sh", "bash", "shell", "console"]);
