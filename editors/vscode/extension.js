// VS Code extension for .nomo: the TextMate grammar colours the text (package.json),
// and this starts `nomo lsp` for everything else (diagnostics, hover, completion,
// formatting, definition, references, symbols, semantic tokens).
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("nomo")
    .get("server.command", ["nomo", "lsp"]);
  const server = { command, args };
  client = new LanguageClient(
    "nomo",
    "nomo language server",
    { run: server, debug: server },
    { documentSelector: [{ language: "nomo" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
