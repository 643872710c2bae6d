// Small D3 helpers shared by the visuals.
import * as d3 from 'd3';
import { subscriptRuns } from './labels';

type TextSelection = d3.Selection<SVGTextElement, unknown, null, undefined>;

/** Writes a label such as "c_{k-1} → node 2" into an SVG text with real subscripts. */
export function setSubscriptText<P extends d3.BaseType, D>(
  text: d3.Selection<SVGTextElement, unknown, P, D>,
  label: string,
): void {
  text.text(null);
  for (const run of subscriptRuns(label)) {
    const t = text.append('tspan').text(run.text);
    if (run.sub) t.attr('baseline-shift', 'sub').attr('font-size', '0.72em');
  }
}

export type { TextSelection };

/** An SVG element as a standalone file (fonts and colours inlined by the caller's attributes). */
export function svgToFile(svg: SVGSVGElement, title: string): Blob {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const box = svg.viewBox.baseVal;
  if (box && box.width) {
    clone.setAttribute('width', String(box.width));
    clone.setAttribute('height', String(box.height));
  }
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = SVG_EXPORT_STYLE;
  clone.insertBefore(style, clone.firstChild);
  const titleEl = document.createElementNS('http://www.w3.org/2000/svg', 'title');
  titleEl.textContent = title;
  clone.insertBefore(titleEl, clone.firstChild);
  const text = new XMLSerializer().serializeToString(clone);
  return new Blob(['<?xml version="1.0" encoding="UTF-8"?>\n', text], { type: 'image/svg+xml' });
}

const SVG_EXPORT_STYLE = `
text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
`;

export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
