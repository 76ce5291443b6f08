// Lets plain `node` run TypeScript sources (transpile only, no type check): used by the CLI
// tests to run src/cli/main.ts in a child process without a build, and handy for scripts:
//   node -r ./test/helpers/ts_register.js src/cli/main.ts data sim --help
const fs = require('fs');
const ts = require('typescript');
require.extensions['.ts'] = function (module, filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(src, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(out.outputText, filename);
};
