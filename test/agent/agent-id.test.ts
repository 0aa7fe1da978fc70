/**
 * The default agent id, read from machine trees built in temp directories: stable for one
 * machine, different for a clone whose machine-id was copied but whose hardware UUID (or,
 * without one, network cards) differ; placeholders and virtual interfaces are not identity;
 * nothing readable leaves the hostname alone. (test/fleet/duplicate.test.ts checks the id a
 * real agent takes on this machine.)
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { deriveAgentId, readMachineIdentity } from '../../src/agent/agent-id.js';

const base = mkdtempSync(join(tmpdir(), 'periscope-agent-id-'));
after(() => rmSync(base, { recursive: true, force: true }));

const MACHINE_ID = '3d1219c7c4c5404aaa1f6d2a48adfda4';

/** A machine tree: files by path relative to its root; a path ending in `/` is a directory. */
function machine(name: string, files: Record<string, string>): string {
  const root = join(base, name);
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
    else {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), `${text}\n`);
    }
  }
  return root;
}

const nic = (name: string, mac: string, physical = true): Record<string, string> => ({
  [`sys/class/net/${name}/address`]: mac,
  ...(physical ? { [`sys/class/net/${name}/device/`]: '' } : {}),
});

test('one machine: the same id at every start; its clones: other ids', () => {
  const vm = machine('vm', {
    'etc/machine-id': MACHINE_ID,
    'sys/class/dmi/id/product_uuid': '4C4C4544-0042-3510-8052-B4C04F4E3132',
    ...nic('eth0', '52:54:00:12:34:56'),
  });
  const id = deriveAgentId('web-1', readMachineIdentity(vm));
  assert.match(id.id, /^web-1-[0-9a-f]{8}$/);
  assert.deepEqual(id.sources, ['machine-id', 'hardware UUID']);
  assert.deepEqual(deriveAgentId('web-1', readMachineIdentity(vm)), id, 'stable');
  assert.ok(!id.id.includes(MACHINE_ID.slice(0, 8)), 'the machine id itself is not shown');

  // A clone: same files (machine-id, hostname), the hypervisor's new UUID and MAC.
  const clone = join(base, 'clone');
  cpSync(vm, clone, { recursive: true });
  writeFileSync(join(clone, 'sys/class/dmi/id/product_uuid'), '4C4C4544-0042-3510-8052-B4C04F4E9999\n');
  assert.notEqual(deriveAgentId('web-1', readMachineIdentity(clone)).id, id.id);

  // A NIC added later does not change the id of a machine with a hardware UUID.
  writeFileSync(join(vm, 'etc/hostname'), 'web-1\n');
  machine('vm', nic('eth1', '52:54:00:ab:cd:ef'));
  assert.equal(deriveAgentId('web-1', readMachineIdentity(vm)).id, id.id);
});

test('without a usable hardware UUID, the physical network cards tell clones apart', () => {
  const files = {
    'etc/machine-id': MACHINE_ID,
    'sys/class/dmi/id/product_uuid': '03000200-0400-0500-0006-000700080009', // a firmware placeholder
    ...nic('lo', '00:00:00:00:00:00', false),
    ...nic('docker0', '02:42:ac:11:00:01', false), // virtual: a new address every boot
  };
  const a = machine('board-a', { ...files, ...nic('eno1', 'b4:2e:99:00:00:01') });
  const b = machine('board-b', { ...files, ...nic('eno1', 'b4:2e:99:00:00:02') });
  const ia = readMachineIdentity(a);
  assert.equal(ia.hardwareId, undefined, 'the placeholder UUID is not identity');
  assert.deepEqual(ia.macs, ['b4:2e:99:00:00:01'], 'only cards backed by a device');
  const idA = deriveAgentId('node', ia);
  assert.deepEqual(idA.sources, ['machine-id', 'network card addresses']);
  assert.notEqual(deriveAgentId('node', readMachineIdentity(b)).id, idA.id);
  // The virtual interfaces change: the id does not.
  writeFileSync(join(a, 'sys/class/net/docker0/address'), '02:42:ac:11:00:99\n');
  assert.equal(deriveAgentId('node', readMachineIdentity(a)).id, idA.id);
});

test('the host seen through /proc/1/root wins over the container image, and nothing readable leaves the hostname', () => {
  const container = machine('container', {
    'etc/machine-id': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', // baked into the image: the same in every pod
    'proc/1/root/etc/machine-id': MACHINE_ID, // the node's (hostPID)
  });
  assert.equal(readMachineIdentity(container).machineId, MACHINE_ID);
  const empty = machine('empty', { 'etc/machine-id': 'not a machine id' });
  assert.deepEqual(deriveAgentId('lonely', readMachineIdentity(empty)), { id: 'lonely', sources: [] });
});
