import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { splitCsv } from './csv.ts';
import { RowRejection } from './fields.ts';
import { analyseHeader } from './header.ts';
import { lineBatches } from './lines.ts';
import { type RowParser, rowParser } from './rows.ts';
import {
  FileFormatError,
  type FileKind,
  type ParsedFile,
  type ParseEvent,
  type ParseOptions,
  type ParseSummary,
  type RowIssueEvent,
} from './types.ts';

/** The warning of a skipped blank line (upload processing counts these instead of listing each). */
export const BLANK_LINE_SKIPPED = 'blank line skipped';

/** Blank or whitespace only; the common case (a row starting with a digit or letter) costs one char read. */
function isBlank(line: string): boolean {
  return line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '');
}

function issue(line: number, reason: string, severity: RowIssueEvent['severity']): RowIssueEvent {
  return { issue: { line, reason }, severity };
}

/**
 * Streams the rows of one file, plain or gzipped (told by the magic bytes 1f 8b), with any BOM, LF or CRLF.
 * The kind comes from the first line (see detectKind). Yields every row, every rejected row and every
 * warning, in line order; the return value is the kind and the number of physical lines. Throws
 * FileFormatError for a file-level problem (empty file, unknown header, truncated gzip, an image list
 * without `opts.split`); rows yielded before such an error were good.
 */
export async function* parseStream(
  input: Readable | AsyncIterable<Buffer>,
  opts: ParseOptions = {},
): AsyncGenerator<ParseEvent, ParseSummary> {
  const batches = parseBatches(input, opts);
  let done = false;
  try {
    for (;;) {
      const r = await batches.next();
      if (r.done) {
        done = true;
        return r.value;
      }
      yield* r.value;
    }
  } finally {
    // A consumer that stops early closes the batches, and through them the input stream.
    if (!done) await batches.return(undefined as never);
  }
}

/**
 * parseStream in batches (one per chunk read, a few thousand events at most): one await per batch rather
 * than per row, for consumers that process many rows (loaders, upload processing).
 */
export async function* parseBatches(
  input: Readable | AsyncIterable<Buffer>,
  opts: ParseOptions = {},
): AsyncGenerator<ParseEvent[], ParseSummary> {
  let lineNo = 0;
  let kind: FileKind | undefined;
  let parse: RowParser | undefined;
  let fields = 0;
  let csv = true;
  let out: ParseEvent[] = [];
  const warnings: string[] = [];
  const warn = (reason: string) => {
    warnings.push(reason);
  };
  let sawContent = false;
  const onBlank = opts.onBlankLine;
  for await (const batch of lineBatches(input)) {
    for (const line of batch) {
      lineNo++;
      if (parse === undefined) {
        if (line.trim() === '') continue;
        if (lineNo > 1 && !sawContent) throw new FileFormatError(`line 1 is blank; expected a header`);
        sawContent = true;
        const layout = analyseHeader(line);
        if ('error' in layout) throw new FileFormatError(layout.error);
        if (layout.kind === 'image_list' && opts.split === undefined) {
          throw new FileFormatError(
            'an image list (train_val_list.txt / test_list.txt format) needs opts.split: both lists have the same format, so the split cannot come from the content',
          );
        }
        kind = layout.kind;
        fields = layout.fields;
        csv = kind !== 'image_list';
        parse = rowParser(layout, opts.split);
        if (csv) continue;
      }
      if (isBlank(line)) {
        if (onBlank) onBlank(lineNo);
        else out.push(issue(lineNo, BLANK_LINE_SKIPPED, 'warning'));
        continue;
      }
      const f = csv ? splitCsv(line) : [line];
      if (f === undefined) {
        out.push(issue(lineNo, 'malformed quoted field', 'rejected'));
        continue;
      }
      if (f.length !== fields) {
        out.push(issue(lineNo, `expected ${fields} columns, found ${f.length}`, 'rejected'));
        continue;
      }
      let row: ReturnType<RowParser>;
      try {
        row = parse(f, lineNo, warn);
      } catch (err) {
        if (!(err instanceof RowRejection)) throw err;
        warnings.length = 0;
        out.push(issue(lineNo, err.message, 'rejected'));
        continue;
      }
      if (row !== undefined) out.push(row);
      if (warnings.length > 0) {
        for (const w of warnings) out.push(issue(lineNo, w, 'warning'));
        warnings.length = 0;
      }
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  if (kind === undefined) throw new FileFormatError(sawContent ? 'no header' : 'empty file');
  return { kind, lines: lineNo };
}

/** Parses a whole file (a path or a stream) into memory; see parseStream. */
export async function parseFile(input: Readable | string, opts: ParseOptions = {}): Promise<ParsedFile> {
  const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 18 }) : input;
  const gen = parseStream(source, opts);
  const out: Omit<ParsedFile, 'kind' | 'lines'> = { rows: [], rejected: [], warnings: [] };
  for (;;) {
    const r = await gen.next();
    if (r.done) return { kind: r.value.kind, ...out, lines: r.value.lines };
    const e = r.value;
    if ('issue' in e) (e.severity === 'rejected' ? out.rejected : out.warnings).push(e.issue);
    else out.rows.push(e);
  }
}
