// Counts of one transpilation added onto another's map of the same file: matched by start
// position, else by line, never adding entries (so coverage totals stay the target's).
import { describe, expect, it } from 'vitest';
import { addCounts, type FileData, type Range } from './coverage-merge.js';

const r = (line: number, column: number, endLine = line, endColumn: number | null = null): Range => ({ start: { line, column }, end: { line: endLine, column: endColumn } });

const target = (): FileData => ({
  statementMap: { 0: r(1, 0), 1: r(2, 2), 2: r(2, 20), 3: r(5, 4) },
  s: { 0: 1, 1: 0, 2: 0, 3: 0 },
  fnMap: { 0: { decl: r(1, 9), loc: r(1, 0, 6, 1) }, 1: { decl: r(8, 9), loc: r(8, 0, 9, 1) } },
  f: { 0: 1, 1: 0 },
  branchMap: { 0: { loc: r(2, 2), locations: [r(2, 2), r(2, 20)] }, 1: { loc: r(5, 4), locations: [r(5, 4), r(5, 9)] } },
  b: { 0: [1, 0], 1: [0, 0] },
});

describe('addCounts', () => {
  it('adds counts at the same start, falls back to the line, and keeps the target entries', () => {
    const into = target();
    addCounts(into, {
      // Same start as statement 2 (ends differ between transpilers); line 5 only by line; line 7 unknown to the target.
      statementMap: { a: r(2, 20, 2, 31), b: r(5, 6), c: r(7, 0), d: r(1, 0) },
      s: { a: 3, b: 2, c: 9, d: 4 },
      fnMap: { x: { decl: r(8, 9), loc: r(8, 0, 9, 2) } },
      f: { x: 5 },
      branchMap: { y: { loc: r(2, 2), locations: [r(2, 2), r(2, 20)] }, z: { loc: r(5, 5), locations: [r(5, 5), r(5, 9)] } },
      b: { y: [0, 3], z: [7, 7] },
    });
    expect(into.s).toEqual({ 0: 5, 1: 3, 2: 3, 3: 2 });
    expect(into.f).toEqual({ 0: 1, 1: 5 });
    // Branch 1 starts elsewhere in the source run: arms are matched by position only.
    expect(into.b).toEqual({ 0: [1, 3], 1: [0, 0] });
    expect(Object.keys(into.statementMap)).toEqual(['0', '1', '2', '3']);
  });

  it('leaves the target as it is when the other run never reached the file', () => {
    const into = target();
    addCounts(into, { statementMap: {}, s: {}, fnMap: {}, f: {}, branchMap: {}, b: {} });
    expect(into).toEqual(target());
  });
});
