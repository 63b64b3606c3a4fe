/**
 * The requests an HTTP server's access log records, by meaning: client,
 * method, the decoded path and the status. uvicorn (behind bty-web and
 * withcache) has logged a path both percent-encoded (`/pxe/52%3A54…`) and
 * raw (`/pxe/52:54…`, 0.55.0), so a test asserts on the decoded request, never
 * on how one release spells it.
 */

/** One request line of an access log. */
export interface AccessedRequest {
  client: string;
  method: string;
  /** The path with its query, percent-decoded. */
  path: string;
  status: number;
}

// `<client> - "<METHOD> <target> HTTP/<v>" <status>` anywhere on a line: the
// shape every common access log shares (uvicorn's, Python's http.server's).
const REQUEST = /(\S+) - "([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/;

/** The path percent-decoded; one that is not valid percent-encoding (a client's garbage) as logged. */
function decodedPath(target: string): string {
  try {
    return decodeURIComponent(target);
  } catch {
    return target;
  }
}

/** Every request line of `log`, in order; other lines are passed over. */
export function accessedRequests(log: string): AccessedRequest[] {
  const requests: AccessedRequest[] = [];
  for (const line of log.split("\n")) {
    const m = REQUEST.exec(line);
    if (!m) continue;
    requests.push({ client: m[1]!, method: m[2]!, path: decodedPath(m[3]!), status: Number(m[4]) });
  }
  return requests;
}

/** The requests of `log` with this method whose decoded path is `path` or starts with it when `prefix` is set. */
export function requestsFor(log: string, method: string, path: string, opts: { prefix?: boolean } = {}): AccessedRequest[] {
  return accessedRequests(log).filter((r) => r.method === method && (opts.prefix ? r.path.startsWith(path) : r.path === path));
}
