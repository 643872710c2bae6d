// "Save PNG" and "Save SVG" for a chart: the chart's SVG as a file, styles inlined.
import { useMemo, type RefObject } from 'react';
import { saveBlob, svgToFile, svgToPng } from './svg';

export function SaveChart({ svg, name, title }: { svg: RefObject<SVGSVGElement | null>; name: string; title: string }) {
  const save = async (kind: 'png' | 'svg') => {
    const el = svg.current;
    if (!el) return;
    const blob = kind === 'svg' ? svgToFile(el, title) : await svgToPng(el, title);
    saveBlob(blob, `${name}.${kind}`);
  };
  return (
    <span className="save-chart">
      <button type="button" className="small" onClick={() => void save('png')} title={`Save ${title} as PNG`}>
        Save PNG
      </button>
      <button type="button" className="small" onClick={() => void save('svg')} title={`Save ${title} as SVG`}>
        Save SVG
      </button>
    </span>
  );
}

/**
 * A ref to the svg that `selector` finds inside `within` when it is read: for a chart whose svg
 * another component owns (a heatmap).
 */
export function useSvgWithin(within: RefObject<HTMLElement | null>, selector: string): RefObject<SVGSVGElement | null> {
  return useMemo(
    () => ({
      get current() {
        return within.current?.querySelector<SVGSVGElement>(selector) ?? null;
      },
    }),
    [within, selector],
  );
}
