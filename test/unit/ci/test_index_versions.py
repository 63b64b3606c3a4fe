"""ci/release/index-versions.py against a loopback simple index."""

from __future__ import annotations

import contextlib
import io
import json
import os
import unittest
import urllib.error
from unittest import mock

from programs import http_server, load_program, refused_port

index_versions = load_program("release/index-versions.py")

JSON_API = {"Content-Type": "application/vnd.pypi.simple.v1+json"}
HTML = {"Content-Type": "text/html"}
BTY_LAB_JSON = json.dumps(
    {
        "files": [
            {"filename": "bty_lab-0.77.2-py3-none-any.whl"},
            {"filename": "bty_lab-0.77.2.tar.gz"},
            {"filename": "bty_lab-0.77.1.tar.gz"},
        ]
    }
).encode()
BTY_LAB_HTML = (
    b'<html><body><a href="../../packages/bty_lab-0.77.2.tar.gz#sha256=00">bty_lab-0.77.2.tar.gz</a>'
    b'<a href="https://files.example.org/bty_lab-0.76.0-py3-none-any.whl">whl</a></body></html>'
)


class VersionOfTest(unittest.TestCase):
    def test_wheels_and_sdists_of_the_project_only(self) -> None:
        self.assertEqual(
            index_versions.version_of("bty_lab-0.77.2-py3-none-any.whl", "bty-lab"),
            "0.77.2",
        )
        self.assertEqual(
            index_versions.version_of("bty-lab-0.77.2.tar.gz", "Bty_Lab"), "0.77.2"
        )
        self.assertIsNone(index_versions.version_of("other-1.0.tar.gz", "bty-lab"))
        self.assertIsNone(
            index_versions.version_of("bty_lab-0.77.2.tar.gz.metadata", "bty-lab")
        )


class IndexFilesTest(unittest.TestCase):
    def test_json_api_html_page_and_an_unknown_project(self) -> None:
        routes = {
            ("GET", "/simple/bty-lab/"): (200, JSON_API, BTY_LAB_JSON),
            ("GET", "/html/bty-lab/"): (200, HTML, BTY_LAB_HTML),
        }
        with http_server(routes) as (url, got):
            self.assertEqual(
                index_versions.index_files(f"{url}/simple/", "Bty_Lab", 5),
                [
                    "bty_lab-0.77.2-py3-none-any.whl",
                    "bty_lab-0.77.2.tar.gz",
                    "bty_lab-0.77.1.tar.gz",
                ],
            )
            self.assertEqual(
                index_versions.index_files(f"{url}/html", "bty-lab", 5),
                ["bty_lab-0.77.2.tar.gz", "bty_lab-0.76.0-py3-none-any.whl"],
            )
            self.assertIsNone(index_versions.index_files(f"{url}/simple", "nobody", 5))
        self.assertIn("application/vnd.pypi.simple.v1+json", got[0].headers["Accept"])

    def test_a_server_error_is_raised_never_not_published(self) -> None:
        with http_server({("GET", "/simple/bty-lab/"): (503, {}, b"busy")}) as (url, _):
            with self.assertRaises(urllib.error.HTTPError):
                index_versions.index_files(f"{url}/simple", "bty-lab", 5)


class MainTest(unittest.TestCase):
    def main(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = index_versions.main(list(argv))
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue(), err.getvalue()

    def test_the_versions_files_and_require_absent(self) -> None:
        with http_server(
            {("GET", "/simple/bty-lab/"): (200, JSON_API, BTY_LAB_JSON)}
        ) as (url, _):
            index = f"{url}/simple"
            code, out, _ = self.main(
                "--project", "bty-lab", "--version", "0.77.2", "--index-url", index
            )
            self.assertEqual(code, 0)
            self.assertEqual(
                json.loads(out),
                {
                    "project": "bty-lab",
                    "version": "0.77.2",
                    "index": index,
                    "files": [
                        "bty_lab-0.77.2-py3-none-any.whl",
                        "bty_lab-0.77.2.tar.gz",
                    ],
                },
            )
            code, _, err = self.main(
                "--project",
                "bty-lab",
                "--version",
                "0.77.02",
                "--index-url",
                index,
                "--require-absent",
            )
            self.assertEqual(code, 1)
            self.assertIn(
                "already has bty-lab 0.77.2 (bty_lab-0.77.2-py3-none-any.whl, bty_lab-0.77.2.tar.gz)",
                err,
            )
            code, out, _ = self.main(
                "--project",
                "bty-lab",
                "--version",
                "0.78.0",
                "--index-url",
                index,
                "--require-absent",
            )
            self.assertEqual((code, json.loads(out)["files"]), (0, []))
            code, out, _ = self.main(
                "--project", "new-project", "--version", "1.0", "--index-url", index
            )
            self.assertEqual((code, json.loads(out)["files"]), (0, None))

    def test_pips_index_comes_from_pip_index_url(self) -> None:
        with mock.patch.dict(
            os.environ, {"PIP_INDEX_URL": "https://mirror.internal/simple"}
        ):
            self.assertEqual(
                index_versions.default_index(), "https://mirror.internal/simple"
            )

    def test_an_index_that_cannot_be_asked_is_exit_3(self) -> None:
        index = f"http://127.0.0.1:{refused_port()}/simple"
        code, _, err = self.main(
            "--project", "bty-lab", "--version", "1.0", "--index-url", index
        )
        self.assertEqual(code, 3)
        self.assertIn(f"cannot ask {index} about bty-lab", err)

    def test_usage_errors_are_exit_2(self) -> None:
        self.assertEqual(self.main()[0], 2)
        code, _, err = self.main("--project", "bty-lab", "--version", "not a version")
        self.assertEqual(code, 2)
        self.assertIn("'not a version' is not a PEP 440 version", err)


if __name__ == "__main__":
    unittest.main()
