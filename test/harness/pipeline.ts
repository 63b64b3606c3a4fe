/**
 * Reading a recorded container pipeline the way the engine would run it: the
 * image, then each exec with the state it runs in (working directory,
 * environment, cache mounts, copied directories, privileges). Module tests
 * compare that with job contracts written from bty's workflow, so an exec
 * that loses its working directory, an env var or a cache is caught even when
 * the argv is right.
 */
import type { Call, RecordingEngine } from "./engine.js";

/** A cache volume mounted into the container. */
export interface CacheMount {
  path: string;
  /** The `cacheVolume(key:)` of the mounted volume. */
  key: string;
  /** Sharing mode as the engine applies it (SHARED when not sent). */
  sharing: string;
}

/** A directory copied into the container and where it came from. */
export interface CopiedDirectory {
  path: string;
  /** Fields of the pipeline that made the directory, e.g. ["currentModule", "source", "directory"]. */
  from: string[];
  /** The directory argument as sent (an ID). */
  id: string;
}

/** One `withExec` and the container state it runs in. */
export interface ExecState {
  argv: string[];
  workdir: string;
  env: Record<string, string>;
  /** `insecureRootCapabilities: true` was sent. */
  privileged: boolean;
  /** withExec options other than args and insecureRootCapabilities, as sent. */
  options: Record<string, unknown>;
  caches: CacheMount[];
  directories: CopiedDirectory[];
}

/** A container pipeline as the engine would build it. */
export interface ContainerRun {
  /** The `from(address:)` image ("" when the pipeline has none). */
  image: string;
  execs: ExecState[];
  /** Environment, workdir, caches and directories after the last call. */
  final: Omit<ExecState, "argv" | "privileged" | "options">;
  /** The call the pipeline ends with (e.g. `sync`, or `directory` for a returned directory). */
  last: Call | undefined;
  /** The whole chain as given. */
  calls: Call[];
}

/** Replay `chain` (an expanded chain or pipeline of `engine`) into images, execs and their state. */
export function readContainerRun(engine: RecordingEngine, chain: Call[]): ContainerRun {
  const pipelineFields = (id: unknown) => engine.pipelineOf(String(id))?.map((c) => c.field) ?? [];
  let image = "";
  let workdir = "";
  const env: Record<string, string> = {};
  let caches: CacheMount[] = [];
  let directories: CopiedDirectory[] = [];
  const execs: ExecState[] = [];
  const state = () => ({ workdir, env: { ...env }, caches: [...caches], directories: [...directories] });
  for (const call of chain) {
    if (call.parent !== "Container") continue;
    const a = call.args;
    switch (call.field) {
      case "from":
        image = String(a.address);
        break;
      case "withWorkdir":
        workdir = String(a.path);
        break;
      case "withEnvVariable":
        env[String(a.name)] = String(a.value);
        break;
      case "withoutEnvVariable":
        delete env[String(a.name)];
        break;
      case "withMountedCache": {
        const key = engine.pipelineOf(String(a.cache))?.at(-1)?.args.key;
        caches = [...caches.filter((c) => c.path !== a.path), { path: String(a.path), key: String(key), sharing: String(a.sharing ?? "SHARED") }];
        break;
      }
      case "withoutMount":
        caches = caches.filter((c) => c.path !== a.path);
        break;
      case "withDirectory":
        directories = [...directories.filter((d) => d.path !== a.path), { path: String(a.path), from: pipelineFields(a.source), id: String(a.source) }];
        break;
      case "withExec": {
        const { args, insecureRootCapabilities, ...options } = a;
        execs.push({ argv: args as string[], privileged: insecureRootCapabilities === true, options, ...state() });
        break;
      }
    }
  }
  return { image, execs, final: state(), last: chain.at(-1), calls: chain };
}
