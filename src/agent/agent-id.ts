/**
 * The agent's default id: its hostname and a short hash of what tells this machine from a
 * clone of it. Cloned VMs and containers from one image share the hostname, the state
 * directory and often `/etc/machine-id`; the hypervisor gives each VM its own hardware UUID
 * (DMI `product_uuid`, or the device tree's serial number) and its own network card
 * addresses. All of these stay the same across restarts. The hash (never the raw values:
 * machine-id(5) asks that the id not be shown outside the machine) is of the machine id
 * together with the hardware UUID, or, when no hardware UUID can be read, with the addresses
 * of the physical network cards. Nothing is stored: a state file would be cloned too.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What identifies this machine, as read from its files (each part may be missing). */
export interface MachineIdentity {
  /** `/etc/machine-id` of the host (through `/proc/1/root` when readable, so a container with hostPID sees the node's). */
  readonly machineId?: string;
  /** The hypervisor's or firmware's UUID of this machine. */
  readonly hardwareId?: string;
  /** Permanent addresses of the physical network cards (those backed by a device), sorted. */
  readonly macs: readonly string[];
}

/** The default agent id and what it was derived from. */
export interface DerivedId {
  readonly id: string;
  /** Names of the sources hashed into it (empty: the id is the hostname alone). */
  readonly sources: readonly string[];
}

const MACHINE_ID_FILES = ['proc/1/root/etc/machine-id', 'etc/machine-id', 'var/lib/dbus/machine-id'];
const HARDWARE_ID_FILES = [
  'sys/class/dmi/id/product_uuid',
  'sys/firmware/devicetree/base/serial-number',
  'proc/device-tree/serial-number',
];
/** Firmware that never set a UUID reports a placeholder, the same on every board of a model. */
function placeholder(uuid: string): boolean {
  return /^(0+|f+)$/.test(uuid.replace(/-/g, '')) || uuid === '03000200-0400-0500-0006-000700080009';
}

function readText(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'latin1').replace(/\0/g, '').trim().toLowerCase();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

function physicalMacs(root: string): string[] {
  const dir = join(root, 'sys/class/net');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const macs = new Set<string>();
  for (const name of names) {
    try {
      statSync(join(dir, name, 'device')); // virtual interfaces (lo, veth, bridges, docker0) have none
    } catch {
      continue;
    }
    const mac =
      readText(join(dir, name, 'bonding_slave/perm_hwaddr')) ?? readText(join(dir, name, 'address'));
    if (mac && !/^[0:]+$/.test(mac)) macs.add(mac);
  }
  return [...macs].sort();
}

/** Reads this machine's identity from the file system under `root` (`/` in production). */
export function readMachineIdentity(root = '/'): MachineIdentity {
  const first = (files: readonly string[], ok: (v: string) => boolean = () => true) => {
    for (const f of files) {
      const v = readText(join(root, f));
      if (v !== undefined && ok(v)) return v;
    }
    return undefined;
  };
  const machineId = first(MACHINE_ID_FILES, (v) => /^[0-9a-f]{32}$/.test(v));
  const hardwareId = first(HARDWARE_ID_FILES, (v) => !placeholder(v));
  return {
    ...(machineId ? { machineId } : {}),
    ...(hardwareId ? { hardwareId } : {}),
    macs: hardwareId ? [] : physicalMacs(root),
  };
}

/** The default agent id: `HOSTNAME-HASH8`, or the hostname alone when nothing identifies the machine. */
export function deriveAgentId(hostname: string, identity: MachineIdentity): DerivedId {
  const parts: string[] = [];
  const sources: string[] = [];
  if (identity.machineId) {
    parts.push(`machine-id=${identity.machineId}`);
    sources.push('machine-id');
  }
  if (identity.hardwareId) {
    parts.push(`hardware=${identity.hardwareId}`);
    sources.push('hardware UUID');
  } else if (identity.macs.length > 0) {
    parts.push(`macs=${identity.macs.join(',')}`);
    sources.push('network card addresses');
  }
  if (parts.length === 0) return { id: hostname, sources };
  const hash = createHash('sha256')
    .update(`periscope-agent\n${parts.join('\n')}`)
    .digest('hex');
  return { id: `${hostname}-${hash.slice(0, 8)}`, sources };
}
