import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PLIST_ELEMENTS, MAX_YAML_ENTRIES, plistShapeProblem, yamlShapeProblem } from './prescan';

const time = (fn: () => unknown) => {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

describe('YAML pre-scan', () => {
  it('passes every policy file of the repository', () => {
    for (const file of ['national.yaml', 'catalog/apps.yaml', 'ministries/interieur.yaml', 'ministries/armees.yaml'])
      expect(yamlShapeProblem(readFileSync(join(__dirname, '../../../policies', file), 'utf8'))).toBeNull();
  });

  it('passes a policy of 3,000 rules in block style, with comments, quotes and brackets in text', () => {
    const rules = Array.from(
      { length: 3000 },
      (_, i) =>
        `  - app: app-${i} # [not nesting\n    action: block\n    exemptable: false\n    legalBasis: "Note [1], article {2}, alinéa 3"\n`,
    ).join('');
    expect(yamlShapeProblem(`mode: blocklist\nrules:\n${rules}`)).toBeNull();
  });

  it('refuses deep flow nesting, deep indentation and huge documents in one cheap pass', () => {
    let problem: string | null = null;
    const ms = time(() => (problem = yamlShapeProblem(`extra: ${'['.repeat(400_000)}1${']'.repeat(400_000)}`)));
    expect(problem).toMatch(/nested too deeply \(more than 32 levels\)/);
    expect(ms).toBeLessThan(50);
    expect(yamlShapeProblem(`a: ${'{b: '.repeat(40)}1${'}'.repeat(40)}`)).toMatch(/nested too deeply/);
    expect(
      yamlShapeProblem(`extra:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`),
    ).toMatch(/indented more than 256 columns/);
    expect(yamlShapeProblem(`a:\n${'- - '.repeat(200)}x\n`)).toMatch(/indented more than 256 columns/);
    expect(yamlShapeProblem(`a: [${'1,'.repeat(MAX_YAML_ENTRIES)}1]`)).toMatch(/more than 40,000 entries/);
    expect(yamlShapeProblem('x\n'.repeat(MAX_YAML_ENTRIES + 1))).toMatch(/more than 40,000 entries/);
  });
});

describe('plist pre-scan', () => {
  const plist = (inner: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd"><plist version="1.0"><dict>${inner}</dict></plist>`;

  it('passes real messages, an inventory of 500 apps and empty containers', () => {
    const apps = Array.from(
      { length: 500 },
      (_, i) =>
        `<dict><key>Identifier</key><string>com.app${i}</string><key>ShortVersion</key><string>1.0</string><key>IsManaged</key><false/><key>Name</key><string>App</string></dict>`,
    ).join('');
    expect(plistShapeProblem(plist(`<key>InstalledApplicationList</key><array>${apps}</array>`))).toBeNull();
    expect(
      plistShapeProblem(plist(`<key>A</key>${'<array>'.repeat(30)}<array/><dict/>${'</array>'.repeat(30)}`)),
    ).toBeNull();
  });

  it('refuses deep nesting and too many elements before any parser runs', () => {
    let problem: string | null = null;
    const deep = plist(`<key>UDID</key>${'<array>'.repeat(70_000)}<string>x</string>${'</array>'.repeat(70_000)}`);
    const ms = time(() => (problem = plistShapeProblem(deep)));
    expect(problem).toMatch(/nested too deeply \(more than 32 levels\)/);
    expect(ms).toBeLessThan(50);
    expect(
      plistShapeProblem(plist(`<key>A</key><array>${'<string>x</string>'.repeat(MAX_PLIST_ELEMENTS)}</array>`)),
    ).toMatch(/more than 25,000 elements/);
  });
});
