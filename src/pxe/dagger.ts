/**
 * test-pxe on the engine: the server service (bty-web from
 * bty's docker/Dockerfile with the wheel staged, withcache beside it) and a
 * privileged QEMU container that binds it and runs ci/pxe/chain-test.py.
 */
import { type Container, type Directory, type File, ReturnType, type Service, dag } from "@dagger.io/dagger";

import { PATHS, PRIMARY_LEG, PXE, PYTHON_MATRIX } from "../config.js";
import { type JobInputs, withAptPackages, withCiScripts } from "../containers.js";
import { pythonImageRef } from "../python/plan.js";
import { IMAGE_RECIPES, wheelName } from "../release/image-plan.js";
import { ipxeArtifactName } from "../ipxe/plan.js";
import { chainArgv, checkTrio, type Firmware, PASSWORD_ENV, serverArgv } from "./plan.js";
import { JobFailure } from "../checks/report.js";

/** The server service's hostname inside the QEMU container. */
export const SERVER_HOST = "pxe-server";
/** Where things are in the QEMU container. */
const WORK = "/pxe/work";
const TRIO = "/pxe/trio";
const EFI_NBP = "/pxe/ipxe.efi";
/** bty's BIOS path: Debian's stock undionly.kpxe (the ipxe package), as bty's test seeds it. */
const STOCK_UNDI = "/usr/lib/ipxe/undionly.kpxe";

const withPasswords = (ctr: Container) =>
  ctr.withEnvVariable(PASSWORD_ENV.bty, PXE.btyPassword).withEnvVariable(PASSWORD_ENV.withcache, PXE.withcachePassword);

/**
 * bty-web as bty builds it (docker/Dockerfile, the wheel staged under dist/;
 * for uefi bty's ipxe.efi as the boot seed), with withcache from the
 * package index and iproute2 added, running ci/pxe/server.sh: both servers
 * on all addresses and the segment's server address on lo, so the URLs they
 * hand each other (bty-web → withcache, withcache → bty-web's /boot) resolve
 * inside the service as they do for the client through the QEMU container.
 */
export function pxeServer(inputs: JobInputs, wheel: File, version: string, firmware: Firmware, ipxeSeed?: File): Service {
  // bty-web's build context exactly as the image release stages it (IMAGE_RECIPES.web):
  // the recipe's checkout directories, the wheel, and for uefi the seed.
  const recipe = IMAGE_RECIPES.web;
  let context = dag.directory();
  for (const [from, to] of Object.entries(recipe.context)) context = context.withDirectory(to, inputs.source.directory(from));
  context = context.withFile(`${recipe.wheelDir}/${wheelName(version)}`, wheel);
  if (ipxeSeed) context = context.withFile(recipe.seed.path, ipxeSeed);
  const image = context
    .dockerBuild({ dockerfile: recipe.dockerfile, buildArgs: [{ name: "BTY_VERSION", value: version }] })
    .withUser("root");
  const ctr = withAptPackages(image.with(withCiScripts), inputs, ["iproute2"])
    // bty's Dockerfile sets no index; --python-index reaches withcache's install here.
    .withExec(["pip", "install", "--no-cache-dir", ...(inputs.pythonIndex ? ["--index-url", inputs.pythonIndex] : []), `withcache==${PXE.withcacheVersion}`])
    // One service definition per firmware, so the two tests never share a server.
    .withEnvVariable("BTY_CI_PXE_FIRMWARE", firmware)
    .with(withPasswords)
    .withExposedPort(PXE.btyPort)
    .withExposedPort(PXE.withcachePort)
    .withExposedPort(PXE.logPort);
  const args = serverArgv(
    {
      ciDir: PATHS.ciScripts, btyWeb: "bty-web", withcache: "withcache-server", logs: "/var/log/bty-ci",
      state: "/var/lib/bty-ci", host: "0.0.0.0", btyPort: PXE.btyPort, withcachePort: PXE.withcachePort,
      alias: true, serveLogs: true,
    },
    PXE,
  );
  return ctr.asService({ args, insecureRootCapabilities: true });
}

/** The QEMU container: the 3.12 leg's bookworm image, QEMU/dnsmasq/OVMF/SeaBIOS/ipxe, the trio and the server bound. */
export function pxeClient(inputs: JobInputs, server: Service, trio: Directory, firmware: Firmware, version: string, efi?: File): Container {
  let ctr = withAptPackages(
    dag.container().from(pythonImageRef(inputs.pythonImage, PYTHON_MATRIX[PRIMARY_LEG])).with(withCiScripts),
    inputs,
    PXE.apt,
  )
    .withDirectory(TRIO, trio)
    .with(withPasswords)
    .withServiceBinding(SERVER_HOST, server);
  if (efi) ctr = ctr.withFile(EFI_NBP, efi);
  const argv = chainArgv(
    {
      ciDir: PATHS.ciScripts, python: "python3", workdir: WORK, trio: TRIO,
      nbp: firmware === "uefi" ? EFI_NBP : STOCK_UNDI,
      btyWeb: `${SERVER_HOST}:${PXE.btyPort}`, withcache: `${SERVER_HOST}:${PXE.withcachePort}`,
      serviceLogs: {
        "bty-web": `http://${SERVER_HOST}:${PXE.logPort}/bty-web.log`,
        withcache: `http://${SERVER_HOST}:${PXE.logPort}/withcache.log`,
      },
    },
    PXE,
    firmware,
    version,
  );
  // Bounded like bty's job (timeout-minutes: 30); TERM lets the driver clean up and write its bundle.
  return ctr.withExec(["timeout", "--signal=TERM", String(PXE.timeoutSeconds), ...argv], {
    insecureRootCapabilities: true,
    expect: ReturnType.Any,
  });
}

/** Files of the debug bundle shown in a failure, in this order. */
const BUNDLE_SHOWN = ["FAILURE.txt", "markers.txt", "seeding.log", "qemu-cmdline.txt", "accel.txt", "dnsmasq.log", "serial.log", "bty-web.log", "withcache.log"];
const BUNDLE_TAIL_LINES = 60;

/** Runs the chain; on failure throws with the debug bundle's contents (tails of the long logs) and the bundle itself. */
export async function runPxeChain(client: Container, firmware: Firmware): Promise<void> {
  const code = await client.exitCode();
  if (code === 0) return;
  const out = `${await client.stdout()}${await client.stderr()}`;
  const parts = [`test-pxe:${firmware} failed (chain-test.py exited ${code})`, out.trim()];
  // A driver killed before its cleanup leaves no bundle: the output is all there is.
  if (!(await client.directory(WORK).exists("bundle"))) throw new Error(parts.join("\n"));
  const bundle = client.directory(`${WORK}/bundle`);
  const present = await bundle.entries();
  for (const name of BUNDLE_SHOWN.filter((n) => present.includes(n))) {
    const text = await bundle.file(name).contents();
    parts.push(`---- ${name} (last ${BUNDLE_TAIL_LINES} lines) ----\n${text.split("\n").slice(-BUNDLE_TAIL_LINES).join("\n")}`);
  }
  // The whole bundle travels with the error: all-checks-bundle exports it.
  throw new JobFailure(parts.join("\n"), bundle);
}

/** The builds test-pxe boots when they are not given. */
export interface PxeBuilds {
  netbootPc: () => Promise<Directory>;
  ipxe: () => Promise<Directory>;
  wheel: () => Promise<Directory>;
}

/**
 * test-pxe for one firmware: a given trio is checked before any build, the
 * builds it needs run at once (iPXE for uefi only), then the chain runs.
 */
export async function testPxeChain(
  inputs: JobInputs,
  version: string,
  firmware: Firmware,
  given: { trio?: Directory; ipxe?: Directory },
  build: PxeBuilds,
): Promise<void> {
  if (given.trio) checkTrio(await given.trio.entries(), version);
  const [media, ipxeDir, wheelDir] = await Promise.all([
    given.trio ?? build.netbootPc(),
    firmware === "uefi" ? (given.ipxe ?? build.ipxe()) : undefined,
    build.wheel(),
  ]);
  if (!given.trio) checkTrio(await media.entries(), version);
  const efi = ipxeDir?.file(ipxeArtifactName(version));
  const server = pxeServer(inputs, wheelDir.file(wheelName(version)), version, firmware, efi);
  await runPxeChain(pxeClient(inputs, server, media, firmware, version, efi), firmware);
}
