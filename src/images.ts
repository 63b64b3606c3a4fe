/** Turning the pinned image templates into references (pure). */

/** The Python image for one exact Python version, from a `{version}` template. */
export function pythonImageRef(template: string, version: string): string {
  if (!template.includes("{version}")) {
    throw new Error(
      `--python-image "${template}" has no {version} placeholder: every matrix leg would ` +
        'run on one interpreter; use e.g. "mirror.internal/python:{version}-slim-bookworm"',
    );
  }
  return template.replaceAll("{version}", version);
}
