// WebGPU under Node (Dawn): parity with cpu.
// `npm run test:gpu` sets the Vulkan driver (SwiftShader here).
import { defineParitySuite } from './node';

// The two-step search comparison runs in the browser suite (e2e/8-parity), where the cpu
// reference is shared by three backends; here it would add minutes of cpu-backend steps.
defineParitySuite('webgpu', { search: false });
