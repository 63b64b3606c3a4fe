/**
 * A release target the engine's containers cannot reach by themselves: a
 * plain-HTTP server on the caller's machine (a release rehearsal's
 * stand-ins, an index mirror).
 * The caller passes it as a Dagger Service (`--api-service
 * tcp://127.0.0.1:8080`: the CLI tunnels that port from the caller's host)
 * and every container that talks to the target gets it bound under the
 * host name the target's URL names. This decides that name, or refuses a
 * URL no binding can serve, before anything is built or sent.
 */
import { ReleaseInputError } from "./version.js";

/** A service is bound under one DNS label; `localhost` is the container's own. */
const BINDABLE_HOST = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * The host name a service for `url` is bound as. `flag`/`serviceFlag`
 * name the CLI flags, so the error says what to pass instead.
 */
export function serviceHostName(flag: string, serviceFlag: string, url: string): string {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new ReleaseInputError(`${serviceFlag} needs ${flag} to be a URL naming the service's host; got "${url}"`);
  }
  if (!BINDABLE_HOST.test(host) || host === "localhost") {
    throw new ReleaseInputError(
      `${serviceFlag} is bound under the host name ${flag} names, and "${host}" cannot be one (one DNS label, not localhost): ` +
        `pass e.g. ${flag} http://release-target:8080/… with ${serviceFlag} tcp://127.0.0.1:8080`,
    );
  }
  return host;
}

/**
 * With an index service, uploads go to the host that service is bound as:
 * an empty --publish-url would send them to uv's default, PyPI, from a run
 * whose index is somewhere else (a rehearsal must never leave for PyPI).
 */
export function assertUploadsReachIndex(indexUrl: string, publishUrl: string): void {
  const host = serviceHostName("--index", "--index-service", indexUrl);
  let uploadHost: string | undefined;
  try {
    uploadHost = new URL(publishUrl).hostname;
  } catch {
    uploadHost = undefined;
  }
  if (uploadHost !== host) {
    throw new ReleaseInputError(
      `--index-service serves host "${host}", so uploads must go there too: pass --publish-url http://${host}:PORT/… ` +
        `(got ${publishUrl === "" ? "none, which is PyPI" : `"${publishUrl}"`})`,
    );
  }
}
