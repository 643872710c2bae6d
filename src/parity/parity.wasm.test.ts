// wasm (the fastest CPU backend, with the portable conv formulation) against cpu.
import { defineParitySuite } from './node';

defineParitySuite('wasm');
