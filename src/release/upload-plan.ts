/**
 * What to do with each release asset, from what is local (name, size,
 * digest) and what the release already has. Re-running after any failure
 * must finish the release without duplicates: an identical asset is kept,
 * a different or half-uploaded one is replaced, a missing one uploaded, and
 * one no longer part of the release removed. Pure, so every decision is
 * unit-tested; ci/release/release.ts carries it out.
 */

/** A file to be released. */
export interface LocalAsset {
  name: string;
  size: number;
  /** Hex sha256. */
  sha256: string;
}

/** An asset as GitHub's release-asset schema describes it (the fields used). */
export interface RemoteAsset {
  id: number;
  name: string;
  size: number;
  /** "sha256:<hex>", or null for assets GitHub has no digest of. */
  digest: string | null;
  /** "uploaded", or "open" for an upload that never finished. */
  state: string;
}

export type AssetAction =
  | { kind: "skip"; name: string; id: number }
  | { kind: "upload"; name: string }
  | { kind: "replace"; name: string; id: number; reason: string }
  | { kind: "delete"; name: string; id: number };

/** Why the remote copy of `local` cannot be kept, or null when it is identical. */
export function mismatch(local: LocalAsset, remote: RemoteAsset): string | null {
  if (remote.state !== "uploaded") return `upload never finished (state ${remote.state})`;
  if (remote.digest === null) return "GitHub has no digest for it";
  if (remote.digest !== `sha256:${local.sha256}`) return `digest ${remote.digest} differs`;
  if (remote.size !== local.size) return `size ${remote.size} differs from ${local.size}`;
  return null;
}

/**
 * The actions that make `remote` equal to `local`: deletions of assets not
 * in the release first, then one action per local asset in the given order
 * (so the caller can put release.toml last).
 */
export function planUploads(local: LocalAsset[], remote: RemoteAsset[]): AssetAction[] {
  const wanted = new Set(local.map((a) => a.name));
  const deletions: AssetAction[] = remote
    .filter((r) => !wanted.has(r.name))
    .map((r) => ({ kind: "delete", name: r.name, id: r.id }));
  const actions = local.map((l): AssetAction => {
    const r = remote.find((x) => x.name === l.name);
    if (!r) return { kind: "upload", name: l.name };
    const reason = mismatch(l, r);
    return reason === null ? { kind: "skip", name: l.name, id: r.id } : { kind: "replace", name: l.name, id: r.id, reason };
  });
  return [...deletions, ...actions];
}

/**
 * Differences between the release as read back and what it must hold; an
 * empty list means the release is complete and matches its manifest.
 */
export function verifyRelease(local: LocalAsset[], remote: RemoteAsset[]): string[] {
  const problems: string[] = [];
  for (const l of local) {
    const copies = remote.filter((r) => r.name === l.name);
    if (copies.length === 0) problems.push(`${l.name}: missing`);
    else if (copies.length > 1) problems.push(`${l.name}: ${copies.length} copies`);
    else {
      const reason = mismatch(l, copies[0]!);
      if (reason !== null) problems.push(`${l.name}: ${reason}`);
    }
  }
  for (const r of remote) {
    if (!local.some((l) => l.name === r.name)) problems.push(`${r.name}: not part of this release`);
  }
  return problems;
}

/** Order uploads so release.toml, the manifest scripts read, is written last. */
export function manifestLast<T extends { name: string }>(assets: T[], manifestName: string): T[] {
  return [...assets.filter((a) => a.name !== manifestName), ...assets.filter((a) => a.name === manifestName)];
}
