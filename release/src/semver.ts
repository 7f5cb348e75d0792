/** SemVer 2.0.0 parsing and precedence (https://semver.org), the subset a release needs. */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: (string | number)[];
  build: string[];
}

// Numeric identifiers without leading zeros; pre-release identifiers likewise when numeric.
const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const SEMVER = new RegExp(`^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`);

export function parseSemVer(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  if (!m) return undefined;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  return {
    major: nums[0] as number,
    minor: nums[1] as number,
    patch: nums[2] as number,
    prerelease: m[4] ? m[4].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

/** -1, 0 or 1 by SemVer precedence (build metadata does not count). */
export function compareSemVer(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  // A version without a pre-release ranks above the same version with one.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i] as string | number;
    const y = b.prerelease[i] as string | number;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    // Numeric identifiers rank below alphanumeric ones; alphanumerics compare in ASCII order.
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

export function formatSemVer(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}${v.build.length ? `+${v.build.join('.')}` : ''}`;
}

/**
 * Whether going from `from` to `to` may break users under our scheme: any major bump, and
 * while on 0.y.z any minor bump (release/README.md). Such releases carry Upgrade notes.
 */
export function mayBreak(from: SemVer, to: SemVer): boolean {
  if (to.major !== from.major) return true;
  return to.major === 0 && to.minor !== from.minor;
}
