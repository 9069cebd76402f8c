// The ways to get the module's bindings, which the shim tries in order until one works (each entry
// module chooses its list). Each engine's `create(queueMicrotask)` returns fresh bindings: the
// wasm-bindgen glue (generated, handed over by the entry) instantiated over
//   webassembly   the .wasm, compiled once per Action instance
//   javascript    the module translated to JavaScript (wasm2js), for runtimes that refuse to
//                 compile WebAssembly
// The glue takes the few globals it needs at load time as parameters: a bare vm context has no
// TextDecoder.
import { TextDecoder, TextEncoder } from 'util';
import { actionCrypto } from './crypto.mjs';

/** The .wasm that `loadWasm()` returns, bound by the glue `createBindings`. */
export function wasmEngine(loadWasm, createBindings) {
  let compiled; // compiled once per Action instance
  return {
    name: 'webassembly',
    create(queueMicrotask) {
      compiled = compiled || new WebAssembly.Module(loadWasm());
      const bindings = createBindings(TextDecoder, TextEncoder, queueMicrotask, actionCrypto);
      bindings.instantiate((imports) => new WebAssembly.Instance(compiled, imports).exports);
      return bindings;
    },
  };
}

/** The translated module that `loadTranslatedModule()` returns, bound by its glue. */
export function jsEngine(loadTranslatedModule, createTranslatedBindings) {
  return {
    name: 'javascript',
    create(queueMicrotask) {
      const bindings = createTranslatedBindings(TextDecoder, TextEncoder, queueMicrotask, actionCrypto);
      bindings.instantiate(loadTranslatedModule());
      return bindings;
    },
  };
}
