/**
 * Every pinned input of bty-ci in one place: base images, tool versions, the
 * Python matrix and cache-volume names. Bump them here and nowhere else.
 *
 * Tags are exact (patch level). Digests are not pinned: bty-ci was written
 * where no container registry is reachable, so no digest could be verified;
 * pass `--python-image` with an `@sha256:` reference to lock one down.
 */

/** Debian release of every base image (apt cache volumes are keyed by it). */
export const DEBIAN_SUITE = "bookworm";

/**
 * Python base image; `{version}` becomes the exact Python version of the
 * matrix leg. Any registry mirror works as long as it keeps this layout.
 * A plain literal (the SDK's introspector reads it as the CLI default), so
 * a unit test keeps its suite equal to DEBIAN_SUITE.
 */
export const PYTHON_IMAGE = "python:{version}-slim-bookworm";

/**
 * Exact Python release per matrix leg (bty tests 3.11 to 3.14): the newest
 * patch of each minor that the official images publish as -slim-bookworm
 * (test/fixtures/official-images-python-slim-bookworm.txt, with its date;
 * a unit test keeps these equal to it). Old patch tags are not rebuilt with
 * Debian's security updates, so stay on the newest.
 */
export const PYTHON_MATRIX = {
  py311: "3.11.16",
  py312: "3.12.14",
  py313: "3.13.15",
  py314: "3.14.7",
} as const;

export type PythonLeg = keyof typeof PYTHON_MATRIX;

/** The legs in matrix order, as the TestMatrix object's functions are named. */
export const PYTHON_LEGS = Object.keys(PYTHON_MATRIX) as PythonLeg[];

/** The leg bty runs mypy, lint, the wheel, docs and flash tests on. */
export const PRIMARY_LEG: PythonLeg = "py312";

/** Tool versions installed from the Python package index. */
export const TOOLS = {
  uv: "0.13.9",
  preCommit: "4.7.0",
  pyyaml: "6.0.3",
  /** bty's deploy jobs pip-install it unpinned; the newest release when this was written. */
  podmanCompose: "1.6.0",
} as const;

/** Named cache volumes; the prefix keeps them apart from other modules. */
export const CACHE = {
  uv: "bty-ci-uv",
  pip: "bty-ci-pip",
  preCommit: "bty-ci-pre-commit",
  aptArchives: `bty-ci-apt-archives-${DEBIAN_SUITE}`,
  aptLists: `bty-ci-apt-lists-${DEBIAN_SUITE}`,
  /** TeX's generated fonts and format files (TEXMFVAR). */
  texmfVar: "bty-ci-texmf-var",
} as const;

/** Where things live inside the job containers. */
export const PATHS = {
  source: "/src",
  ciScripts: "/opt/bty-ci/ci",
  // Caches sit outside $HOME and are named by env vars, so no tool's
  // default location (or the image's user) decides what gets cached.
  uvCache: "/cache/uv",
  pipCache: "/cache/pip",
  preCommitHome: "/cache/pre-commit",
  texmfVar: "/cache/texmf-var",
  toolBin: "/opt/bty-ci/bin",
} as const;

/**
 * Kept out of the source directory the engine uploads, so caches and build
 * output never change the cache key of a check.
 */
export const SOURCE_IGNORE = [
  ".git",
  ".venv",
  "**/__pycache__",
  "**/.pytest_cache",
  "**/.mypy_cache",
  "**/.ruff_cache",
  "dist",
  "build",
  "docs/_build",
  "cijoe/_build",
  "cijoe/cijoe-output",
  "cijoe/cijoe-archive",
  "bty-media/live-build/cache",
  "node_modules",
  // Dagger's own files in a checkout that uses bty-ci as a toolchain: the
  // workspace config (`dagger init`, `dagger toolchain install` rewrite it,
  // which must not invalidate every check's cache) and the directory a
  // local copy of bty-ci is installed from (the engine smoke's
  // test/engine/smoke.sh puts it there). bty's lint must not lint either.
  "dagger.json",
  ".dagger",
  ".bty-ci",
];

// --- lint (decision D1) ----------------------------------------

/** Where lint finds bty's hook set and each hook repository's definitions. */
export const LINT = {
  /** bty's pre-commit config, at the root of the checkout. */
  config: ".pre-commit-config.yaml",
  /** The file pre-commit reads from a hook repository at the pinned rev. */
  manifestFile: ".pre-commit-hooks.yaml",
  /** Where the lint container gets those manifests, `<owner>.<repo>@<rev>.yaml`. */
  manifestsDir: "/opt/bty-ci/hook-manifests",
} as const;

/** Debian packages per job, as bty's workflow installs them. */
export const APT = {
  lint: ["git"],
  flashIntegration: [
    "qemu-utils",
    "zstd",
    "gdisk",
    "e2fsprogs",
    "parted",
    "exfatprogs",
    "exfat-fuse",
    "curl",
    "udev",
    "fdisk",
  ],
  /**
   * podman and what it runs containers with where there is no systemd
   * (deploy-integration): runc, as crun refuses hybrid cgroups (ci/deploy/podman-env.sh).
   */
  deployIntegration: ["podman", "netavark", "aardvark-dns", "runc", "conmon", "iptables", "catatonit"],
  /**
   * build-usbboot-rpi: bty's job's list (cloud-guest-utils util-linux mount
   * parted gdisk e2fsprogs dosfstools xz-utils curl gzip) minus curl (the
   * engine downloads), plus fdisk (sfdisk) and fusefat (the boot partition
   * where the kernel has no vfat).
   */
  rpi: ["cloud-guest-utils", "util-linux", "mount", "parted", "gdisk", "fdisk", "e2fsprogs", "dosfstools", "xz-utils", "gzip", "fusefat"],
  docs: [
    "texlive-latex-recommended",
    "texlive-latex-extra",
    "texlive-fonts-recommended",
    "tex-gyre",
    "fonts-freefont-otf",
    "latexmk",
    "make",
  ],
} as const;

// --- deploy integration (deploy/) ---------------------------------------

/**
 * The sidecars of bty's compose stack, built from their sdists as their own
 * images are (deploy/Containerfile from the repository root, which the
 * sdist ships): the newest releases when this was written, the ones bty's
 * trio test needs (withcache 0.13.3 for sha256 in /catalog, nbdmux 0.9.x
 * for netboot bundles; bty 0.77.2's uv.lock still pins older ones). The
 * sha256 is the package index's for the sdist.
 */
export const DEPLOY_SIDECARS = {
  withcache: { version: "0.13.3", sha256: "5b835d83060f8accb93e0a7d4f37d266c087205127e59e4d3777d64063f9ce45" },
  nbdmux: { version: "0.9.2", sha256: "aaec9854036feb7fa4295ab4796dff1d43971468b4bdd5d1a7f6c74bf7d45224" },
} as const;

export type SidecarName = keyof typeof DEPLOY_SIDECARS;

// --- build-usbboot-rpi (rpi/) ---------------------------------------------

/**
 * bty's Raspberry Pi image starts from Raspberry Pi OS Lite arm64; bty
 * downloads `raspios_lite_arm64_latest` (whatever is newest that day). Here
 * one release is pinned by URL and sha256: 2026-06-18, the newest before
 * bty 0.77.2 (2026-07-12). The sha256 is the one its `.sha256` file beside it
 * publishes (no Raspberry Pi server is reachable where this was written, so
 * it was taken from a public lock file that records that file's content).
 */
export const RPI = {
  image: {
    name: "2026-06-18-raspios-trixie-arm64-lite.img.xz",
    url: "https://downloads.raspberrypi.com/raspios_lite_arm64/images/raspios_lite_arm64-2026-06-19/2026-06-18-raspios-trixie-arm64-lite.img.xz",
    sha256: "acff736ca7945e3b305f07cda4abdb870910e12634991da69783611756e381b3",
  },
} as const;

// --- Drop-in workflow for bty's repository (pipeline/workflow.ts, pipeline/triggers.ts) ---

/**
 * What the drop-in `.github/workflows/ci-cd.yml` pins. Actions are pinned by
 * commit (a moved tag cannot change what runs); the comment names the release.
 */
export const WORKFLOW_PINS = {
  /** Dagger CLI the workflow installs; equal to dagger.json's engineVersion. */
  daggerCli: "0.21.8",
  /** dagger/dagger-for-github v8.4.1. */
  daggerAction: "dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77",
  /** actions/checkout v6.1.0. */
  checkout: "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803",
  /** actions/upload-artifact v4.6.2. */
  uploadArtifact: "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02",
  /** actions/download-artifact v4.3.0. */
  downloadArtifact: "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093",
  /** Hosted runner image for every job. */
  runner: "ubuntu-24.04",
} as const;

/**
 * bty at its pinned release: what a call run outside a bty checkout works on
 * (decision D57). The commit is the v0.77.2 tag's, so a moved tag changes nothing.
 */
export const BTY_RELEASE = {
  gitUrl: "https://github.com/safl/bty.git",
  version: "0.77.2",
  commit: "be25ebf131383bca2e0a1faefe87b1a4ef694875",
  /** bty's [project] name (and its PyPI project). */
  project: "bty-lab",
} as const;

/** Where bty-ci is published (decision D9); the workflow calls it with `-m`. */
export const BTY_CI_MODULE = "github.com/safl/bty-ci";

// --- USB tests (test-usb-grow, test-usb-ventoy) ---

/** sha256 of ventoy-1.1.05-linux.tar.gz (provenance at USB.ventoy); a literal, so the CLI shows it as the default. */
export const VENTOY_SHA256 = "3379c99890359dcff55aab7f7b3286f87c988d1da2fd616e6a9e305fb0a1de9e";

/**
 * bty's USB tests as bty's cijoe tasks run them: a 4 GiB disk, the wizard
 * on tty1, BTY_IMAGES grown to at least 1 GiB, KVM budgets (multiplied by
 * `tcgScale` when QEMU falls back to TCG).
 */
export const USB = {
  /** Debian packages of the test container (QEMU, SSH client, loop/exFAT tools). */
  apt: [
    "qemu-system-x86",
    "qemu-utils",
    "ovmf",
    "openssh-client",
    "sshpass",
    "fdisk",
    "parted",
    "udev",
    "exfatprogs",
    "exfat-fuse",
    // What Ventoy2Disk.sh calls besides its bundled tools (as distribution
    // packages of Ventoy list them): mkfs.vfat, hexdump, ps, xz.
    "dosfstools",
    "bsdextrautils",
    "procps",
    "xz-utils",
  ],
  /** Size of the staged disk (bty: truncate to exactly 4 GiB). */
  diskBytes: 4294967296,
  /** The grown partition must be at least this large (bty: 1 GiB). */
  minGrowBytes: 1073741824,
  /** Label of the ISO's trailing exFAT partition. */
  imagesLabel: "BTY_IMAGES",
  /** Under TCG every budget is this many times bty's KVM one. */
  tcgScale: 3,
  /**
   * bty's budgets in seconds under KVM (cijoe tasks and configs); `grown`
   * bounds the grow started at run time under TCG (bty's unit:
   * TimeoutStartSec=120s).
   */
  growTimeouts: { login: 180, ssh: 240, wizard: 60, grown: 120, poweroff: 60 },
  ventoyTimeouts: { ssh: 480, wizard: 60, poweroff: 60 },
  /** Where the test container keeps the ISO, the disk and the debug bundle. */
  workDir: "/var/lib/bty-ci/usb",
  /**
   * The Ventoy release bty's test-usb-ventoy downloads, and its tarball's
   * sha256 as two independent packagings pin it for this URL: Arch's
   * `ventoy-bin` recipe for 1.1.05 (chaotic-aur/packages commit d4e06e7b,
   * PKGBUILD and .SRCINFO) and Homebrew's formula and Linux cask for 1.1.05.
   * `--ventoy-checksum` overrides it, `--ventoy` replaces the download.
   */
  ventoy: {
    version: "1.1.05",
    url: "https://github.com/ventoy/Ventoy/releases/download/v1.1.05/ventoy-1.1.05-linux.tar.gz",
    sha256: VENTOY_SHA256,
  },
} as const;

// ---------------------------------------------------------------------------
// iPXE (build-ipxe)

/**
 * bty's custom iPXE: upstream source pinned to one commit (bty builds
 * `master` unpinned), the target bty builds, and the bounds its output is
 * checked against. The build runs in the 3.12 leg's Python image (bookworm,
 * like every job; its Python runs the verifier).
 */
export const IPXE = {
  gitUrl: "https://github.com/ipxe/ipxe.git",
  commit: "0ab2277c40f1de56c736b9e7db7ee23d52509ec5",
  /** make target inside the iPXE tree's src/, as bty_ipxe_build.py builds it. */
  target: "bin-x86_64-efi/ipxe.efi",
  /** bty's build-ipxe apt set, minus git (the engine fetches the source). */
  apt: ["build-essential", "liblzma-dev", "mtools", "perl"],
  /** Where the iPXE tree and the output live in the build container. */
  sourceDir: "/ipxe",
  outDir: "/out",
  /**
   * Accepted size of ipxe.efi: "~1 MB", close to Debian's stock 996 KB
   * (Debian's); 1,146,368 bytes at the pinned commit with bty's trims.
   */
  minBytes: 768 * 1024,
  maxBytes: 1536 * 1024,
  /** Parallel make jobs (bty uses 4). */
  makeJobs: 4,
  /** The compile is stopped after this long and fails with its last log lines. */
  buildTimeoutSeconds: 1800,
} as const;

// ---------------------------------------------------------------------------
// PXE chain test (test-pxe)

/**
 * bty's PXE chain test as cijoe/configs/test-pxe.toml and
 * pxe_run_chain_test.py set it up, plus what bty-ci adds: the QEMU/dnsmasq
 * packages of the test container, withcache pinned from the package index
 * (bty runs `ghcr.io/safl/withcache:latest`, which no registry here serves),
 * and marker budgets per accelerator.
 */
export const PXE = {
  /** The segment's /24; the server (bty-web, withcache, dnsmasq) is .1, DHCP .50–.150. */
  subnet: "192.168.99",
  btyPort: 8080,
  withcachePort: 8081,
  /** The server service serves its logs here for the chain test's debug bundle. */
  logPort: 8099,
  /** bty's test passwords (test-only values, as in bty's config; not secrets). */
  btyPassword: "test-admin-pw",
  withcachePassword: "pxe-test-withcache",
  /** withcache from the package index, installed into the bty-web image. */
  withcacheVersion: "0.13.3",
  /** Client RAM (bty: live-boot loads the ~650 MiB squashfs into RAM). */
  memoryMiB: 2048,
  /** /healthz of both servers and withcache's download (bty's HEALTHZ_TIMEOUT). */
  healthzSeconds: 180,
  /** Marker budgets are sized for KVM and multiplied by this when QEMU gets TCG. */
  tcgScale: 2,
  /** Packages of the QEMU container (bty's apt set for test-pxe minus cpu-checker, plus OVMF and SeaBIOS; Python is the image's). */
  apt: ["qemu-system-x86", "qemu-utils", "dnsmasq-base", "ipxe", "ovmf", "seabios", "iproute2"],
  /** The whole test is stopped after this long (bty's job: timeout-minutes 30). */
  timeoutSeconds: 1800,
} as const;

// ---- media (live-build images: netboot-pc, ramboot-init, usbboot-pc) ----

/**
 * Pins of the live-media builds. bty's `auto/config`
 * needs live-build 20240208 or newer: Debian trixie's package, so the build
 * container is trixie (bookworm's 20230502 is too old).
 */
export const MEDIA = {
  /** Build container; a plain literal (the introspector reads it as a CLI default). */
  image: "debian:trixie-20251117-slim",
  /** Debian suite of that image (apt cache volumes are keyed by it). */
  suite: "trixie",
  /** What the build container installs (live-build, its helpers, the verifiers' tools). */
  packages: [
    "live-build",
    "debootstrap",
    "debian-archive-keyring",
    "squashfs-tools",
    "xorriso",
    // usbboot-pc's ISO is made again with live-build's own xorriso line,
    // which names isolinux's hybrid MBR (live-build ran it in its chroot).
    "isolinux",
    "cpio",
    "zstd",
    "xz-utils",
    "git",
    "python3",
    "ca-certificates",
    "fdisk",
    "util-linux",
    "udev",
    "exfatprogs",
    // usbboot-pc's BTY_IMAGES partition is mounted to be filled: FUSE where
    // the kernel has no exFAT (a real engine's host here had none).
    "exfat-fuse",
  ],
  /** What bty's hooks install bty as: the squashfs must list it. */
  btyInstallPath: "/opt/bty/venv/bin/bty",
  /** Label of the trailing exFAT partition of the ISO (bty's usb_iso_build). */
  imagesLabel: "BTY_IMAGES",
} as const;

/** Cache volumes of the media builds. */
export const MEDIA_CACHE = {
  aptArchives: `bty-ci-apt-archives-${MEDIA.suite}`,
  aptLists: `bty-ci-apt-lists-${MEDIA.suite}`,
  /** live-build's own cache/ (bootstrap and chroot .debs), per variant. */
  liveBuild: "bty-ci-live-build-cache",
} as const;

// --- deploy-quadlet-integration (deploy/) ------------------------------------

/**
 * bty's quadlet test needs systemd as PID 1 and rootful podman with
 * Quadlet: a Debian trixie root (systemd 257, podman 5.4), the media
 * builds' image and apt caches, booted by ci/deploy/quadlet-run.sh inside
 * the job's privileged container. ci/deploy/quadlet-root.sh makes the same
 * root for the payload tier from the same package list (a unit test holds
 * the two lists equal).
 */
export const QUADLET = {
  image: MEDIA.image,
  /** trixie's Python (3.13): bty's environment in the root is made with it (bty's job: 3.12 from setup-uv). */
  python: "/usr/bin/python3",
  /** The root's Debian packages: systemd, rootful podman with Quadlet, a registry to serve the images, Python for bty's tests. */
  packages: [
    "systemd", "systemd-sysv", "dbus",
    "podman", "runc", "conmon", "netavark", "aardvark-dns", "containers-storage", "catatonit",
    "iptables", "nftables", "iproute2",
    "docker-registry", "skopeo",
    "python3", "python3-venv", "ca-certificates", "curl", "procps",
  ],
  /** The job container's own additions: pip for uv, util-linux's unshare and setpriv for quadlet-run.sh. */
  jobPackages: ["python3-pip", "util-linux"],
  /** bty's test is stopped after this long (bty's job sets none, so GitHub's 6 h; deploy-integration's bound). */
  timeoutSeconds: 1800,
} as const;

// Container images: bty-web and bty-tftp.

/**
 * Where each image is published by default (bty's ghcr.io namespace).
 * Plain literals: the introspector reads them as the CLI defaults.
 */
export const WEB_IMAGE_REPOSITORY = "ghcr.io/safl/bty-web";
export const TFTP_IMAGE_REPOSITORY = "ghcr.io/safl/bty-tftp";

/** Platforms every image is built for, as bty's workflow does. */
export const IMAGE_PLATFORMS = ["linux/amd64", "linux/arm64"] as const;

/** The `org.opencontainers.image.source` label: bty's repository. */
export const IMAGE_SOURCE_URL = "https://github.com/safl/bty";

// GitHub: where bty's tags and releases go. Plain literals: the introspector
// reads them as the CLI defaults of --repo and --api-url.

/** bty's GitHub repository, OWNER/NAME. */
export const BTY_GITHUB_REPOSITORY = "safl/bty";

/** GitHub's REST API root (GitHub Enterprise: https://HOST/api/v3). */
export const GITHUB_API_URL = "https://api.github.com";

/** Seconds each live-build stage may run by default (the media functions' --timeout-seconds). */
export const MEDIA_STAGE_TIMEOUT_SECONDS = 2400;

/**
 * Pushes that fail with a transient registry error are tried again after
 * these pauses (bty's workflow tries twice, without a pause).
 */
export const PUBLISH_RETRY_DELAYS_MS = [5_000, 20_000, 60_000] as const;

/** Pinned inputs of the release programs and the GitHub/PyPI targets. */
export const RELEASE = {
  /** Node image the GitHub program (ci/release/release.ts) runs in; Node 24 as the module runtime. */
  nodeImage: "node:24.11.1-bookworm-slim",
  /** npm's download cache for the program's dependencies. */
  npmCache: "bty-ci-npm",
  /** Where the release program and its node_modules live in that container. */
  programRoot: "/opt/bty-ci",
  /**
   * What of bty-ci the program's container holds, at the same paths below
   * programRoot: the program and every file of src/ it imports (a unit test
   * follows its imports and holds this list to them).
   */
  programSources: { directories: ["ci/release", "src/release"], files: ["src/clip.ts", "src/sha256.ts"] },
} as const;
