// The backends a user can choose (the setup's "Backend" field, the worker's start message) and
// what a WebGPU adapter says about itself. Shared by the page, the worker and the CLI.

export const BACKEND_CHOICES = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}
