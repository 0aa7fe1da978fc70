/** Labels: container ids from real-world cgroup lines, the env allow-list, program rules, a live process. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Discovery } from '../../src/agent/discovery.js';
import {
  compilePrograms,
  matchPrograms,
  parseContainer,
  parseEnviron,
  readLabels,
} from '../../src/agent/labels.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget } from '../../support/target.js';

const ID = `${'a'.repeat(32)}0123456789abcdef0123456789abcdef`;

test('container ids from docker, containerd, cri-o, podman and cgroupfs kubepods paths', () => {
  const cases: [string, string | undefined, string | undefined, string | undefined][] = [
    [`12:memory:/docker/${ID}\n11:cpu:/docker/${ID}`, ID, 'docker', undefined],
    [`0::/system.slice/docker-${ID}.scope`, ID, 'docker', undefined],
    [
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6f1c2a3b_4d5e_6f70_8192_a3b4c5d6e7f8.slice/cri-containerd-${ID}.scope`,
      ID,
      'containerd',
      '6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8',
    ],
    [
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod11111111_2222_3333_4444_555555555555.slice/crio-${ID}.scope`,
      ID,
      'cri-o',
      '11111111-2222-3333-4444-555555555555',
    ],
    [
      `4:pids:/kubepods/burstable/pod6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8/${ID}`,
      ID,
      'kubernetes',
      '6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8',
    ],
    [`0::/machine.slice/libpod-${ID}.scope/container`, ID, 'podman', undefined],
    // Seen from inside another cgroup namespace the path is relative, but still names the container.
    [
      `0::/../../kubepods-burstable-pod6f1c2a3b_4d5e_6f70_8192_a3b4c5d6e7f8.slice/cri-containerd-${ID}.scope`,
      ID,
      'containerd',
      '6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8',
    ],
    ['0::/user.slice/user-0.slice/session-3.scope', undefined, undefined, undefined],
    ['0::/system.slice/docker.service', undefined, undefined, undefined],
    ['', undefined, undefined, undefined],
  ];
  for (const [text, id, runtime, pod] of cases) {
    const c = parseContainer(text);
    assert.equal(c?.id, id, text);
    assert.equal(c?.runtime, runtime, text);
    assert.equal(c?.podUid, pod, text);
  }
});

test('environment: only allow-listed names, values with = kept whole', () => {
  const env = parseEnviron('A=1\0SECRET=hunter2\0B=x=y\0=bad\0C\0', new Set(['A', 'B', 'C']));
  assert.deepEqual(env, { A: '1', B: 'x=y' });
});

test('program rules: every label regex must match; missing labels never match', () => {
  const rules = compilePrograms([
    { name: 'orders', match: { exe_name: '^orders$' } },
    { name: 'prod-orders', match: { exe_name: 'orders', 'env.APP_ENV': '^prod$' } },
    { name: 'pods', match: { pod: '.*' } },
  ]);
  assert.deepEqual(matchPrograms({ exe_name: 'orders', 'env.APP_ENV': 'prod' }, rules), [
    'orders',
    'prod-orders',
  ]);
  assert.deepEqual(matchPrograms({ exe_name: 'orders', 'env.APP_ENV': 'dev' }, rules), ['orders']);
  assert.deepEqual(matchPrograms({ exe_name: 'orders-proxy' }, rules), []);
});

test('labels of a live fixture: env allow-list, pod from the downward-API env, Go version and build ID', async () => {
  const bin = await buildFixture('exprs');
  const t = await startTarget(bin.path, [], {
    APP_ENV: 'staging',
    SECRET_TOKEN: 'do-not-report',
    POD_NAME: 'orders-7f9c',
    POD_NAMESPACE: 'shop',
  });
  try {
    const { labels, cmdline } = readLabels({
      pid: t.pid,
      executable: bin.path,
      node: 'node-1',
      envAllow: new Set(['APP_ENV', 'NOT_SET']),
      goVersion: 'go1.2.3',
    });
    assert.equal(labels['env.APP_ENV'], 'staging');
    assert.equal(labels['env.SECRET_TOKEN'], undefined);
    assert.equal(labels['env.POD_NAME'], undefined, 'pod env is read for the pod label only');
    assert.equal(labels.pod, 'orders-7f9c');
    assert.equal(labels.namespace, 'shop');
    assert.equal(labels.exe_name, 'exprs');
    assert.equal(labels.pid, String(t.pid));
    assert.equal(labels.node, 'node-1');
    assert.equal(labels.hostname, 'node-1', 'same UTS namespace: the agent hostname');
    assert.equal(labels.go_version, 'go1.2.3');
    assert.deepEqual(cmdline, [bin.path]);

    // Through discovery: the Go version and build ID come from the binary itself.
    const d = new Discovery({ node: 'node-1', envAllow: ['APP_ENV'], localMatch: { pid: `^${t.pid}$` } });
    d.scan(true);
    const [p] = d.processes();
    assert.ok(p, 'the fixture is discovered');
    assert.equal(p.goVersion, bin.goVersion);
    assert.match(p.buildId ?? '', /./);
    assert.equal(p.labels.stripped, undefined);
    assert.match(p.key, new RegExp(`^node-1:${t.pid}:\\d+$`));
  } finally {
    await t.kill();
  }
});
