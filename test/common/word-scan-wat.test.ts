/**
 * The WebAssembly module in word-scan.ts is the assembled text of word-scan.wat: the text is
 * assembled here by wabt (the version named in word-scan.ts) and compared byte for byte with
 * the base64 the module loads, so an edit to either alone fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import wabtInit from 'wabt';
import { ROOT } from '../../support/go-fixtures.js';

test('word-scan.ts carries exactly the assembled word-scan.wat', async () => {
  const wabt = await wabtInit();
  const dir = join(ROOT, 'src', 'common');
  const text = readFileSync(join(dir, 'word-scan.wat'), 'utf8');
  const source = readFileSync(join(dir, 'word-scan.ts'), 'utf8');
  const version = /by wabt ([\d.]+)/.exec(source)?.[1];
  const installed = JSON.parse(
    readFileSync(join(ROOT, 'node_modules', 'wabt', 'package.json'), 'utf8'),
  ).version;
  assert.equal(installed, version, 'word-scan.ts names the wabt version its module was assembled with');
  const module = wabt.parseWat('word-scan.wat', text, { simd: true });
  try {
    module.validate();
    const { buffer } = module.toBinary({ log: false, write_debug_names: false });
    const carried = /WASM_BASE64 =\s*'([^']+)'/.exec(source)?.[1];
    assert.ok(carried, 'WASM_BASE64 not found in word-scan.ts');
    assert.equal(
      Buffer.from(buffer).toString('base64'),
      carried,
      'word-scan.ts does not carry word-scan.wat as assembled: run `npx wat2wasm src/common/word-scan.wat -o /tmp/ws.wasm && base64 -w0 /tmp/ws.wasm` and paste it',
    );
  } finally {
    module.destroy();
  }
});
