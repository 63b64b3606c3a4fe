/**
 * bty-ci: bty's CI/CD as a Dagger module. This file is the facade the engine
 * registers: declarations, argument checks and delegation. Each job lives in
 * its domain folder (pure decisions in plan.ts, the Dagger side in
 * dagger.ts); every pinned input is in config.ts.
 */
import { check, dag, Directory, type File, func, type GitRef, object, type Secret, type Service, type Workspace } from "@dagger.io/dagger";

import { type Checkout, readProject, resolveCheckout, resolveHead } from "./checkout/dagger.js";
import { checkoutLine } from "./checkout/plan.js";
import { checksBundle, runAllChecks } from "./checks/dagger.js";
import { checkName } from "./checks/plan.js";
import { type CheckResult, ChecksFailed, renderReport, REPORT_FORMATS, type RunReport } from "./checks/report.js";
import {
  BTY_GITHUB_REPOSITORY,
  GITHUB_API_URL,
  IMAGE_SOURCE_URL,
  MEDIA_STAGE_TIMEOUT_SECONDS,
  PYTHON_IMAGE,
  PYTHON_LEGS,
  type PythonLeg,
  RPI,
  TFTP_IMAGE_REPOSITORY,
  VENTOY_SHA256,
  WEB_IMAGE_REPOSITORY,
} from "./config.js";
import type { JobInputs } from "./containers.js";
import { checkDeploySource, deployIntegrationContainer, quadletRefs, quadletTarballs, runQuadletIntegration, stackTarballs } from "./deploy/dagger.js";
import { checkStackImages } from "./deploy/plan.js";
import { checkIpxeSources, ipxeDirectory, pinnedIpxeSource } from "./ipxe/dagger.js";
import { ipxeArtifactName } from "./ipxe/plan.js";
import { buildMedia } from "./media/dagger.js";
import { artifactNames } from "./media/plan.js";
import { formatPlan, plan, planJson } from "./pipeline/triggers.js";
import { workflowOptions, workflowYaml } from "./pipeline/workflow.js";
import { testPxeChain } from "./pxe/dagger.js";
import { checkFirmware, FIRMWARES } from "./pxe/plan.js";
import { pinnedRpiImage, requireRpiScript, rpiDirectory } from "./rpi/dagger.js";
import { checkRpiInputs } from "./rpi/plan.js";
import {
  buildWheelDirectory,
  docsDirectory,
  flashIntegrationContainer,
  lintContainer,
  testContainer,
  typecheckContainer,
} from "./python/dagger.js";
import { publishRelease } from "./release/dagger/images.js";
import { wheelName } from "./release/image-plan.js";
import {
  attachToRelease as attachToReleaseFlow,
  checkNotPublished as checkNotPublishedFlow,
  publish as publishFlow,
  publishCredentials,
  publishPypi as publishPypiFlow,
  tagRelease as tagReleaseFlow,
  verifyImageHandOff,
} from "./release/dagger/publish.js";
import { usbGrowBundle, usbVentoyBundle } from "./usb/dagger.js";
import { checkVentoySha256 } from "./usb/plan.js";

/** The inputs of all-checks' rows a caller may give instead of a download. */
interface RowInputs {
  ventoy?: Directory;
  ventoyChecksum: string;
  rpiImage?: File;
  rpiImageChecksum: string;
}

/** The job inputs carried as object state. */
function jobInputs(state: JobInputs): JobInputs {
  const { source, pythonImage, pythonIndex, debianMirror } = state;
  return { source, pythonImage, pythonIndex, debianMirror };
}

/** bty's test matrix: one check per Python version (ruff, format check, pytest). */
@object()
export class TestMatrix {
  // Plain fields, not a JobInputs object: object state must be made of
  // types the engine can serialize.
  source: Directory;
  pythonImage: string;
  pythonIndex: string;
  debianMirror: string;

  constructor(source: Directory, pythonImage: string, pythonIndex: string, debianMirror: string) {
    this.source = source;
    this.pythonImage = pythonImage;
    this.pythonIndex = pythonIndex;
    this.debianMirror = debianMirror;
  }

  private async leg(leg: PythonLeg): Promise<void> {
    // The tree BtyCi.test chose; checked again, as every job checks its tree first.
    await readProject(this.source);
    await testContainer(jobInputs(this), leg).sync();
  }

  /** Python 3.11 leg. */
  @func()
  @check()
  async py311(): Promise<void> {
    await this.leg("py311");
  }

  /** Python 3.12 leg. */
  @func()
  @check()
  async py312(): Promise<void> {
    await this.leg("py312");
  }

  /** Python 3.13 leg. */
  @func()
  @check()
  async py313(): Promise<void> {
    await this.leg("py313");
  }

  /** Python 3.14 leg. */
  @func()
  @check()
  async py314(): Promise<void> {
    await this.leg("py314");
  }
}

/**
 * Each call's checkout, chosen once: all-checks' jobs share it. Kept outside
 * the object, because the SDK rebuilds objects from their state without
 * running the constructor, and object state is what it serializes.
 */
const checkoutsChosen = new WeakMap<object, Promise<Checkout>>();

/** bty's CI/CD: checks, builds, end-to-end tests and releases of a bty checkout. */
@object()
export class BtyCi {
  source?: Directory;
  workspace?: Workspace;
  pythonImage: string;
  pythonIndex: string;
  debianMirror: string;
  hookManifests?: Directory;
  ipxeSource?: Directory;
  r8125Source?: Directory;
  extraCaCerts?: File;

  constructor(
    /** The bty checkout (default: the checkout this is called from, i.e. its git root; outside one, bty at its pinned release). */
    source?: Directory,
    /** Python base image; {version} becomes the matrix leg's exact Python version. */
    pythonImage: string = PYTHON_IMAGE,
    /** Package index URL for pip and uv (air-gapped mirrors); empty keeps the default index. */
    pythonIndex: string = "",
    /** Debian mirror base URL (scheme://host[/prefix]) for apt; empty keeps the image's. */
    debianMirror: string = "",
    /**
     * Lint's hook definitions, offline: each hook repository's .pre-commit-hooks.yaml at the rev
     * bty pins, named <owner>.<repo>@<rev>.yaml; default: fetched with git.
     */
    hookManifests?: Directory,
    /** An iPXE source tree root (containing src/Makefile) build-ipxe builds instead of the pinned commit (air-gapped users, other commits). */
    ipxeSource?: Directory,
    /** A git repository (bare or not) bty's r8125 DKMS hook clones instead of GitHub, in every media build (air-gapped builds). */
    r8125Source?: Directory,
    /** CA bundle for pip/git inside the chroot while a media build runs (TLS-intercepting networks); not left in the image. */
    extraCaCerts?: File,
    /** The caller's workspace: the engine passes it; where --source is left out, bty-ci looks for bty's checkout there. */
    workspace?: Workspace,
  ) {
    this.source = source;
    this.workspace = workspace;
    this.pythonImage = pythonImage;
    this.pythonIndex = pythonIndex;
    this.debianMirror = debianMirror;
    this.hookManifests = hookManifests;
    this.ipxeSource = ipxeSource;
    this.r8125Source = r8125Source;
    this.extraCaCerts = extraCaCerts;
  }

  /** The checkout this call works on (--source, the caller's workspace, or bty's pinned release; D57). */
  private checkout(): Promise<Checkout> {
    let chosen = checkoutsChosen.get(this);
    if (!chosen) checkoutsChosen.set(this, (chosen = resolveCheckout(this.source, this.workspace)));
    return chosen;
  }

  /** The chosen checkout as job inputs, with its version. */
  private async job(): Promise<{ inputs: JobInputs; version: string; checkout: Checkout }> {
    const checkout = await this.checkout();
    return { inputs: jobInputs({ ...this, source: checkout.tree }), version: checkout.project.version, checkout };
  }

  /** bty's version, from [project] version in pyproject.toml. */
  @func()
  async version(): Promise<string> {
    return (await this.job()).version;
  }

  /** pre-commit: ruff check + format, shellcheck and the hygiene hooks, at bty's pinned revisions. */
  @func()
  @check()
  async lint(): Promise<void> {
    const { inputs } = await this.job();
    await (await lintContainer(inputs, this.hookManifests)).sync();
  }

  /** The Python 3.11–3.14 test matrix (a check per version). */
  @func()
  async test(): Promise<TestMatrix> {
    const { inputs } = await this.job();
    return new TestMatrix(inputs.source, this.pythonImage, this.pythonIndex, this.debianMirror);
  }

  /** mypy (strict, bty's config) on Python 3.12. */
  @func()
  @check()
  async typecheck(): Promise<void> {
    const { inputs } = await this.job();
    await typecheckContainer(inputs).sync();
  }

  /** Loop-device flash and USB-grow integration tests, as root (privileged). */
  @func()
  @check()
  async flashIntegration(): Promise<void> {
    const { inputs } = await this.job();
    await flashIntegrationContainer(inputs).sync();
  }

  /**
   * bty's deploy integration (its compose lifecycle: up, /healthz on 8080,
   * 8081 and 8082, down -v, again) with rootful podman in a privileged
   * container, on bty-web built from this checkout (its wheel and build-ipxe's
   * seed) and withcache and nbdmux built from their pinned sdists; a test
   * that skips fails the check, naming why.
   */
  @func()
  @check()
  async deployIntegration(
    /** The stack's images: "built" (from this checkout and the pinned sidecar sdists) or "published" (bty's ghcr.io `latest` images, as bty's job). */
    images: string = "built",
  ): Promise<void> {
    const stack = checkStackImages(images);
    const { inputs, version } = await this.job();
    await checkDeploySource(inputs.source, stack);
    const files =
      stack === "published"
        ? stack
        : stackTarballs(inputs, {
            version,
            wheel: buildWheelDirectory(inputs).file(wheelName(version)),
            ipxeSeed: await this.builtIpxeSeed(version),
          });
    await deployIntegrationContainer(inputs, files).sync();
  }

  /**
   * bty's quadlet lifecycle test (deploy writes four Quadlet units, systemd
   * runs them with rootful podman, /healthz answers, purge, redeploy) with
   * systemd 257 as PID 1 of namespaces of its own on the job container's
   * Debian trixie root, the images served by a registry inside under the
   * ghcr.io names the units pull: bty-web and bty-tftp built from this
   * checkout, withcache and nbdmux from their pinned sdists. A skipped test
   * fails the check; a failure carries the run's record (units, systemctl
   * status, journals) as its debug bundle.
   */
  @func()
  @check()
  async deployQuadletIntegration(
    /** The units' images: "built" (from this checkout and the pinned sidecar sdists) or "published" (bty's ghcr.io images at the tags the test deploys, pulled by the engine). */
    images: string = "built",
  ): Promise<void> {
    const stack = checkStackImages(images);
    const { inputs, version } = await this.job();
    const refs = await quadletRefs(inputs.source, stack);
    const built =
      stack === "published"
        ? stack
        : { version, wheel: buildWheelDirectory(inputs).file(wheelName(version)), ipxeSeed: await this.builtIpxeSeed(version) };
    await runQuadletIntegration(inputs, refs, quadletTarballs(inputs, refs, built));
  }

  /** Wheel and sdist (`uv build`) with SHA256SUMS. */
  @func()
  async buildWheel(): Promise<Directory> {
    const { inputs } = await this.job();
    return buildWheelDirectory(inputs).sync();
  }

  /** The HTML site (`html/`), `bty.pdf` and SHA256SUMS. */
  @func()
  async docs(): Promise<Directory> {
    const { inputs } = await this.job();
    return docsDirectory(inputs).sync();
  }

  // ---- media (live-build images) ----

  /**
   * bty's netboot-pc live image: vmlinuz, initrd, squashfs, their .sha256
   * manifest and a build manifest (Debian packages, bty's pip freeze, r8125
   * commit, live-build version), each verified.
   */
  @func()
  async buildNetbootPc(
    /** Seconds each live-build stage may run before it is stopped with its last log lines. */
    timeoutSeconds: number = MEDIA_STAGE_TIMEOUT_SECONDS,
  ): Promise<Directory> {
    const { inputs } = await this.job();
    return buildMedia(inputs, "netboot-pc", { extraCaCerts: this.extraCaCerts, r8125Source: this.r8125Source, timeoutSeconds });
  }

  /** bty's ramboot-init: vmlinuz, initrd, .sha256 manifest and build manifest, verified. */
  @func()
  async buildRambootInit(
    /** Seconds each live-build stage may run before it is stopped with its last log lines. */
    timeoutSeconds: number = MEDIA_STAGE_TIMEOUT_SECONDS,
  ): Promise<Directory> {
    const { inputs } = await this.job();
    return buildMedia(inputs, "ramboot-init", { extraCaCerts: this.extraCaCerts, r8125Source: this.r8125Source, timeoutSeconds });
  }

  /**
   * bty's usbboot-pc hybrid ISO with its trailing 32 MiB exFAT BTY_IMAGES
   * partition (bty's own usb_iso_build steps), .iso.sha256 and build manifest.
   */
  @func()
  async buildUsbbootPc(
    /** Seconds each live-build stage may run before it is stopped with its last log lines. */
    timeoutSeconds: number = MEDIA_STAGE_TIMEOUT_SECONDS,
  ): Promise<Directory> {
    const { inputs } = await this.job();
    return buildMedia(inputs, "usbboot-pc", { extraCaCerts: this.extraCaCerts, r8125Source: this.r8125Source, timeoutSeconds });
  }

  // --- USB tests (bty's test-usb-grow and test-usb-ventoy jobs) ---

  /**
   * bty's test-usb-grow: the usbboot-pc ISO on a 4 GiB disk booted under QEMU
   * (KVM if it works, else TCG), bty's wizard seen on tty1 over SSH, poweroff,
   * then BTY_IMAGES grown to at least 1 GiB with bty-usb-grow's sentinel.
   * Returns the debug bundle (markers.json, serial.log, qemu-cmdline.txt,
   * steps.log); a failed boot fails with usb-vm.py's summary and serial tail,
   * and all-checks-bundle exports its bundle under debug/test-usb-grow/.
   */
  @func({ cache: "never" })
  async testUsbGrow(
    /** bty's usbboot-pc ISO with its trailing BTY_IMAGES partition; default: build-usbboot-pc's. */
    iso?: File,
  ): Promise<Directory> {
    const { inputs } = await this.job();
    const image = iso ?? (await this.usbbootIso(this.buildUsbbootPc()));
    return usbGrowBundle(inputs, image);
  }

  /**
   * bty's test-usb-ventoy: Ventoy installed on a 4 GiB disk with the ISO, a
   * local image and a catalog; booted under QEMU, the Ventoy contract (no
   * BTY_IMAGES device, bty-images-discover active, images mounted), the
   * wizard's local image and catalog entry and the wizard on tty1 checked.
   * Ventoy 1.1.05 is fetched and checked against its pinned sha256 (or
   * --ventoy-checksum), or given unpacked with --ventoy. Returns the
   * debug bundle; a failed boot fails with usb-vm.py's summary, and
   * all-checks-bundle exports its bundle under debug/test-usb-ventoy/.
   */
  @func({ cache: "never" })
  async testUsbVentoy(
    /** bty's usbboot-pc ISO; default: build-usbboot-pc's. */
    iso?: File,
    /** An unpacked Ventoy release for Linux (the directory holding Ventoy2Disk.sh); replaces the download (air-gapped users). */
    ventoy?: Directory,
    /** sha256 of ventoy-1.1.05-linux.tar.gz the download must have (default: the pinned one). */
    ventoyChecksum: string = VENTOY_SHA256,
  ): Promise<Directory> {
    // The Ventoy input is checked before the ISO is built.
    const release = ventoy ?? { sha256: checkVentoySha256(ventoyChecksum) };
    const { inputs } = await this.job();
    const image = iso ?? (await this.usbbootIso(this.buildUsbbootPc()));
    return usbVentoyBundle(inputs, image, release);
  }

  /** The ISO of a build-usbboot-pc output, by the name bty gives it. */
  private async usbbootIso(build: Promise<Directory>): Promise<File> {
    const { version } = await this.job();
    return (await build).file(artifactNames("usbboot-pc", version)[0]!);
  }

  // --- container images -------------------------------

  /**
   * Build bty-web (docker/Dockerfile with bty's wheel, the custom iPXE seed and
   * BTY_VERSION) for linux/amd64 and linux/arm64 and publish it as
   * <image>:<version> and, for a final release, <image>:latest, with OCI labels
   * source, revision, version and created. Returns the refs with digests.
   */
  @func({ cache: "never" })
  async publishDocker(
    /** The release tag, v<[project] version> (e.g. v0.77.2; GITHUB_REF_NAME). */
    tag: string,
    /** Commit the tag points at, for the revision label (e.g. GITHUB_SHA). */
    revision: string,
    /** Registry user (in GitHub Actions: GITHUB_ACTOR). */
    registryUser: string = "",
    /** Registry token or password (e.g. env:GITHUB_TOKEN). */
    registryToken?: Secret,
    /** bty's custom iPXE binary (bty-ipxe-x86_64-v<version>.efi), baked in as ipxe.efi; default: build-ipxe's. */
    ipxeSeed?: File,
    /** Directory with bty's wheel (build-wheel's output); default: built here. */
    dist?: Directory,
    /** Build time for the created label, RFC 3339; default: now. */
    created: string = "",
    /** Image repository, without tag. */
    image: string = WEB_IMAGE_REPOSITORY,
    /** The source label: bty's repository URL. */
    sourceUrl: string = IMAGE_SOURCE_URL,
    /** all-checks' report.json of the run that built --ipxe-seed and --dist (all-checks-bundle): verified against it before any image is built. */
    report?: File,
  ): Promise<string[]> {
    const { inputs, version } = await this.job();
    if (report) await verifyImageHandOff(inputs, "publish-docker", { report, version, ipxeSeed, dist, needsDist: true });
    return publishRelease({
      kind: "web",
      source: inputs.source,
      version,
      tag,
      revision,
      created,
      repository: image,
      sourceUrl,
      // Built only once every other input has been checked (publishRelease).
      ipxeSeed: ipxeSeed ?? (() => this.builtIpxeSeed(version)),
      dist: dist ?? buildWheelDirectory(inputs),
      registryUser,
      registryToken,
    });
  }

  /**
   * Build bty-tftp (deploy/tftp/Containerfile with the custom iPXE seed) for
   * linux/amd64 and linux/arm64 and publish it as <image>:<version> and, for a
   * final release, <image>:latest, with OCI labels source, revision, version and
   * created. Returns the refs with digests.
   */
  @func({ cache: "never" })
  async publishTftp(
    /** The release tag, v<[project] version> (e.g. v0.77.2; GITHUB_REF_NAME). */
    tag: string,
    /** Commit the tag points at, for the revision label (e.g. GITHUB_SHA). */
    revision: string,
    /** Registry user (in GitHub Actions: GITHUB_ACTOR). */
    registryUser: string = "",
    /** Registry token or password (e.g. env:GITHUB_TOKEN). */
    registryToken?: Secret,
    /** bty's custom iPXE binary (bty-ipxe-x86_64-v<version>.efi), baked in as ipxe.efi; default: build-ipxe's. */
    ipxeSeed?: File,
    /** Build time for the created label, RFC 3339; default: now. */
    created: string = "",
    /** Image repository, without tag. */
    image: string = TFTP_IMAGE_REPOSITORY,
    /** The source label: bty's repository URL. */
    sourceUrl: string = IMAGE_SOURCE_URL,
    /** all-checks' report.json of the run that built --ipxe-seed (all-checks-bundle): verified against it before any image is built. */
    report?: File,
  ): Promise<string[]> {
    const { inputs, version } = await this.job();
    if (report) await verifyImageHandOff(inputs, "publish-tftp", { report, version, ipxeSeed, needsDist: false });
    return publishRelease({
      kind: "tftp",
      source: inputs.source,
      version,
      tag,
      revision,
      created,
      repository: image,
      sourceUrl,
      ipxeSeed: ipxeSeed ?? (() => this.builtIpxeSeed(version)),
      registryUser,
      registryToken,
    });
  }

  /** build-ipxe's binary, the seed both images bake in (as bty's workflow stages it). */
  private async builtIpxeSeed(version: string): Promise<File> {
    return (await this.buildIpxe()).file(ipxeArtifactName(version));
  }

  // --- end container images ----------------------------------------------------

  /**
   * bty's Raspberry Pi image: Raspberry Pi OS Lite arm64 (pinned by URL and
   * sha256) customised as bty's rpios_image_build does, in a privileged
   * container; `bty-usbboot-rpi-arm64-v<version>.img.gz`, its `.sha256` and a
   * build manifest, verified (partitions, bty installed, services, masks).
   * Native on an arm64 engine; on amd64 the engine's kernel must run arm64
   * binaries (a qemu-user binfmt handler with the F flag).
   */
  @func()
  async buildUsbbootRpi(
    /** Raspberry Pi OS Lite arm64 .img.xz to start from instead of the pinned download (air-gapped). */
    rpiImage?: File,
    /** sha256 the image must have (default: the pinned release's). */
    rpiImageChecksum: string = RPI.image.sha256,
    /** Platform of the build container: linux/arm64 or linux/amd64; default: the engine's own. */
    platform: string = "",
    /** bty's wheel directory (build-wheel's output); default: built here. */
    dist?: Directory,
  ): Promise<Directory> {
    checkRpiInputs({ given: rpiImage !== undefined, sha256: rpiImageChecksum, platform });
    const { inputs, version } = await this.job();
    await requireRpiScript(inputs.source);
    return rpiDirectory({
      job: inputs,
      version,
      dist: dist ?? buildWheelDirectory(inputs),
      image: rpiImage ?? pinnedRpiImage(),
      sha256: rpiImageChecksum,
      platform,
      extraCaCerts: this.extraCaCerts,
    }).sync();
  }

  /**
   * bty's custom iPXE (x86_64 EFI) with bty's embedded chain script and
   * general.h trims: `bty-ipxe-x86_64-v<version>.efi` and its `.sha256`,
   * verified (PE32+ x86-64 EFI application, size near 1 MiB, bty's chain line
   * in the binary). iPXE is fetched at a pinned commit unless --ipxe-source (constructor) gives a tree.
   */
  @func()
  async buildIpxe(): Promise<Directory> {
    const { inputs, version } = await this.job();
    await checkIpxeSources(inputs.source, this.ipxeSource);
    return ipxeDirectory(inputs, this.ipxeSource ?? pinnedIpxeSource(), version).sync();
  }

  // --- release and publish (src/release/) ------------------------------------

  /**
   * Refuse to release a version the package index already has (bty's
   * check-not-published): the tag must be v<[project] version> and the index
   * must not have that version of bty-lab. A project the index does not know
   * yet is fine; an index that cannot be asked is an error.
   */
  @func({ cache: "never" })
  async checkNotPublished(
    /** The release tag, v<[project] version> (e.g. v0.77.2; GITHUB_REF_NAME). */
    tag: string,
    /** Simple index URL to ask; empty: pip's (--python-index, else pip's default index). */
    index: string = "",
    /** A server the engine cannot reach by itself (e.g. tcp://127.0.0.1:8080, tunnelled from your machine), bound as --index's host. */
    indexService?: Service,
  ): Promise<string> {
    const { inputs, version } = await this.job();
    return checkNotPublishedFlow(inputs, version, tag, { url: index, service: indexService });
  }

  /**
   * bty's tag-release: on main, once every check passed, create tag
   * v<version> on the checked-out commit (through GitHub's API; with a PAT,
   * the new tag starts the tag workflow). Returns at once when the remote
   * has the tag. With --report it goes by that run's verdict; without, it
   * runs all-checks first.
   */
  @func({ cache: "never" })
  async tagRelease(
    /** GitHub token allowed to create refs (a PAT, so the tag triggers workflows). */
    token: Secret,
    /** The checked-out commit (default: the git HEAD of the checkout this is called from; with --source, give it too). */
    head?: GitRef,
    /** GitHub repository, OWNER/NAME. */
    repo: string = BTY_GITHUB_REPOSITORY,
    /** GitHub REST API root (GitHub Enterprise: https://HOST/api/v3). */
    apiUrl: string = GITHUB_API_URL,
    /** A server the engine cannot reach by itself (e.g. tcp://127.0.0.1:8080, tunnelled from your machine), bound as --api-url's host. */
    apiService?: Service,
    /** all-checks' report.json of this commit's run (all-checks-bundle): its verdict is used instead of running every check again. */
    report?: File,
    /** Without --report, for the checks: an unpacked Ventoy 1.1.05 release (see test-usb-ventoy). */
    ventoy?: Directory,
    /** Without --report, for the checks: sha256 of ventoy-1.1.05-linux.tar.gz the download must have (default: the pinned one). */
    ventoyChecksum: string = VENTOY_SHA256,
  ): Promise<string> {
    const { version, checkout } = await this.job();
    const commit = resolveHead(checkout, head, this.workspace, "tag-release");
    return tagReleaseFlow(this, version, token, commit, { repo, apiUrl, service: apiService }, { report, ventoy: { ventoy, ventoyChecksum } });
  }

  /**
   * bty's attach-to-release: build every asset (wheel, sdist, iPXE, netboot
   * trio, ramboot-init, usbboot ISO, PDF), write .sha256 sidecars and
   * release.toml, create or complete the GitHub release of the tag (generated
   * notes) without duplicates, then read it back and verify it.
   */
  @func({ cache: "never" })
  async attachToRelease(
    /** The release tag, v<[project] version>; must be on the checked-out commit. */
    tag: string,
    /** GitHub token with contents: write. */
    token: Secret,
    /** The checked-out commit (default: the git HEAD of the checkout this is called from; with --source, give it too). */
    head?: GitRef,
    /** GitHub repository, OWNER/NAME. */
    repo: string = BTY_GITHUB_REPOSITORY,
    /** GitHub REST API root (GitHub Enterprise: https://HOST/api/v3). */
    apiUrl: string = GITHUB_API_URL,
    /** A server the engine cannot reach by itself (e.g. tcp://127.0.0.1:8080, tunnelled from your machine), bound as --api-url's host. */
    apiService?: Service,
    /** Already built assets as <group>/<file> (bty's gathered/ layout); default: built here. */
    gathered?: Directory,
    /** all-checks' report.json of the run that built these files (all-checks-bundle): each is verified against it before anything is sent. */
    report?: File,
  ): Promise<string> {
    const { inputs, version, checkout } = await this.job();
    const commit = resolveHead(checkout, head, this.workspace, "attach-to-release");
    return attachToReleaseFlow(this, inputs, { version, tag, token, head: commit, target: { repo, apiUrl, service: apiService }, gathered, report });
  }

  /**
   * bty's publish-pypi: `uv publish` of wheel and sdist with a token or
   * GitHub trusted publishing, skipping files the index already has.
   */
  @func({ cache: "never" })
  async publishPypi(
    /** The release tag, v<[project] version>. */
    tag: string,
    /** Index API token (e.g. env:PYPI_TOKEN); or use the two OIDC values. */
    token?: Secret,
    /** Trusted publishing: the runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
    oidcRequestToken?: Secret,
    /** Trusted publishing: the runner's ACTIONS_ID_TOKEN_REQUEST_URL. */
    oidcRequestUrl?: Secret,
    /** Simple index URL for the skip-existing check; empty: pip's index. */
    index: string = "",
    /** A server the engine cannot reach by itself (e.g. tcp://127.0.0.1:8080, tunnelled from your machine), bound as --index's host; uploads go there too. */
    indexService?: Service,
    /** Upload URL; empty: uv's default (PyPI). */
    publishUrl: string = "",
    /** Directory with the wheel and sdist; default: built here. */
    dist?: Directory,
    /** all-checks' report.json of the run that built these files (all-checks-bundle): each is verified against it before anything is sent. */
    report?: File,
  ): Promise<string> {
    const { inputs, version } = await this.job();
    const creds = publishCredentials(token, oidcRequestToken, oidcRequestUrl);
    return publishPypiFlow(this, inputs, { version, tag, creds, index: { url: index, service: indexService }, publishUrl, dist, report });
  }

  /**
   * The whole tag flow, in an order that never publishes from a red build:
   * gate (tag, version, tag on this commit, index), every check, the GitHub
   * release, the container images, then PyPI last (it cannot be undone).
   * Every step detects what is already done, so a re-run finishes a failed
   * one. --dry-run builds and checks everything, sends nothing, and prints
   * the plan and the manifest.
   */
  @func({ cache: "never" })
  async publish(
    /** The release tag, v<[project] version> (GITHUB_REF_NAME). */
    tag: string,
    /** The checked-out commit (default: the git HEAD of the checkout this is called from; with --source, give it too). */
    head?: GitRef,
    /** GitHub token (contents: write) for the release. */
    githubToken?: Secret,
    /** Registry user for the images (GITHUB_ACTOR). */
    registryUser: string = "",
    /** Registry token for the images (packages: write). */
    registryToken?: Secret,
    /** Index API token; or the two OIDC values for trusted publishing. */
    pypiToken?: Secret,
    /** Trusted publishing: the runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
    oidcRequestToken?: Secret,
    /** Trusted publishing: the runner's ACTIONS_ID_TOKEN_REQUEST_URL. */
    oidcRequestUrl?: Secret,
    /** GitHub repository, OWNER/NAME. */
    repo: string = BTY_GITHUB_REPOSITORY,
    /** GitHub REST API root (GitHub Enterprise: https://HOST/api/v3). */
    apiUrl: string = GITHUB_API_URL,
    /** A server the engine cannot reach by itself (e.g. tcp://127.0.0.1:8080, tunnelled from your machine), bound as --api-url's host. */
    apiService?: Service,
    /** Simple index URL the gate and skip-existing ask; empty: pip's index. */
    index: string = "",
    /** A server the engine cannot reach by itself (e.g. tcp://127.0.0.1:8080, tunnelled from your machine), bound as --index's host; uploads go there too. */
    indexService?: Service,
    /** Upload URL; empty: uv's default (PyPI). */
    publishUrl: string = "",
    /** Build and check everything, send nothing; print the plan and the manifest. */
    dryRun: boolean = false,
    /** Report format: text, markdown (for $GITHUB_STEP_SUMMARY) or json. */
    format: string = "text",
    /** Fail the call when a step failed; false returns the report anyway (its last line says whether all passed). */
    failOnError: boolean = true,
    /** For the checks: an unpacked Ventoy 1.1.05 release (see test-usb-ventoy). */
    ventoy?: Directory,
    /** For the checks: sha256 of ventoy-1.1.05-linux.tar.gz the download must have (default: the pinned one). */
    ventoyChecksum: string = VENTOY_SHA256,
  ): Promise<string> {
    const { inputs, version, checkout } = await this.job();
    const commit = resolveHead(checkout, head, this.workspace, "publish");
    return publishFlow(this, inputs, {
      version, tag, head: commit, target: { repo, apiUrl, service: apiService }, githubToken, registryUser, registryToken,
      pypiToken, oidcRequestToken, oidcRequestUrl, index: { url: index, service: indexService }, publishUrl, dryRun, format, failOnError,
      ventoy: { ventoy, ventoyChecksum },
    });
  }

  // --- end release and publish -------------------------------------------------

  /**
   * bty's PXE chain test: bty-web (bty's Dockerfile, this checkout's wheel)
   * with withcache as a service, and a QEMU client in a privileged container
   * on its own bridge + tap with dnsmasq (bty's tag rules); bty's seeding
   * sequence, then every serial marker through `bty: flash complete;
   * rebooting`. KVM when it works, else TCG (budgets scaled). Fails with a
   * debug bundle (markers seen and when, serial, dnsmasq, server logs, QEMU
   * command line).
   */
  @func()
  async testPxe(
    /** bios (SeaBIOS; the NIC's iPXE, stock undionly.kpxe on TFTP) or uefi (OVMF fetching bty's custom ipxe.efi). */
    firmware: string = "bios",
    /** bty's netboot-pc vmlinuz, initrd and squashfs for this checkout's version (default: build-netboot-pc). */
    trio?: Directory,
    /** bty's custom iPXE for uefi: a directory with bty-ipxe-x86_64-v<version>.efi (default: build-ipxe). */
    ipxe?: Directory,
  ): Promise<void> {
    checkFirmware(firmware);
    const { inputs, version } = await this.job();
    await testPxeChain(inputs, version, firmware, { trio, ipxe }, {
      netbootPc: () => this.buildNetbootPc(),
      ipxe: () => this.buildIpxe(),
      wheel: () => this.buildWheel(),
    });
  }

  /**
   * Every check and build at once, without stopping at the first failure.
   * Reports each job's status, duration, artifacts (size, sha256) and a
   * failure's last log lines, and fails if any failed.
   */
  @func({ cache: "session" })
  async allChecks(
    /** Report format: text (aligned table), markdown (for $GITHUB_STEP_SUMMARY) or json. */
    format: string = "text",
    /** Fail the call when a job failed; false returns the report anyway (its last line says whether all passed). */
    failOnError: boolean = true,
    /** For test-usb-ventoy: an unpacked Ventoy 1.1.05 release (see test-usb-ventoy). */
    ventoy?: Directory,
    /** For test-usb-ventoy: sha256 of ventoy-1.1.05-linux.tar.gz the download must have (default: the pinned one). */
    ventoyChecksum: string = VENTOY_SHA256,
    /** For build-usbboot-rpi: a Raspberry Pi OS Lite arm64 .img.xz instead of the pinned download (air-gapped). */
    rpiImage?: File,
    /** For build-usbboot-rpi: sha256 the image must have (default: the pinned release's). */
    rpiImageChecksum: string = RPI.image.sha256,
  ): Promise<string> {
    if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
      throw new Error(`unknown --format "${format}": use one of ${REPORT_FORMATS.join(", ")}`);
    }
    const { results, report } = await this.runAllChecks({ ventoy, ventoyChecksum, rpiImage, rpiImageChecksum });
    const text = renderReport(report, format);
    if (!report.ok && failOnError) throw new ChecksFailed(results, text);
    return text;
  }

  /**
   * all-checks as a directory to export and hand on: report.md (for the job
   * summary), report.json (every artifact's sha256: what tag-release,
   * attach-to-release, publish-pypi and the image publishers verify with
   * --report), gathered/<group>/ with the release files each build made (the
   * layout attach-to-release --gathered takes; publish-pypi --dist takes
   * gathered/dist), docs-html/, and debug/<job>/ with the debug bundle of
   * each end-to-end test that failed. Returned whether or not every check
   * passed: report.md's last line says which.
   */
  @func({ cache: "session" })
  async allChecksBundle(
    /** For test-usb-ventoy: an unpacked Ventoy 1.1.05 release (see test-usb-ventoy). */
    ventoy?: Directory,
    /** For test-usb-ventoy: sha256 of ventoy-1.1.05-linux.tar.gz the download must have (default: the pinned one). */
    ventoyChecksum: string = VENTOY_SHA256,
    /** For build-usbboot-rpi: a Raspberry Pi OS Lite arm64 .img.xz instead of the pinned download (air-gapped). */
    rpiImage?: File,
    /** For build-usbboot-rpi: sha256 the image must have (default: the pinned release's). */
    rpiImageChecksum: string = RPI.image.sha256,
  ): Promise<Directory> {
    const { version, results, report } = await this.runAllChecks({ ventoy, ventoyChecksum, rpiImage, rpiImageChecksum });
    const directories = (ok: boolean) => new Map(results.flatMap((r) => (r.ok === ok && r.value instanceof Directory ? [[r.name, r.value] as const] : [])));
    return checksBundle(version, report, directories(true), directories(false));
  }

  /** Every row of all-checks bound to its function, and the run report (with the checkout's version). */
  private async runAllChecks(given: RowInputs): Promise<{ version: string; results: CheckResult[]; report: RunReport }> {
    const { ventoy, ventoyChecksum, rpiImage, rpiImageChecksum } = given;
    const { version, checkout } = await this.job();
    const matrix = await this.test();
    // build-usbboot-pc runs once; its row and both USB tests share it, each waiting only for the ISO it boots.
    let usbboot: Promise<Directory> | undefined;
    const usbbootPc = () => (usbboot ??= this.buildUsbbootPc());
    const iso = () => this.usbbootIso(usbbootPc());
    // Keyed as the rows are named (checks/plan.ts): checkName takes the function path as written here.
    const { results, report } = await runAllChecks(
      {
        [checkName("lint")]: () => this.lint(),
        ...Object.fromEntries(PYTHON_LEGS.map((leg) => [checkName("test", leg), () => matrix[leg]()])),
        [checkName("typecheck")]: () => this.typecheck(),
        [checkName("flashIntegration")]: () => this.flashIntegration(),
        [checkName("deployIntegration")]: () => this.deployIntegration(),
        [checkName("deployQuadletIntegration")]: () => this.deployQuadletIntegration(),
        [checkName("buildWheel")]: () => this.buildWheel(),
        [checkName("docs")]: () => this.docs(),
        [checkName("buildIpxe")]: () => this.buildIpxe(),
        [checkName("buildNetbootPc")]: () => this.buildNetbootPc(),
        [checkName("buildRambootInit")]: () => this.buildRambootInit(),
        [checkName("buildUsbbootPc")]: usbbootPc,
        [checkName("buildUsbbootRpi")]: () => this.buildUsbbootRpi(rpiImage, rpiImageChecksum),
        ...Object.fromEntries(FIRMWARES.map((fw) => [checkName("testPxe", fw), () => this.testPxe(fw)])),
        [checkName("testUsbGrow")]: async () => this.testUsbGrow(await iso()),
        [checkName("testUsbVentoy")]: async () => this.testUsbVentoy(await iso(), ventoy, ventoyChecksum),
      },
      { version, line: checkoutLine(checkout.origin, version) },
    );
    return { version, results, report };
  }

  // --- plan and workflow ---

  /**
   * Which bty-ci calls a GitHub event starts, stage by stage, and what each
   * waits for: bty's trigger table with its CI page's promises kept.
   */
  @func()
  plan(
    /** pull_request (ref = the base branch), push, tag or workflow_dispatch. */
    event: string,
    /** Branch or tag name (main, v1.2.3) or a full ref (refs/heads/main, refs/tags/v1.2.3). */
    ref: string = "main",
    /** Files the push or pull request changes; none given: assume code changed. */
    changedPaths: string[] = [],
    /** Output: table or json. */
    format: string = "table",
  ): string {
    if (format !== "table" && format !== "json") throw new Error(`unknown --format "${format}": use table or json`);
    const p = plan(event, ref, changedPaths);
    return format === "json" ? planJson(p) : formatPlan(p);
  }

  /**
   * The drop-in .github/workflows/ci-cd.yml for bty's repository:
   * `dagger call workflow export --path .github/workflows/ci-cd.yml`.
   */
  @func()
  workflow(
    /** bty-ci module reference with a pinned ref, called with -m; empty: bty-ci is a toolchain of bty's repository. */
    module: string = "github.com/safl/bty-ci@v0.2.0",
  ): File {
    const text = workflowYaml(workflowOptions(module));
    return dag.directory().withNewFile("ci-cd.yml", text).file("ci-cd.yml");
  }
}
