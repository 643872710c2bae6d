// How the page shows the search (not what it searches): the heatmaps' colour scale and the edge
// whose weights the time charts follow. Kept apart from the setup, which travels in the link.
import { create } from 'zustand';

/** What a heatmap cell's colour encodes. */
export const COLOUR_SCALES = ['deviation', 'weight', 'rank'] as const;
export type ColourScale = (typeof COLOUR_SCALES)[number];

export const COLOUR_SCALE_LABELS: Record<ColourScale, string> = {
  weight: 'Softmax weight',
  deviation: 'Deviation from uniform',
  rank: 'Per-edge rank',
};

/** An edge of one cell type (row of its heatmap, 0..13). */
export interface ChosenEdge {
  cell: 'normal' | 'reduce';
  edge: number;
}

export interface ViewState {
  /**
   * Deviation from uniform by default: a search's weights stay near 1/k for many steps (after 12
   * steps every weight lay in 0.1235–0.1266), so absolute colours look idle when it is not.
   */
  colourScale: ColourScale;
  chosenEdge: ChosenEdge;
  setColourScale(scale: ColourScale): void;
  chooseEdge(edge: ChosenEdge): void;
}

export const useView = create<ViewState>()((set) => ({
  colourScale: 'deviation',
  chosenEdge: { cell: 'normal', edge: 0 },
  setColourScale: (colourScale) => set({ colourScale }),
  chooseEdge: (chosenEdge) => set({ chosenEdge }),
}));
