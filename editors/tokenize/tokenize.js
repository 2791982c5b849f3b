// Tokenize .nomo files with a TextMate grammar, the way VS Code does.
//
//   node tokenize.js GRAMMAR.json FILE...
//
// Prints one JSON document: {"FILE": [[{"text", "scopes"}, ...] per line], ...}.
// Modules are found through NODE_PATH (the test installs them from package-lock.json).
"use strict";

const fs = require("fs");
const path = require("path");
const oniguruma = require("vscode-oniguruma");
const vsctm = require("vscode-textmate");

async function main() {
  const [grammarPath, ...files] = process.argv.slice(2);
  const wasm = fs.readFileSync(
    path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm")
  );
  await oniguruma.loadWASM(wasm.buffer);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () =>
      vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath),
  });
  const grammar = await registry.loadGrammar("source.nomo");
  if (!grammar) throw new Error(`cannot load ${grammarPath}`);
  const out = {};
  for (const file of files) {
    let state = vsctm.INITIAL;
    out[file] = fs
      .readFileSync(file, "utf8")
      .split(/\r\n|\r|\n/)
      .map((line) => {
        const result = grammar.tokenizeLine(line, state);
        state = result.ruleStack;
        return result.tokens.map((token) => ({
          text: line.substring(token.startIndex, token.endIndex),
          scopes: token.scopes,
        }));
      });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
