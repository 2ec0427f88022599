/**
 * The patches in patches/ are applied by patch-package on `npm ci` (postinstall). An install that
 * skipped it, or a dependency upgraded past its patch, would run without them and fail in ways
 * far from here (a hang, a slow instance): this names the file and the line that is missing.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const PATCHES = path.join(ROOT, 'patches');

/** Per patched file, the lines each patch adds to it. */
function addedLines(patchFile: string): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of fs.readFileSync(patchFile, 'utf8').split('\n')) {
    const target = /^\+\+\+ b\/(.+)$/.exec(line);
    if (target) {
      current = [];
      byFile.set(target[1]!, current);
    } else if (current && line.startsWith('+') && line.slice(1).trim() !== '') {
      current.push(line.slice(1));
    }
  }
  return byFile;
}

const patchFiles = fs.readdirSync(PATCHES).filter((file) => file.endsWith('.patch'));

it('finds the patches', () => {
  expect(patchFiles).toEqual(expect.arrayContaining(['kafkajs+2.2.4.patch', 'postgres+3.4.9.patch', 'serverless-offline+14.8.2.patch']));
});

describe.each(patchFiles)('%s', (patchFile) => {
  // patch-package's names: <package>+<version>.patch, a scope's slash written as '+'.
  const [, scopedName, version] = /^(.+)\+([^+]+)\.patch$/.exec(patchFile)!;
  const name = scopedName!.replace('+', '/');

  it('is for the installed version of its package', () => {
    const installed = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(version);
  });

  it.each([...addedLines(path.join(PATCHES, patchFile))])('is applied to %s', (file, lines) => {
    const source = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const missing = lines.filter((line) => !source.includes(line));
    expect(missing).toEqual([]);
  });
});
