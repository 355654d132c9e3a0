// The dev server serves the package as published (its .wasm files beside
// the module that loads them); `vite build` would not need it.
import mycelium from 'mycelium-sync/vite';

export default { plugins: [mycelium()] };
