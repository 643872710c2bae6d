// wasm (the fastest CPU backend, with the portable conv formulation) against cpu.
import { defineParitySuite } from './parity';

defineParitySuite('wasm');
