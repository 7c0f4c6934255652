/** Row issues of one upload, kept in bounded memory: the first `max` are listed, all are counted. */
import type { RowIssue } from '../parsers/types.ts';

/** Row issues listed in a report; the counts always cover all of them. */
export const MAX_LISTED_ISSUES = 10_000;

export class IssueList {
  readonly list: RowIssue[] = [];
  count = 0;
  readonly max: number;

  constructor(max = MAX_LISTED_ISSUES) {
    this.max = max;
  }

  add(issue: RowIssue): void {
    this.count++;
    if (this.list.length < this.max) this.list.push(issue);
  }

  /** Both lists' issues by line, at most `max` of them, with the total of both counts. */
  static merged(a: IssueList, b: IssueList, max = Math.max(a.max, b.max)): IssueList {
    const out = new IssueList(max);
    const all = a.list.concat(b.list).sort((x, y) => x.line - y.line);
    for (let i = 0; i < all.length && i < max; i++) out.list.push(all[i]!);
    out.count = a.count + b.count;
    return out;
  }
}
