/**
 * CHANGELOG.md at release time: the body of the Unreleased section becomes the release's
 * section, under a fresh empty Unreleased. Shape (Keep a Changelog, as the file says):
 * `## [Unreleased]`, then `### Added` / `### Changed` / `### Fixed` / `### Security` /
 * `### Upgrade notes` sub-sections; releases are `## [X.Y.Z] - YYYY-MM-DD`.
 */

export const SECTIONS = ['Added', 'Changed', 'Fixed', 'Security', 'Upgrade notes'] as const;
export type SectionName = (typeof SECTIONS)[number];

export class ChangelogError extends Error {}

export interface UnreleasedBody {
  /** Text before the first sub-heading (kept at the top of the release section). */
  intro: string;
  /** Non-empty sub-sections, in the canonical order above. */
  sections: { name: SectionName; text: string }[];
}

interface Located {
  lines: string[];
  /** Index of the `## [Unreleased]` line. */
  heading: number;
  /** Index of the first line after the Unreleased body. */
  end: number;
}

const UNRELEASED = /^##\s+\[?unreleased\]?\s*$/i;
// Link reference definitions ("[0.2.0]: https://...") that Keep a Changelog puts at the end.
const LINK_DEF = /^\[[^\]]+\]:\s*\S/;

function locate(text: string): Located {
  const lines = text.split('\n');
  const heading = lines.findIndex((l) => UNRELEASED.test(l));
  if (heading < 0) throw new ChangelogError('CHANGELOG.md has no "## [Unreleased]" section');
  let end = lines.findIndex((l, i) => i > heading && /^##\s/.test(l));
  if (end < 0) {
    end = lines.length;
    while (end > heading + 1 && (LINK_DEF.test(lines[end - 1] ?? '') || (lines[end - 1] ?? '').trim() === '')) end--;
  }
  return { lines, heading, end };
}

const trimBlank = (lines: string[]): string => {
  let a = 0;
  let b = lines.length;
  while (a < b && (lines[a] ?? '').trim() === '') a++;
  while (b > a && (lines[b - 1] ?? '').trim() === '') b--;
  return lines.slice(a, b).join('\n');
};

/** The Unreleased body split into its sub-sections; unknown sub-headings are refused, not dropped. */
export function readUnreleased(text: string): UnreleasedBody {
  const { lines, heading, end } = locate(text);
  const body = lines.slice(heading + 1, end);
  const intro: string[] = [];
  const byName = new Map<SectionName, string[]>();
  let current: string[] = intro;
  for (const line of body) {
    const m = /^###\s+(.+?)\s*$/.exec(line);
    if (!m) {
      current.push(line);
      continue;
    }
    const name = SECTIONS.find((s) => s.toLowerCase() === (m[1] as string).toLowerCase());
    if (!name) throw new ChangelogError(`"### ${m[1]}" under Unreleased is not one of: ${SECTIONS.join(', ')}`);
    // A repeated heading continues the same sub-section.
    current = byName.get(name) ?? [];
    byName.set(name, current);
  }
  const sections = SECTIONS.map((name) => ({ name, text: trimBlank(byName.get(name) ?? []) })).filter((s) => s.text !== '');
  return { intro: trimBlank(intro), sections };
}

export function hasRelease(text: string, version: string): boolean {
  const escaped = version.replace(/[.+]/g, '\\$&');
  return new RegExp(`^##\\s+\\[?${escaped}\\]?(\\s|$)`, 'm').test(text);
}

/** The section the release gets, as it will appear in the file. */
export function releaseSection(body: UnreleasedBody, version: string, date: string): string {
  const parts = [`## [${version}] - ${date}`];
  if (body.intro) parts.push(body.intro);
  for (const s of body.sections) parts.push(`### ${s.name}\n${s.text}`);
  return parts.join('\n\n');
}

/**
 * Moves the Unreleased body into `## [version] - date` right below an empty Unreleased.
 * Refuses an empty Unreleased and a version the file already has.
 */
export function cutChangelog(text: string, version: string, date: string): { text: string; section: string; body: UnreleasedBody } {
  if (hasRelease(text, version)) throw new ChangelogError(`CHANGELOG.md already has a section for ${version}`);
  const body = readUnreleased(text);
  if (!body.intro && body.sections.length === 0) throw new ChangelogError('the Unreleased section of CHANGELOG.md is empty: nothing to release');
  const { lines, heading, end } = locate(text);
  const section = releaseSection(body, version, date);
  const after = lines.slice(end);
  while (after.length > 0 && (after[0] ?? '').trim() === '') after.shift();
  // Everything outside the Unreleased body is kept byte for byte.
  const out = [...lines.slice(0, heading + 1), '', section, '', ...after];
  return { text: out.join('\n'), section, body };
}

export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}
