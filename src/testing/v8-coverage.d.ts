// Types for the part of @bcoe/v8-coverage (which ships none) that coverage-provider.ts uses:
// V8's script coverage as NODE_V8_COVERAGE writes it, and merging it across processes.
declare module '@bcoe/v8-coverage' {
  export interface RangeCov {
    startOffset: number;
    endOffset: number;
    count: number;
  }
  export interface FunctionCov {
    functionName: string;
    ranges: RangeCov[];
    isBlockCoverage: boolean;
  }
  export interface ScriptCov {
    scriptId: string;
    url: string;
    functions: FunctionCov[];
  }
  /** Merges coverages of the same script (same url) from several processes. */
  export function mergeScriptCovs(scripts: ScriptCov[]): ScriptCov | undefined;
}
