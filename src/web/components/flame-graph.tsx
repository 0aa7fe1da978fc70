/**
 * The icicle graph of a set of weighted stacks (goroutines of a snapshot, a probe's events):
 * positioned boxes; with `onPick`, a click on a box gives its stack prefix (the goroutines view
 * filters by it).
 */
import { useMemo } from 'preact/hooks';
import { type FlameBox, flameBoxes, MIN_BOX_SHARE, packageHue, type WeightedStack } from '../flame-layout.js';
import { count } from '../format.js';

const ROW = 20;

/** The graph; `unit` names what the stacks count ("goroutines", "events"). */
export function FlameGraph({
  stacks,
  onPick,
  partial,
  unit = 'goroutines',
  label = 'Flame graph of all stacks, outermost frame at the top',
}: {
  stacks: readonly WeightedStack[];
  onPick?: (path: readonly string[]) => void;
  partial: boolean;
  unit?: string;
  label?: string;
}) {
  const boxes = useMemo(() => flameBoxes(stacks), [stacks]);
  const total = stacks.reduce((s, x) => s + x.count, 0);
  const depth = boxes.reduce((d, b) => Math.max(d, b.depth + 1), 0);
  const name = (b: FlameBox) =>
    `${b.name}: ${count(b.count)} ${unit} (${((b.count / total) * 100).toFixed(1)}%)`;
  const style = (b: FlameBox) => ({
    left: `${b.x * 100}%`,
    width: `${b.width * 100}%`,
    top: `${b.depth * ROW}px`,
    '--hue': packageHue(b.name),
  });
  return (
    <figure class="flame" aria-label={label}>
      <div class="flame-rows" style={{ height: `${depth * ROW}px` }}>
        {boxes.map((b) =>
          onPick ? (
            <button
              type="button"
              key={b.path.join('\n')}
              class="fbox"
              style={style(b)}
              title={`${name(b)}; click to keep only ${unit} whose stack starts here`}
              aria-label={name(b)}
              onClick={() => onPick(b.path)}
            >
              {b.width * 100 > 2 ? b.name : ''}
            </button>
          ) : (
            <div
              key={b.path.join('\n')}
              class="fbox"
              style={style(b)}
              title={name(b)}
              role="img"
              aria-label={name(b)}
            >
              {b.width * 100 > 2 ? b.name : ''}
            </div>
          ),
        )}
      </div>
      <figcaption class="muted">
        {count(total)} {unit}; width is the share of {unit}, the outermost frame on top
        {partial ? '; only the largest groups are drawn' : ''}; boxes under {MIN_BOX_SHARE * 100}% are left
        out
        {onPick ? '. Click a box to filter by that stack prefix.' : '.'}
      </figcaption>
    </figure>
  );
}
