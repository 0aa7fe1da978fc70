/**
 * The spec's `redaction` section (names, types, off) and the rules it makes: names matched
 * lowercased without separators, anywhere in the name; types exactly; `off` per program or
 * `*`, each named program defined by `programs`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redactor } from '../../src/goruntime/values/index.js';
import { redactionFor } from '../../src/spec/redaction.js';
import { parseSpec, SpecError } from '../../src/spec/spec-parse.js';

function issues(yaml: string): string[] {
  try {
    parseSpec(yaml, 's.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  assert.fail('expected a SpecError');
}

test('default names match through case and separators, anywhere in the name; types exactly', () => {
  const r = new Redactor();
  for (const [name, rule] of [
    ['Password', 'password'],
    ['dbPassword', 'password'],
    ['apiToken', 'token'],
    ['API_KEY', 'api_key'],
    ['X-Api-Key', 'api_key'],
    ['Set-Cookie', 'cookie'],
    ['Authorization', 'authorization'],
    ['Credentials', 'credential'],
    ['privateKey', 'private_key'],
  ] as const)
    assert.equal(r.byName(name), rule, name);
  for (const name of ['User', 'Key', 'Accept', 'Visits', 'author', 'path'])
    assert.equal(r.byName(name), undefined, name);
  assert.equal(r.byType('crypto/rsa.PrivateKey'), 'crypto/rsa.PrivateKey');
  assert.equal(r.byType('main.PrivateKey'), undefined);
  const user = new Redactor({ names: ['ssn', 'card number'], types: ['main.Secret'] });
  assert.equal(user.byName('SSN'), 'ssn');
  assert.equal(user.byName('CardNumber'), 'card number');
  assert.equal(user.byName('Password'), 'password', 'the defaults stay');
  assert.equal(user.byType('main.Secret'), 'main.Secret');
  assert.equal(user.byType('*main.Secret'), undefined);
});

test('redaction in a spec: names and types add to the defaults, off applies per program or everywhere', () => {
  const spec = parseSpec(
    `programs:
  - name: sandbox
    match: { executable: "sandbox$" }
redaction:
  names: [ssn]
  types: [crypto/tls.Certificate]
  off: [sandbox]
`,
  );
  assert.deepEqual(
    { names: spec.redaction?.names, types: spec.redaction?.types, off: spec.redaction?.off },
    { names: ['ssn'], types: ['crypto/tls.Certificate'], off: ['sandbox'] },
  );
  assert.equal(redactionFor(spec, ['sandbox']), undefined, 'off for a process of the program');
  const other = redactionFor(spec, ['orders']);
  assert.equal(other?.byName('ssn'), 'ssn');
  assert.equal(other?.byType('crypto/tls.Certificate'), 'crypto/tls.Certificate');
  assert.equal(redactionFor(parseSpec('redaction:\n  off: ["*"]\n'), []), undefined, '* is every process');
  assert.equal(redactionFor(parseSpec(''))?.byName('password'), 'password', 'no section: the defaults');
});

test('a malformed redaction section is refused at its line and column', () => {
  assert.deepEqual(issues('redaction:\n  off: [billing]\n'), [
    '2:8: redaction.off names program "billing", which "programs" does not define; name a program, or "*" for every process',
  ]);
  assert.deepEqual(issues('redaction:\n  types: [Secret]\n'), [
    '2:10: redaction type "Secret" must be a Go type name with its import path, e.g. crypto/tls.Certificate or main.Secret',
  ]);
  assert.deepEqual(issues('redaction:\n  names: password\n'), [
    '2:10: "redaction.names" must be a list of non-empty strings',
  ]);
  assert.deepEqual(issues('redaction:\n  of: ["*"]\n'), [
    '2:3: unknown key "of" in redaction; expected one of: names, types, off',
  ]);
  assert.deepEqual(issues('redaction: yes\n'), ['1:12: "redaction" must be a mapping: names, types, off']);
});
