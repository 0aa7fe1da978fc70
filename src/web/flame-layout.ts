/**
 * The icicle graph of a set of stacks: stacks merged into a tree from the outermost frame, then
 * laid out as boxes (row = depth from the root, x and width = share of goroutines), as pprof's
 * flame graph is drawn. No DOM: tests check the boxes.
 */

/** One stack and how many goroutines have it; functions innermost first, as frames are stored. */
export interface WeightedStack {
  readonly functions: readonly string[];
  readonly count: number;
}

/** A box of the graph. */
export interface FlameBox {
  /** Functions from the outermost to this box's: clicking the box filters by this prefix. */
  readonly path: readonly string[];
  readonly name: string;
  readonly count: number;
  /** Row: 0 is the outermost frame. */
  readonly depth: number;
  /** Left edge and width as fractions of all goroutines (0..1). */
  readonly x: number;
  readonly width: number;
}

interface Node {
  readonly name: string;
  count: number;
  readonly children: Map<string, Node>;
}

/**
 * The narrowest box drawn, as a share of the graph (about 5 px at the page's width): narrower
 * ones carry no label and cannot be aimed at, and drawing them is what made a first view slow
 * (3,200 boxes of a 10k-goroutine snapshot on 512 stacks took about 1 s of it in headless
 * Chromium; 512 boxes, 0.1 s; bench/web-goroutines.ts).
 */
export const MIN_BOX_SHARE = 0.004;

/**
 * Boxes of the stacks, widest first within a row, leaving out boxes narrower than `minWidth`
 * (a fraction) and their children; `maxBoxes` bounds the work on pathological inputs.
 */
export function flameBoxes(
  stacks: readonly WeightedStack[],
  minWidth = MIN_BOX_SHARE,
  maxBoxes = 20_000,
): FlameBox[] {
  const root: Node = { name: '', count: 0, children: new Map() };
  for (const s of stacks) {
    root.count += s.count;
    let node = root;
    for (let i = s.functions.length - 1; i >= 0; i--) {
      const name = s.functions[i] ?? '';
      let child = node.children.get(name);
      if (!child) {
        child = { name, count: 0, children: new Map() };
        node.children.set(name, child);
      }
      child.count += s.count;
      node = child;
    }
  }
  const out: FlameBox[] = [];
  if (root.count === 0) return out;
  const walk = (node: Node, path: readonly string[], depth: number, x: number): void => {
    let left = x;
    const kids = [...node.children.values()].sort(
      (a, b) => b.count - a.count || a.name.localeCompare(b.name),
    );
    for (const k of kids) {
      const width = k.count / root.count;
      if (width < minWidth || out.length >= maxBoxes) break;
      const p = [...path, k.name];
      out.push({ path: p, name: k.name, count: k.count, depth, x: left, width });
      walk(k, p, depth + 1, left);
      left += width;
    }
  };
  walk(root, [], 0, 0);
  return out;
}

/** A stable hue (0..359) for a function's package, so one package keeps its colour across views. */
export function packageHue(fn: string): number {
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  const pkg = dot < 0 ? fn : fn.slice(0, dot);
  let h = 0;
  for (let i = 0; i < pkg.length; i++) h = (h * 31 + pkg.charCodeAt(i)) >>> 0;
  return h % 360;
}
