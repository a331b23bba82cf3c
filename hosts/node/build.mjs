// Transpiles the tool components hosts/build composed with wasi-deny
// (dist/node/*.wasm) into JavaScript (dist/node/<tool>/), with jco.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = path.join(root, 'dist/node');
if (!existsSync(dist)) {
  console.error('dist/node is missing: run hosts/build first');
  process.exit(1);
}
const jco = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/.bin/jco');
for (const file of readdirSync(dist).filter((f) => f.endsWith('.wasm'))) {
  const name = file.replace(/\.wasm$/, '');
  execFileSync(jco, ['transpile', path.join(dist, file), '-o', path.join(dist, name),
    '--instantiation', 'async', '--name', name, '--quiet'], { stdio: 'inherit' });
}
console.log(`transpiled ${dist}`);
