// 'mycelium-sync/vite': the Vite plugin that makes the dev server serve the
// package as it is published. Vite's dependency pre-bundling moves the
// package's index.js into node_modules/.vite/deps/, where
// `new URL('./mycelium.wasm', import.meta.url)` names a file that is not
// there (vitejs/vite#8427); excluding the package from pre-bundling keeps the
// .wasm files beside the module that loads them. `vite build` needs nothing:
// it emits the .wasm files either way.
//
//   // vite.config.js
//   import mycelium from 'mycelium-sync/vite';
//   export default { plugins: [mycelium()] };

/** The part of Vite's Plugin type this plugin fills (no Vite import, so no Vite types needed). */
export interface MyceliumVitePlugin {
  readonly name: string;
  config(): { optimizeDeps: { exclude: string[] } };
}

export default function mycelium(): MyceliumVitePlugin {
  return {
    name: 'mycelium-sync',
    config: () => ({ optimizeDeps: { exclude: ['mycelium-sync'] } }),
  };
}
