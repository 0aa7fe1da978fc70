/**
 * The layer order holds by construction: every import in src/ is checked against the map in
 * docs/architecture.md — its table of layers (each may import only itself and the layers
 * above it), its list of peer surfaces (which may not import each other, but for the
 * exceptions it names) and its rooms (which the layers below reach only through their
 * entry module).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../support/go-fixtures.js';

const SRC = join(ROOT, 'src');
const MAP = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');

interface ArchitectureMap {
  /** Layer directories under src/, top layer first. */
  layers: string[];
  /** Layers that may not import each other. */
  peers: Set<string>;
  /** Allowed imports between peers, as 'src/a/file.ts -> src/b/file.ts'. */
  peerExceptions: Set<string>;
  /** Room directories (under src/) and their entry module. */
  rooms: Map<string, string>;
}

/** Reads the rules out of docs/architecture.md (the doc is the one truth; this test only enforces it). */
function readMap(text: string): ArchitectureMap {
  const layers: string[] = [];
  for (const m of text.matchAll(/^\| [a-z]+ \| `src\/([a-z-]+)\/` \|/gm)) layers.push(m[1] as string);
  const peersLine = /^Peers \(may not import each other\): (.+)$/m.exec(text);
  assert.ok(
    peersLine,
    'docs/architecture.md lists the peer surfaces ("Peers (may not import each other): …")',
  );
  const peers = new Set([...(peersLine[1] as string).matchAll(/`([a-z-]+)`/g)].map((m) => m[1] as string));
  const peerExceptions = new Set<string>();
  for (const m of text.matchAll(/^- peer import: `(src\/[^`]+)` → `(src\/[^`]+)`/gm))
    peerExceptions.add(`${m[1]} -> ${m[2]}`);
  const rooms = new Map<string, string>();
  for (const m of text.matchAll(/^- room: `src\/([a-z/-]+)\/` entered through `([a-z-]+\.ts)`/gm))
    rooms.set(m[1] as string, m[2] as string);
  return { layers, peers, peerExceptions, rooms };
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') || name.endsWith('.tsx')) out.push(p);
  }
  return out;
}

/** The src/ files a file imports (static, dynamic, type-only, side-effect, re-exports and worker URLs). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:from\s+|import\s*\(\s*|import\s+|new URL\(\s*)'(\.{1,2}\/[^']+)'/g;
  for (const m of text.matchAll(re)) {
    const target = resolve(dirname(file), m[1] as string);
    // `./x.js` is x.ts or (in the web app) x.tsx; other files (a stylesheet) are themselves.
    const ts = target.replace(/\.js$/, '.ts');
    out.push(target.endsWith('.js') && !existsSync(ts) && existsSync(`${ts}x`) ? `${ts}x` : ts);
  }
  return out;
}

/** The layer directory of a src/ path ('goruntime' for src/goruntime/values/x.ts). */
function layerOf(path: string): string {
  return relative(SRC, path).split('/')[0] as string;
}

/** Checks every import of src/ against the map; returns one line per violation. */
function violations(map: ArchitectureMap): string[] {
  const rank = new Map(map.layers.map((l, i) => [l, i]));
  const out: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    const fromRank = rank.get(from);
    const rel = relative(ROOT, file);
    if (fromRank === undefined) {
      out.push(`${rel}: layer '${from}' is not in docs/architecture.md's table`);
      continue;
    }
    for (const target of importsOf(file)) {
      if (!target.startsWith(SRC)) {
        out.push(`${rel} imports ${relative(ROOT, target)}, outside src/`);
        continue;
      }
      const to = layerOf(target);
      const toRank = rank.get(to);
      const edge = `${rel} -> ${relative(ROOT, target)}`;
      if (toRank === undefined) out.push(`${edge}: layer '${to}' is not in the table`);
      else if (toRank > fromRank) out.push(`${edge}: '${from}' may not import '${to}', a layer below it`);
      else if (from !== to && map.peers.has(from) && map.peers.has(to) && !map.peerExceptions.has(edge))
        out.push(`${edge}: peer surfaces talk through typed messages, not each other's modules`);
      for (const [room, entry] of map.rooms) {
        const roomDir = join(SRC, room);
        if (target.startsWith(`${roomDir}/`) && !file.startsWith(`${dirname(roomDir)}/`)) {
          if (target !== join(roomDir, entry))
            out.push(`${edge}: outside its layer, src/${room}/ is entered through ${entry}`);
        }
      }
    }
  }
  return out;
}

test('docs/architecture.md names every layer directory of src/, in an order', () => {
  const map = readMap(MAP);
  const dirs = readdirSync(SRC).filter((d) => statSync(join(SRC, d)).isDirectory());
  assert.deepEqual([...map.layers].sort(), dirs.sort());
  assert.ok(map.rooms.size >= 3, 'the goruntime rooms are listed');
  for (const [room, entry] of map.rooms)
    assert.ok(statSync(join(SRC, room, entry)).isFile(), `${room}/${entry}`);
});

test('every import in src/ follows the layer order of docs/architecture.md', () => {
  assert.deepEqual(violations(readMap(MAP)), []);
});

test('the check catches an import against the order, between peers, and into a room', () => {
  // The same rules on a map with the order reversed must report upward imports.
  const map = readMap(MAP);
  const reversed = { ...map, layers: [...map.layers].reverse() };
  assert.ok(violations(reversed).some((v) => v.includes('a layer below it')));
  // Without its exceptions, the peer rule reports the CLI starting the server and agent.
  assert.ok(violations({ ...map, peerExceptions: new Set() }).some((v) => v.includes('peer surfaces')));
  // The web app's .tsx files are checked too: a map without its layer reports them.
  const noWeb = { ...map, layers: map.layers.filter((l) => l !== 'web') };
  assert.ok(violations(noWeb).some((v) => /^src\/web\/\S+\.tsx: layer 'web'/.test(v)));
  // A room whose entry module is another file reports the layers below importing index.ts.
  const rooms = new Map([...map.rooms].map(([r]) => [r, 'no-such-entry.ts']));
  assert.ok(violations({ ...map, rooms }).some((v) => v.includes('is entered through no-such-entry.ts')));
});

/** Imports of the files under `from` (a top directory) into any of the `into` top directories. */
function importsInto(from: string, into: readonly string[]): string[] {
  const out: string[] = [];
  for (const file of sources(join(ROOT, from)))
    for (const target of importsOf(file)) {
      const top = relative(ROOT, target).split('/')[0] as string;
      if (into.includes(top)) out.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
    }
  return out;
}

test('tests and benchmarks share support/ and never import each other', () => {
  assert.deepEqual(
    [
      ...importsInto('test', ['bench']),
      ...importsInto('bench', ['test']),
      ...importsInto('support', ['test', 'bench']),
    ],
    [],
  );
  assert.ok(importsInto('bench', ['support']).length > 0, 'the check sees what benchmarks import');
});
