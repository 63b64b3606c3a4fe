/**
 * A tiny module that exercises the harness: a Directory constructor argument
 * with defaultPath/ignore, a function building a privileged pipeline, and a check.
 */
import { argument, check, dag, Directory, func, object, ReturnType } from "@dagger.io/dagger";

/** Sample module for the test harness */
@object()
export class BtyCi {
  /** The caller's source tree */
  source: Directory;

  constructor(
    /** Source tree; defaults to the caller's git root */
    @argument({ defaultPath: "/", ignore: ["node_modules"] }) source: Directory,
  ) {
    this.source = source;
  }

  /**
   * Greet from a privileged container
   * @param greeting what to echo
   * @param times how often
   */
  @func()
  async hello(greeting = "hi", times?: number): Promise<string> {
    const argv = ["echo", ...Array<string>(times ?? 1).fill(greeting)];
    return dag
      .container()
      .from("alpine:3.20")
      .withMountedCache("/c", dag.cacheVolume("v"))
      .withDirectory("/src", this.source)
      .withExec(argv, { insecureRootCapabilities: true })
      .stdout();
  }

  /** Lint the source (never fails the build on exit code, reports it) */
  @func()
  @check()
  async lint(): Promise<void> {
    const code = await dag
      .container()
      .from("alpine:3.20")
      .withDirectory("/src", this.source)
      .withExec(["sh", "-c", "test -d /src"], { expect: ReturnType.Any })
      .exitCode();
    if (code !== 0) throw new Error(`lint failed with exit code ${code}`);
  }

  /** The source tree with a marker file (returns an object: encoded as its ID) */
  @func()
  marked(): Directory {
    return this.source.withNewFile("MARK", "x");
  }
}
