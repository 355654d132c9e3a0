// JSX without a plugin (React's automatic runtime), and the dev server
// serving mycelium-sync as published (its .wasm files beside its module).
import mycelium from 'mycelium-sync/vite';

export default { esbuild: { jsx: 'automatic' }, plugins: [mycelium()] };
