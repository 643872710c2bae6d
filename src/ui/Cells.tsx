// The two derived cells of the viewed snapshot.
import { CellDiagram } from './CellDiagram';
import { useViewed } from './derived';

export function Cells() {
  const { genotype, snapshot, live } = useViewed();
  return (
    <div className="cells">
      <CellDiagram
        id="normal"
        title="Normal cell"
        edges={genotype?.normal ?? null}
        step={live ? snapshot.step : null}
      />
      <CellDiagram
        id="reduce"
        title="Reduction cell"
        edges={genotype?.reduce ?? null}
        step={live ? snapshot.step : null}
      />
    </div>
  );
}
