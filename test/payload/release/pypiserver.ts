/**
 * A real package index server from PyPI (pypiserver, htpasswd auth) on
 * 127.0.0.1, for the release's index side: the payload tier asks it and
 * uploads to it from the host, the engine tier from the engine's containers
 * through the CLI's host tunnel. Its Python packages are installed at locked
 * versions into a cached venv.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

import { CACHE_DIR } from "../host.js";
import { constraintsKey } from "../python-lock.js";

const PYPISERVER = "2.4.2";
const PASSLIB = "1.7.4";
/** pypiserver's own dependencies, locked (`pip freeze` of a venv with the two pins above, 2026-12-03). */
const PYPISERVER_CONSTRAINTS = ["defusedxml==0.7.1", "importlib_resources==7.1.0", "packaging==26.4"];

function must(argv: string[], input?: string): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", input });
  if (r.status !== 0) throw new Error(`\`${argv.join(" ")}\` exited ${r.status ?? r.signal}:\n${r.stderr || r.stdout}`);
}

function pypiserverVenv(): string {
  const venv = join(CACHE_DIR, `pypiserver-${PYPISERVER}-${constraintsKey(PYPISERVER_CONSTRAINTS)}`);
  if (!existsSync(join(venv, "bin", "pypi-server"))) {
    mkdirSync(CACHE_DIR, { recursive: true });
    must(["python3", "-m", "venv", venv]);
    const constraints = join(venv, "constraints.txt");
    writeFileSync(constraints, `${PYPISERVER_CONSTRAINTS.join("\n")}\n`);
    must([join(venv, "bin", "pip"), "install", "-q", "-c", constraints, `pypiserver[passlib]==${PYPISERVER}`, `passlib==${PASSLIB}`]);
  }
  return venv;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Pypiserver {
  port: number;
  /** The simple index, as pip and index-versions.py ask it. */
  simple: string;
  /** The upload URL, as uv publish --publish-url takes it. */
  upload: string;
  /** The folder the server keeps uploaded files in. */
  packages: string;
  stop(): void;
}

/** Start pypiserver on 127.0.0.1 with an empty package folder under `root`; `token` uploads (as user __token__). */
export async function startPypiserver(root: string, token: string): Promise<Pypiserver> {
  const venv = pypiserverVenv();
  const packages = join(root, "packages");
  mkdirSync(packages, { recursive: true });
  const htpasswd = join(root, "htpasswd");
  // uv sends a token as user "__token__", as PyPI expects.
  must(
    [join(venv, "bin", "python"), "-c",
      "import sys; from passlib.apache import HtpasswdFile as H; h=H(sys.argv[1], new=True); h.set_password('__token__', sys.stdin.read()); h.save()", htpasswd],
    token,
  );
  const port = await freePort();
  const simple = `http://127.0.0.1:${port}/simple/`;
  // --disable-fallback: unknown projects answer 404 here instead of redirecting elsewhere.
  const server: ChildProcess = spawn(
    join(venv, "bin", "pypi-server"),
    ["run", "-i", "127.0.0.1", "-p", String(port), "--disable-fallback", "-a", "update", "-P", htpasswd, packages],
    { stdio: "ignore" },
  );
  for (let i = 0; ; i++) {
    if (spawnSync("curl", ["-sf", "-o", "/dev/null", simple]).status === 0) break;
    if (i === 100) {
      server.kill();
      throw new Error(`pypiserver did not answer on ${simple} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { port, simple, upload: `http://127.0.0.1:${port}/`, packages, stop: () => server.kill() };
}
