/**
 * Part of the functions-framework adapter (framework-adapter.ts calls it when it patches the framework's
 * body-parser; written against iconv-lite 0.7.x, which body-parser 2.x reads bodies with).
 */
import { createRequire } from 'node:module';

interface Iconv {
  encodings: unknown;
}

/**
 * Not a patch, a head start: before reading any body, body-parser asks iconv-lite (0.7) whether its charset
 * exists (it does whenever a `verify` is set, as the framework's parsers have), and iconv-lite's first
 * lookup loads every encoding table it has: 14-26 ms of a cold instance's first POST on a 2-core machine.
 * The bodies we read are UTF-8: iconv-lite's table of encodings becomes one that answers UTF-8 from its
 * `internal` encodings file alone and loads the whole table on the first lookup of any other name, so
 * other charsets behave as before. Best effort: another iconv-lite layout only means the tables load as
 * before.
 */
export function primeUtf8Codec(bodyParser: string): void {
  try {
    const fromParser = createRequire(bodyParser);
    const iconv = fromParser('iconv-lite') as Iconv;
    if (iconv.encodings) return;
    const fromIconv = createRequire(fromParser.resolve('iconv-lite'));
    const internal = fromIconv('../encodings/internal') as Record<string, unknown>;
    // Own names only, as iconv-lite's own table has no prototype: `constructor` is no charset.
    const utf8: Record<string, unknown> = {
      __proto__: null,
      utf8: internal.utf8,
      _internal: internal._internal,
    };
    if (typeof utf8._internal !== 'function' || typeof utf8.utf8 !== 'object') return;
    let all: Record<string, unknown> | undefined;
    const table = (name: string) => {
      if (Object.hasOwn(utf8, name)) return utf8[name];
      all ??= fromIconv('../encodings') as Record<string, unknown>;
      return Object.hasOwn(all, name) ? all[name] : undefined;
    };
    iconv.encodings = new Proxy(Object.create(null) as Record<string, unknown>, {
      get: (_, name) => (typeof name === 'string' ? table(name) : undefined),
    });
  } catch {
    // the tables load on the first body, as without this
  }
}
