import { describe, expect, it } from "vitest";

import { isValidVersion, parsePyproject, ProjectError } from "../../src/checkout/project.js";

const pyproject = (project: string) => `[build-system]\nrequires = ["hatchling"]\n\n[project]\n${project}\n`;

describe("parsePyproject", () => {
  it("reads name and version from [project]", () => {
    expect(parsePyproject(pyproject('name = "bty-lab"\nversion = "0.77.2"'))).toEqual({
      name: "bty-lab",
      version: "0.77.2",
    });
  });

  it("names the fix when [project] is missing", () => {
    expect(() => parsePyproject('[tool.ruff]\nline-length = 100\n')).toThrow(/no \[project\] table/);
  });

  it("names the fix when the version is dynamic or absent", () => {
    expect(() => parsePyproject(pyproject('name = "bty-lab"\ndynamic = ["version"]'))).toThrow(
      /set `version = "X.Y.Z"` under \[project\]/,
    );
  });

  it("rejects a version that is not PEP 440", () => {
    expect(() => parsePyproject(pyproject('name = "bty-lab"\nversion = "v0.77.2"'))).toThrow(
      /"v0.77.2" is not a PEP 440 version/,
    );
  });

  it("reports broken TOML as such", () => {
    const err = (() => {
      try {
        parsePyproject('[project\nname = "x"');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProjectError);
    expect((err as Error).message).toMatch(/not valid TOML/);
  });
});

describe("isValidVersion", () => {
  it.each(["0.77.2", "1.0", "1.0.0rc1", "2.1.0.post3", "0.1.dev4", "1!2.0", "1.0+local.7"])(
    "accepts %s",
    (v) => expect(isValidVersion(v)).toBe(true),
  );
  it.each(["v1.0.0", "1.0.0-rc1", "", "latest", "1..2", "1.0.0 "])("rejects %j", (v) =>
    expect(isValidVersion(v)).toBe(false),
  );
});
