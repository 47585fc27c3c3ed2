// A small parser for the libconfig syntax of SWUpdate's sw-description (settings `name = value;`,
// groups `{}`, arrays `[]`, lists `()`, comments). It also accepts JSON, SWUpdate's other syntax.
import { ValidationError } from '../../core/index.js';

export type ConfigValue = string | number | boolean | ConfigValue[] | { [key: string]: ConfigValue };

class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  fail(message: string): never {
    const line = this.text.slice(0, this.at).split('\n').length;
    throw new ValidationError(`sw-description line ${line}: ${message}`, [{ path: `sw-description:${line}`, message }]);
  }

  private skipSpace(): void {
    for (;;) {
      const rest = this.text.slice(this.at);
      const match = /^(?:\s+|#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
      if (!match) return;
      this.at += match[0].length;
    }
  }

  private peek(): string {
    this.skipSpace();
    return this.text[this.at] ?? '';
  }

  private expect(char: string): void {
    if (this.peek() !== char) this.fail(`expected '${char}' but found '${this.text[this.at] ?? 'end of file'}'`);
    this.at += 1;
  }

  /** A whole document: settings until the end, or one JSON object. */
  document(): Record<string, ConfigValue> {
    if (this.peek() === '{') {
      const value = this.group();
      if (this.peek() !== '') this.fail('unexpected text after the top-level object');
      return value;
    }
    const out = this.settings('');
    if (this.peek() !== '') this.fail(`unexpected '${this.text[this.at]}'`);
    return out;
  }

  private settings(close: string): Record<string, ConfigValue> {
    const out: Record<string, ConfigValue> = {};
    while (this.peek() !== close && this.peek() !== '') {
      const name = this.name();
      const sep = this.peek();
      if (sep !== '=' && sep !== ':') this.fail(`expected '=' or ':' after '${name}'`);
      this.at += 1;
      out[name] = this.value();
      const end = this.peek();
      if (end === ';' || end === ',') this.at += 1;
    }
    return out;
  }

  private name(): string {
    this.skipSpace();
    if (this.text[this.at] === '"') return this.string();
    const match = /^[A-Za-z*][-A-Za-z0-9_*]*/.exec(this.text.slice(this.at));
    if (!match) this.fail(`expected a setting name, found '${this.text[this.at]}'`);
    this.at += match[0].length;
    return match[0];
  }

  private string(): string {
    let out = '';
    // Adjacent string literals concatenate ("a" "b").
    while (this.peek() === '"') {
      const match = /^"((?:[^"\\]|\\.)*)"/.exec(this.text.slice(this.at));
      if (!match) this.fail('unterminated string');
      this.at += match[0].length;
      out += match[1]!.replace(/\\(["\\/fnrt]|x[0-9a-fA-F]{2})/g, (_m, e: string) =>
        e.startsWith('x') ? String.fromCharCode(parseInt(e.slice(1), 16)) : ({ f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e,
      );
    }
    return out;
  }

  private group(): Record<string, ConfigValue> {
    this.expect('{');
    const out = this.settings('}');
    this.expect('}');
    return out;
  }

  private sequence(open: string, close: string): ConfigValue[] {
    this.expect(open);
    const out: ConfigValue[] = [];
    while (this.peek() !== close) {
      if (this.peek() === '') this.fail(`missing '${close}'`);
      out.push(this.value());
      if (this.peek() === ',') this.at += 1;
    }
    this.expect(close);
    return out;
  }

  private value(): ConfigValue {
    const c = this.peek();
    if (c === '{') return this.group();
    if (c === '[') return this.sequence('[', ']');
    if (c === '(') return this.sequence('(', ')');
    if (c === '"') return this.string();
    const rest = this.text.slice(this.at);
    const bool = /^(true|false)\b/i.exec(rest);
    if (bool) {
      this.at += bool[0].length;
      return bool[0].toLowerCase() === 'true';
    }
    const num = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?)L{0,2}/.exec(rest);
    if (num) {
      this.at += num[0].length;
      return Number(num[0].replace(/L+$/, ''));
    }
    return this.fail(`unexpected '${c || 'end of file'}' where a value belongs`);
  }
}

/** Parses libconfig (or JSON) text into plain values; throws ValidationError with the line on bad syntax. */
export function parseLibconfig(text: string): Record<string, ConfigValue> {
  return new Parser(text).document();
}
