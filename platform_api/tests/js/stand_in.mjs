// Module stand-ins for the check scripts: an integration that imports one piece of a large application it plugs
// into (OpenClaw, Mastra) gets `source` for `specifier` instead, so the application need not be installed.
import { register } from "node:module";

export function standIn(specifier, source) {
  const url = `data:text/javascript,${encodeURIComponent(source)}`;
  register(
    "data:text/javascript," +
      encodeURIComponent(`
        export async function resolve(specifier, context, next) {
          if (specifier === ${JSON.stringify(specifier)}) return { shortCircuit: true, url: ${JSON.stringify(url)} };
          return next(specifier, context);
        }`),
  );
}
