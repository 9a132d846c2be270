// Preload (node --import ./intl-trace.mjs): appends one line to the file named by LAKE_INTL_TRACE for every Intl
// formatter the process constructs (its kind and the caller), and Date's locale methods that build one. The first
// such formatter loads ICU's zone and locale data (about 8 MiB); the start-up tests assert a stage with nothing to
// do builds none.
import { appendFileSync } from "node:fs";

const out = process.env.LAKE_INTL_TRACE;
if (out) {
  const where = () => (new Error().stack ?? "").split("\n").slice(3, 6).map((l) => l.trim()).join(" < ");
  for (const kind of ["DateTimeFormat", "NumberFormat", "Collator", "PluralRules", "RelativeTimeFormat", "ListFormat", "DisplayNames", "Segmenter"]) {
    const Original = Intl[kind];
    if (typeof Original !== "function") continue;
    const Traced = new Proxy(Original, {
      construct(target, args, newTarget) {
        appendFileSync(out, `Intl.${kind} ${where()}\n`);
        return Reflect.construct(target, args, newTarget === Traced ? target : newTarget);
      },
      apply(target, thisArg, args) {
        appendFileSync(out, `Intl.${kind} ${where()}\n`);
        return Reflect.apply(target, thisArg, args);
      },
    });
    Intl[kind] = Traced;
  }
  for (const m of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]) {
    const original = Date.prototype[m];
    Date.prototype[m] = function (...args) {
      appendFileSync(out, `Date.${m} ${where()}\n`);
      return original.apply(this, args);
    };
  }
}
