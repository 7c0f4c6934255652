/**
 * Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` for a quote). Returns undefined for a
 * malformed quoted field. Fields never span lines in these formats, so an unterminated quote is an error.
 */
export function splitCsv(line: string): string[] | undefined {
  if (line.indexOf('"') === -1) return line.split(',');
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q === -1) return undefined;
        value += line.slice(from, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(value);
      if (i === n) return out;
      if (line.charCodeAt(i) !== 44) return undefined;
      i++;
    } else {
      const c = line.indexOf(',', i);
      const end = c === -1 ? n : c;
      const value = line.slice(i, end);
      if (value.indexOf('"') !== -1) return undefined;
      out.push(value);
      if (c === -1) return out;
      i = c + 1;
    }
  }
}
