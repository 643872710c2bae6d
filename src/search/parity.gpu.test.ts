// WebGPU under Node (Dawn): parity with cpu.
// `npm run test:gpu` sets the Vulkan driver (SwiftShader here).
import { defineParitySuite } from './parity';

defineParitySuite('webgpu');

