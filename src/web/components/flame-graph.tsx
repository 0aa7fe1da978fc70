/** The icicle graph of the goroutines in view: positioned boxes; a click filters by that stack prefix. */
import { useMemo } from 'preact/hooks';
import { type FlameBox, flameBoxes, packageHue, type WeightedStack } from '../flame-layout.js';
import { count } from '../format.js';

const ROW = 20;

/** The graph; `onPick` gets the path of a clicked box. */
export function FlameGraph({
  stacks,
  onPick,
  partial,
}: {
  stacks: readonly WeightedStack[];
  onPick: (path: readonly string[]) => void;
  partial: boolean;
}) {
  const boxes = useMemo(() => flameBoxes(stacks), [stacks]);
  const total = stacks.reduce((s, x) => s + x.count, 0);
  const depth = boxes.reduce((d, b) => Math.max(d, b.depth + 1), 0);
  const label = (b: FlameBox) =>
    `${b.name}: ${count(b.count)} goroutines (${((b.count / total) * 100).toFixed(1)}%)`;
  return (
    <figure class="flame" aria-label="Flame graph of all stacks, outermost frame at the top">
      <div class="flame-rows" style={{ height: `${depth * ROW}px` }}>
        {boxes.map((b) => (
          <button
            type="button"
            key={b.path.join('\n')}
            class="fbox"
            style={{
              left: `${b.x * 100}%`,
              width: `${b.width * 100}%`,
              top: `${b.depth * ROW}px`,
              '--hue': packageHue(b.name),
            }}
            title={`${label(b)}; click to keep only goroutines whose stack starts here`}
            aria-label={label(b)}
            onClick={() => onPick(b.path)}
          >
            {b.width * 100 > 2 ? b.name : ''}
          </button>
        ))}
      </div>
      <figcaption class="muted">
        {count(total)} goroutines; width is the share of goroutines, the outermost frame on top
        {partial ? '; only the largest groups are drawn' : ''}. Click a box to filter by that stack prefix.
      </figcaption>
    </figure>
  );
}
