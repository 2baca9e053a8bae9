// Promise.withResolvers polyfill for Node 20 (the js-ipfs 0.66.1 dependency tree calls it;
// Node >= 22 has it built in). Loaded with NODE_OPTIONS=--require <this file>.
"use strict";
if (typeof Promise.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
