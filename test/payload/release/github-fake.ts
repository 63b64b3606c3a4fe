/**
 * A local server speaking GitHub's documented REST API for the endpoints the
 * release flow uses, and nothing else: every request and every response is
 * validated against GitHub's own OpenAPI description (the `@octokit/openapi`
 * package, api.github.com), and any mismatch is recorded as a violation the
 * tests assert to be empty. Faults (5xx, dropped uploads, secondary rate
 * limits) can be injected per operation. It is a stand-in for GitHub, not
 * GitHub: it proves the client keeps to the documented API, not how the real
 * service behaves beyond it.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";

import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const require = createRequire(import.meta.url);
const SPEC_PATH = require.resolve("@octokit/openapi/generated/api.github.com.json");

type Json = Record<string, any>;

/** The operations the flow may call: method, path template, where it is served. */
const OPERATIONS = [
  { method: "get", path: "/repos/{owner}/{repo}/git/ref/{ref}", host: "api" },
  { method: "post", path: "/repos/{owner}/{repo}/git/refs", host: "api" },
  { method: "get", path: "/repos/{owner}/{repo}/git/tags/{tag_sha}", host: "api" },
  { method: "get", path: "/repos/{owner}/{repo}/releases", host: "api" },
  { method: "post", path: "/repos/{owner}/{repo}/releases", host: "api" },
  { method: "get", path: "/repos/{owner}/{repo}/releases/tags/{tag}", host: "api" },
  { method: "get", path: "/repos/{owner}/{repo}/releases/{release_id}", host: "api" },
  { method: "patch", path: "/repos/{owner}/{repo}/releases/{release_id}", host: "api" },
  { method: "get", path: "/repos/{owner}/{repo}/releases/{release_id}/assets", host: "api" },
  { method: "post", path: "/repos/{owner}/{repo}/releases/{release_id}/assets", host: "uploads" },
  { method: "delete", path: "/repos/{owner}/{repo}/releases/assets/{asset_id}", host: "api" },
] as const;

export type OperationKey = `${Uppercase<(typeof OPERATIONS)[number]["method"]>} ${(typeof OPERATIONS)[number]["path"]}`;

/** A fault answered instead of the real response, `times` times. */
export interface Fault {
  op: OperationKey;
  kind: "http-500" | "http-502" | "drop-mid-upload" | "secondary-403" | "secondary-429";
  times: number;
  /** Only for requests whose `name` query parameter is this (uploads). */
  name?: string;
}

export interface FakeAsset {
  id: number;
  name: string;
  size: number;
  digest: string;
  state: "uploaded" | "open";
  created_at: string;
}

export interface FakeRelease {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  created_at: string;
  assets: FakeAsset[];
}

export interface RequestLog {
  method: string;
  path: string;
  op: string;
  status: number;
  fault?: string;
}

const esc = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");

function compileValidators() {
  const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8")) as Json;
  const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  ajv.addSchema(spec, "gh");
  const cache = new Map<string, ValidateFunction>();
  const at = (pointer: string): ValidateFunction => {
    let v = cache.get(pointer);
    if (!v) cache.set(pointer, (v = ajv.compile({ $ref: `gh#${pointer}` })));
    return v;
  };
  const deref = (obj: Json, pointer: string): [Json, string] => {
    while (obj.$ref) {
      pointer = (obj.$ref as string).slice(1);
      obj = pointer.split("/").slice(1).reduce((o: Json, k) => o[k.replaceAll("~1", "/").replaceAll("~0", "~")], spec);
    }
    return [obj, pointer];
  };
  return { spec, at, deref };
}

const validators = compileValidators();

function check(pointer: string, value: unknown, what: string, violations: string[]): void {
  const validate = validators.at(pointer);
  if (!validate(value)) {
    violations.push(`${what}: ${(validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath} ${e.message}`).join("; ")}`);
  }
}

const user = (base: string) => ({
  login: "bty-bot", id: 1, node_id: "MDQ6VXNlcjE=", avatar_url: `${base}/avatars/1`, gravatar_id: "",
  url: `${base}/users/bty-bot`, html_url: `${base}/bty-bot`, followers_url: `${base}/users/bty-bot/followers`,
  following_url: `${base}/users/bty-bot/following{/other_user}`, gists_url: `${base}/users/bty-bot/gists{/gist_id}`,
  starred_url: `${base}/users/bty-bot/starred{/owner}{/repo}`, subscriptions_url: `${base}/users/bty-bot/subscriptions`,
  organizations_url: `${base}/users/bty-bot/orgs`, repos_url: `${base}/users/bty-bot/repos`,
  events_url: `${base}/users/bty-bot/events{/privacy}`, received_events_url: `${base}/users/bty-bot/received_events`,
  type: "User", site_admin: false,
});

export interface FakeGitHub {
  /** REST API root to pass as --api-url. */
  apiUrl: string;
  owner: string;
  repo: string;
  token: string;
  releases: FakeRelease[];
  refs: Map<string, string>;
  log: RequestLog[];
  /** Every deviation from GitHub's OpenAPI description seen so far. */
  violations: string[];
  faults: Fault[];
  /** Called after each completed upload (e.g. to crash the client). */
  onUploaded?: (asset: FakeAsset, count: number) => void;
  /** Seed an asset directly (e.g. one with another digest). */
  seedAsset(release: FakeRelease, name: string, content: Buffer): FakeAsset;
  seedRelease(tag: string, draft?: boolean): FakeRelease;
  stop(): Promise<void>;
}

/**
 * Start the fake on 127.0.0.1. `host` is the host name of every URL it hands
 * out (apiUrl, upload_url): 127.0.0.1 for a client on this machine, or the
 * name a Dagger service binding gives it inside the engine's containers.
 */
export async function startFakeGitHub(opts: { token: string; owner?: string; repo?: string; host?: string }): Promise<FakeGitHub> {
  let nextId = 100;
  let uploads = 0;
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://${opts.host ?? "127.0.0.1"}:${(server.address() as AddressInfo).port}`;
  const apiBase = `${origin}/api`;
  const fake: FakeGitHub = {
    apiUrl: apiBase,
    owner: opts.owner ?? "safl",
    repo: opts.repo ?? "bty",
    token: opts.token,
    releases: [],
    refs: new Map(),
    log: [],
    violations: [],
    faults: [],
    seedRelease(tag, draft = false) {
      const rel: FakeRelease = { id: nextId++, tag_name: tag, name: tag, body: "", draft, prerelease: false, created_at: now(), assets: [] };
      fake.releases.push(rel);
      return rel;
    },
    seedAsset(release, name, content) {
      const asset: FakeAsset = {
        id: nextId++, name, size: content.length, state: "uploaded", created_at: now(),
        digest: `sha256:${createHash("sha256").update(content).digest("hex")}`,
      };
      release.assets.push(asset);
      return asset;
    },
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  const repoBase = () => `${apiBase}/repos/${fake.owner}/${fake.repo}`;

  const assetJson = (a: FakeAsset) => ({
    url: `${repoBase()}/releases/assets/${a.id}`,
    browser_download_url: `${origin}/${fake.owner}/${fake.repo}/releases/download/x/${encodeURIComponent(a.name)}`,
    id: a.id, node_id: `RA_${a.id}`, name: a.name, label: null, state: a.state, content_type: "application/octet-stream",
    size: a.size, digest: a.digest, download_count: 0, created_at: a.created_at, updated_at: a.created_at, uploader: user(apiBase),
  });
  const releaseJson = (r: FakeRelease) => ({
    url: `${repoBase()}/releases/${r.id}`, html_url: `${origin}/${fake.owner}/${fake.repo}/releases/tag/${r.tag_name}`,
    assets_url: `${repoBase()}/releases/${r.id}/assets`,
    upload_url: `${origin}/uploads/repos/${fake.owner}/${fake.repo}/releases/${r.id}/assets{?name,label}`,
    tarball_url: `${repoBase()}/tarball/${r.tag_name}`, zipball_url: `${repoBase()}/zipball/${r.tag_name}`,
    id: r.id, node_id: `RE_${r.id}`, tag_name: r.tag_name, target_commitish: "main", name: r.name, body: r.body,
    draft: r.draft, prerelease: r.prerelease, created_at: r.created_at, published_at: r.draft ? null : r.created_at,
    author: user(apiBase), assets: r.assets.map(assetJson),
  });
  const refJson = (tag: string, sha: string) => ({
    ref: `refs/tags/${tag}`, node_id: `REF_${tag}`, url: `${repoBase()}/git/refs/tags/${tag}`,
    object: { type: "commit", sha, url: `${repoBase()}/git/commits/${sha}` },
  });
  const notFound = { message: "Not Found", documentation_url: "https://docs.github.com/rest" };

  function match(method: string, host: string, path: string) {
    for (const op of OPERATIONS) {
      if (op.method !== method || op.host !== host) continue;
      const names: string[] = [];
      const re = new RegExp(`^${op.path.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), n === "ref" ? "(.+)" : "([^/]+)"))}$`);
      const m = re.exec(path);
      if (m) return { op, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) };
    }
    return null;
  }

  /** Validate path/query parameters and the JSON body against the operation. */
  function validateRequest(op: (typeof OPERATIONS)[number], params: Record<string, string>, query: URLSearchParams, body: unknown) {
    const opObj = validators.spec.paths[op.path][op.method] as Json;
    const what = `${op.method.toUpperCase()} ${op.path}`;
    for (const [i, raw] of (opObj.parameters ?? []).entries()) {
      const [p, pointer] = validators.deref(raw as Json, `/paths/${esc(op.path)}/${op.method}/parameters/${i}`);
      const value = p.in === "path" ? params[p.name] : p.in === "query" ? query.get(p.name) ?? undefined : undefined;
      if (value === undefined) {
        if (p.required) fake.violations.push(`${what}: required ${p.in} parameter ${p.name} missing`);
        continue;
      }
      const type = (p.schema as Json).type;
      const typed = type === "integer" || type === "number" ? Number(value) : value;
      check(`${pointer}/schema`, typed, `${what} parameter ${p.name}`, fake.violations);
    }
    for (const key of query.keys()) {
      const known = (opObj.parameters ?? []).some((raw: Json) => validators.deref(raw, "")[0].name === key);
      if (!known) fake.violations.push(`${what}: undocumented query parameter ${key}`);
    }
    const content = opObj.requestBody?.content as Json | undefined;
    if (content?.["application/json"]) {
      check(`/paths/${esc(op.path)}/${op.method}/requestBody/content/application~1json/schema`, body, `${what} request body`, fake.violations);
    }
  }

  function send(res: ServerResponse, op: (typeof OPERATIONS)[number], status: number, body: unknown, entry: RequestLog) {
    const what = `${op.method.toUpperCase()} ${op.path}`;
    const opObj = validators.spec.paths[op.path][op.method] as Json;
    const declared = opObj.responses[String(status)] as Json | undefined;
    if (!declared) fake.violations.push(`${what}: response status ${status} is not documented`);
    else {
      const [resp, pointer] = validators.deref(declared, `/paths/${esc(op.path)}/${op.method}/responses/${status}`);
      if (resp.content?.["application/json"]) check(`${pointer}/content/application~1json/schema`, body, `${what} response ${status}`, fake.violations);
    }
    entry.status = status;
    fake.log.push(entry);
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", origin);
    const host = url.pathname.startsWith("/uploads/") ? "uploads" : url.pathname.startsWith("/api/") ? "api" : "";
    const path = url.pathname.replace(/^\/(api|uploads)/, "");
    const method = (req.method ?? "GET").toLowerCase();
    const m = host ? match(method, host, path) : null;
    const entry: RequestLog = { method: method.toUpperCase(), path: url.pathname + url.search, op: m ? `${method.toUpperCase()} ${m.op.path}` : "?", status: 0 };
    if (!m) {
      fake.violations.push(`undocumented or unexpected request ${method.toUpperCase()} ${url.pathname}`);
      await readBody(req);
      entry.status = 404;
      fake.log.push(entry);
      res.writeHead(404).end();
      return;
    }
    const { op, params } = m;
    const key = `${op.method.toUpperCase()} ${op.path}` as OperationKey;
    const fault = fake.faults.find((f) => f.op === key && f.times > 0 && (!f.name || f.name === url.searchParams.get("name")));
    if (fault) {
      fault.times--;
      entry.fault = fault.kind;
      if (fault.kind === "drop-mid-upload") {
        // Take part of the body, leave a half asset behind (as GitHub does
        // with an interrupted upload), then cut the connection.
        const name = url.searchParams.get("name") ?? "";
        const rel = fake.releases.find((r) => r.id === Number(params.release_id));
        const socket = req.socket;
        await new Promise((r) => req.once("data", r));
        rel?.assets.push({ id: nextId++, name, size: 0, digest: "", state: "open", created_at: now() });
        entry.status = 0;
        fake.log.push(entry);
        socket.destroy();
        return;
      }
      await readBody(req);
      entry.status = fault.kind === "http-500" ? 500 : fault.kind === "http-502" ? 502 : fault.kind === "secondary-403" ? 403 : 429;
      fake.log.push(entry);
      const body = fault.kind.startsWith("secondary")
        ? { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api" }
        : { message: "Server Error" };
      const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
      if (fault.kind.startsWith("secondary")) headers["retry-after"] = "1";
      res.writeHead(entry.status, headers).end(JSON.stringify(body));
      return;
    }
    const auth = req.headers.authorization ?? "";
    if (auth !== `token ${fake.token}` && auth !== `Bearer ${fake.token}`) {
      await readBody(req);
      entry.status = 401;
      fake.log.push(entry);
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ message: "Bad credentials" }));
      return;
    }
    const raw = await readBody(req);
    let body: any;
    if (host === "api" && raw.length > 0) body = JSON.parse(raw.toString("utf8"));
    validateRequest(op, params, url.searchParams, body);
    if (params.owner !== fake.owner || params.repo !== fake.repo) return send(res, op, 404, notFound, entry);

    const release = () => fake.releases.find((r) => r.id === Number(params.release_id));
    switch (key) {
      case "GET /repos/{owner}/{repo}/git/ref/{ref}": {
        const tag = params.ref!.replace(/^tags\//, "");
        const sha = fake.refs.get(tag);
        return sha ? send(res, op, 200, refJson(tag, sha), entry) : send(res, op, 404, notFound, entry);
      }
      case "POST /repos/{owner}/{repo}/git/refs": {
        const tag = String(body.ref).replace(/^refs\/tags\//, "");
        if (fake.refs.has(tag)) return send(res, op, 422, { message: "Reference already exists", documentation_url: "https://docs.github.com/rest" }, entry);
        fake.refs.set(tag, body.sha);
        return send(res, op, 201, refJson(tag, body.sha), entry);
      }
      case "GET /repos/{owner}/{repo}/releases": {
        const page = Number(url.searchParams.get("page") ?? 1);
        const perPage = Number(url.searchParams.get("per_page") ?? 30);
        return send(res, op, 200, fake.releases.slice((page - 1) * perPage, page * perPage).map(releaseJson), entry);
      }
      case "POST /repos/{owner}/{repo}/releases": {
        if (fake.releases.some((r) => r.tag_name === body.tag_name)) {
          return send(res, op, 422, { message: "Validation Failed", documentation_url: "https://docs.github.com/rest", errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }] }, entry);
        }
        const rel = fake.seedRelease(body.tag_name, body.draft === true);
        rel.prerelease = body.prerelease === true;
        rel.name = body.name ?? body.tag_name;
        rel.body = body.generate_release_notes ? `## What's Changed\n* generated notes for ${body.tag_name}` : body.body ?? "";
        return send(res, op, 201, releaseJson(rel), entry);
      }
      case "GET /repos/{owner}/{repo}/releases/tags/{tag}": {
        // Drafts are not found by tag, as on GitHub.
        const rel = fake.releases.find((r) => r.tag_name === params.tag && !r.draft);
        return rel ? send(res, op, 200, releaseJson(rel), entry) : send(res, op, 404, notFound, entry);
      }
      case "GET /repos/{owner}/{repo}/releases/{release_id}": {
        const rel = release();
        return rel ? send(res, op, 200, releaseJson(rel), entry) : send(res, op, 404, notFound, entry);
      }
      case "PATCH /repos/{owner}/{repo}/releases/{release_id}": {
        const rel = release();
        if (!rel) return send(res, op, 404, notFound, entry);
        if (typeof body.draft === "boolean") rel.draft = body.draft;
        if (typeof body.name === "string") rel.name = body.name;
        return send(res, op, 200, releaseJson(rel), entry);
      }
      case "GET /repos/{owner}/{repo}/releases/{release_id}/assets": {
        const rel = release();
        if (!rel) return send(res, op, 404, notFound, entry);
        const page = Number(url.searchParams.get("page") ?? 1);
        const perPage = Number(url.searchParams.get("per_page") ?? 30);
        return send(res, op, 200, rel.assets.slice((page - 1) * perPage, page * perPage).map(assetJson), entry);
      }
      case "POST /repos/{owner}/{repo}/releases/{release_id}/assets": {
        const rel = release();
        const name = url.searchParams.get("name") ?? "";
        if (!rel) return send(res, op, 422, { message: "Validation Failed", documentation_url: "" }, entry);
        if (req.headers["content-type"] !== "application/octet-stream") fake.violations.push(`upload ${name}: content-type ${req.headers["content-type"]}`);
        if (rel.assets.some((a) => a.name === name)) {
          return send(res, op, 422, { message: "Validation Failed", documentation_url: "https://docs.github.com/rest", errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }] }, entry);
        }
        const asset = fake.seedAsset(rel, name, raw);
        uploads++;
        send(res, op, 201, assetJson(asset), entry);
        fake.onUploaded?.(asset, uploads);
        return;
      }
      case "DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}": {
        for (const rel of fake.releases) {
          const i = rel.assets.findIndex((a) => a.id === Number(params.asset_id));
          if (i >= 0) {
            rel.assets.splice(i, 1);
            return send(res, op, 204, undefined, entry);
          }
        }
        return send(res, op, 404, notFound, entry);
      }
      default:
        return send(res, op, 404, notFound, entry);
    }
  }
  return fake;
}
