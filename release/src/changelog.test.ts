import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChangelogError, cutChangelog, hasRelease, isIsoDate, readUnreleased } from './changelog';

const HEAD = `# Changelog

Intro paragraph.

`;

const SAMPLE = `${HEAD}## [Unreleased]

### Security
- Tickets are hashed.

### Added
- A thing.
- Another thing,
  on two lines.

### Changed

### Upgrade notes
- Apply the CRDs first.

## [0.1.0] - 2026-01-01

### Added
- The start.

[Unreleased]: https://example.org/compare/v0.1.0...HEAD
`;

describe('cutChangelog', () => {
  it('moves the Unreleased body under a new dated section, drops empty sub-sections, canonical order', () => {
    const { text } = cutChangelog(SAMPLE, '0.2.0', '2026-02-03');
    expect(text).toBe(`${HEAD}## [Unreleased]

## [0.2.0] - 2026-02-03

### Added
- A thing.
- Another thing,
  on two lines.

### Security
- Tickets are hashed.

### Upgrade notes
- Apply the CRDs first.

## [0.1.0] - 2026-01-01

### Added
- The start.

[Unreleased]: https://example.org/compare/v0.1.0...HEAD
`);
  });

  it('keeps text before the first sub-heading and link definitions after a last Unreleased section', () => {
    const text = `# Changelog\n\n## [Unreleased]\nA summary line.\n\n### Fixed\n- A bug.\n\n[Unreleased]: https://example.org\n`;
    expect(cutChangelog(text, '1.0.0', '2026-03-04').text).toBe(`# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-03-04\n\nA summary line.\n\n### Fixed\n- A bug.\n\n[Unreleased]: https://example.org\n`);
  });

  it('merges a repeated sub-heading and accepts "## Unreleased" without brackets', () => {
    const body = readUnreleased('## Unreleased\n### Fixed\n- a\n### Added\n- b\n### fixed\n- c\n');
    expect(body.sections).toEqual([
      { name: 'Added', text: '- b' },
      { name: 'Fixed', text: '- a\n- c' },
    ]);
  });

  it('refuses an empty Unreleased, even one with empty sub-headings', () => {
    expect(() => cutChangelog(`${HEAD}## [Unreleased]\n\n### Added\n\n### Fixed\n\n## [0.1.0] - 2026-01-01\n- x\n`, '0.2.0', '2026-02-03')).toThrow(/Unreleased section of CHANGELOG.md is empty/);
  });

  it('refuses an unknown sub-heading instead of dropping its lines', () => {
    expect(() => cutChangelog(`${HEAD}## [Unreleased]\n### Removed\n- gone\n`, '0.2.0', '2026-02-03')).toThrow(ChangelogError);
  });

  it('refuses a file without Unreleased and a version it already has', () => {
    expect(() => cutChangelog('# Changelog\n', '0.2.0', '2026-02-03')).toThrow(/no "## \[Unreleased\]"/);
    expect(() => cutChangelog(SAMPLE, '0.1.0', '2026-02-03')).toThrow(/already has a section for 0.1.0/);
    expect(hasRelease(SAMPLE, '0.1.0')).toBe(true);
    expect(hasRelease(SAMPLE, '0.1.00')).toBe(false);
  });

  it("cuts the repository's own CHANGELOG.md, all of its Unreleased lines kept", () => {
    const real = readFileSync(resolve(__dirname, '..', '..', 'CHANGELOG.md'), 'utf8');
    const before = readUnreleased(real);
    const { text } = cutChangelog(real, '99.0.0', '2099-01-01');
    expect(readUnreleased(text)).toEqual({ intro: '', sections: [] });
    const entries = (t: string): string[] => t.split('\n').filter((l) => l.startsWith('- '));
    expect(entries(text)).toEqual(entries(real));
    expect(text).toContain(`## [99.0.0] - 2099-01-01\n\n${before.intro ? `${before.intro}\n\n` : ''}### ${before.sections[0]?.name ?? ''}\n`);
  });
});

describe('isIsoDate', () => {
  it.each([
    ['2026-02-28', true],
    ['2028-02-29', true],
    ['2026-02-29', false],
    ['2026-13-01', false],
    ['26-01-01', false],
    ['2026-1-1', false],
  ])('%s: %s', (d, ok) => {
    expect(isIsoDate(d)).toBe(ok);
  });
});
