/**
 * Reading bty's `pyproject.toml`: the single source of truth for the version
 * (bty's [project] version). Pure functions, so every rule here is unit-tested.
 */
import { parse as parseToml } from "smol-toml";
import { z } from "zod";

/** What bty-ci needs from `[project]`. */
export interface ProjectInfo {
  name: string;
  version: string;
}

/**
 * PEP 440 public version, canonical spelling (as `uv build` writes it into
 * file names). bty's own consistency test is stricter (X.Y.Z first); this
 * accepts what packaging accepts so a pre-release can still be built.
 */
const PEP440 =
  /^(?:\d+!)?\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?$/;

const pyprojectSchema = z.object({
  project: z.object(
    {
      name: z.string({ error: "[project] name must be a string" }).min(1),
      version: z.string({
        error:
          'no static [project] version: set `version = "X.Y.Z"` under [project] ' +
          "(bty-ci, like bty's workflow, reads the version from there)",
      }),
    },
    { error: "no [project] table: is --source really a bty checkout?" },
  ),
});

export class ProjectError extends Error {
  override name = "ProjectError";
}

/** True when `version` is a canonical PEP 440 version. */
export function isValidVersion(version: string): boolean {
  return PEP440.test(version);
}

/**
 * Parse `pyproject.toml` text into the project name and version, or throw a
 * ProjectError that says what to fix.
 */
export function parsePyproject(text: string): ProjectInfo {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ProjectError(`pyproject.toml is not valid TOML (${reason}): fix the syntax`);
  }
  const parsed = pyprojectSchema.safeParse(data);
  if (!parsed.success) {
    // A failed parse has at least one issue.
    throw new ProjectError(`pyproject.toml: ${parsed.error.issues[0]!.message}`);
  }
  const { name, version } = parsed.data.project;
  if (!isValidVersion(version)) {
    throw new ProjectError(
      `pyproject.toml: [project] version "${version}" is not a PEP 440 version; ` +
        'use a release like "0.77.2" (optionally with a1/b1/rc1, .postN or .devN)',
    );
  }
  return { name, version };
}

/** The message for a source directory without `pyproject.toml`. */
export const MISSING_PYPROJECT =
  "no pyproject.toml at the root of the source directory: run bty-ci from a bty " +
  "checkout, or pass one with `--source <path-to-bty>`";
