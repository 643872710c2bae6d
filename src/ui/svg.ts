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

/** The style properties a chart's look depends on, copied inline so the file looks as the page does. */
const INLINED = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'opacity',
  'font-size',
  'font-weight',
  'font-family',
  'display',
  'visibility',
];

function inlineStyles(source: Element, clone: Element): void {
  if (typeof getComputedStyle === 'function') {
    const style = getComputedStyle(source);
    const inline = INLINED.map((name) => `${name}:${style.getPropertyValue(name)}`)
      .filter((d) => !d.endsWith(':'))
      .join(';');
    if (inline) clone.setAttribute('style', `${inline};${clone.getAttribute('style') ?? ''}`);
  }
  for (let i = 0; i < source.children.length; i++) inlineStyles(source.children[i]!, clone.children[i]!);
}

/** An SVG element as a standalone file, with the page's styles inlined. */
export function svgToFile(svg: SVGSVGElement, title: string): Blob {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  inlineStyles(svg, clone);
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

/** An SVG element as a PNG at `scale` times its size (the SVG file drawn on a canvas, on white). */
export async function svgToPng(svg: SVGSVGElement, title: string, scale = 2): Promise<Blob> {
  const box = svg.viewBox.baseVal;
  const width = box?.width || svg.clientWidth;
  const height = box?.height || svg.clientHeight;
  const url = URL.createObjectURL(svgToFile(svg, title));
  try {
    const image = new Image();
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error('the chart could not be drawn as an image'));
      image.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser could not encode a PNG'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

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
