// Preloaded into the jsii kernel's Node process (NODE_OPTIONS=--require, set by
// stacks/aws_bindings.py). The Node half of the lean loader: @cdktf/provider-aws's
// lib/index.js requires all ~2,100 submodules when the assembly is loaded (~3.5 s). Hand the
// kernel an exports object whose submodules are required on first access instead. The
// name -> folder map is read from that same index.js, so nothing is guessed.
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const PACKAGE_NAME = "@cdktf/provider-aws";
const EXPORT_LINE = /exports\.(\w+) = require\("\.\/([^"]+)"\)/g;
const lazyIndexes = new Map();
const originalLoad = Module._load;

Module._load = function (request, parent, isMain) {
  const filename = resolve(request, parent);
  if (filename && isProviderIndex(filename)) {
    if (!lazyIndexes.has(filename)) lazyIndexes.set(filename, lazyExports(filename));
    return lazyIndexes.get(filename);
  }
  return originalLoad.apply(this, arguments);
};

function resolve(request, parent) {
  try {
    return Module._resolveFilename(request, parent);
  } catch (error) {
    return null; // let the original loader report it
  }
}

function isProviderIndex(filename) {
  if (path.basename(filename) !== "index.js" || path.basename(path.dirname(filename)) !== "lib") return false;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(filename), "..", "package.json"), "utf8"));
    return manifest.name === PACKAGE_NAME;
  } catch (error) {
    return false;
  }
}

function lazyExports(filename) {
  const directory = path.dirname(filename);
  const exportsObject = { __esModule: true };
  for (const [, name, folder] of fs.readFileSync(filename, "utf8").matchAll(EXPORT_LINE)) {
    Object.defineProperty(exportsObject, name, {
      enumerable: true,
      configurable: true,
      get() {
        const submodule = require(path.join(directory, folder));
        Object.defineProperty(exportsObject, name, { value: submodule, enumerable: true });
        return submodule;
      },
    });
  }
  return exportsObject;
}
