// The engine's codes cross the WebAssembly boundary as numbers: the table in
// js/errors.ts must say what cpp/status.h (enum Code, by position) and
// cpp/status.cc (code_name) say, and every engine code must become one of the
// public codes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENGINE_CODES, engineError, ERROR_CODES, EngineCode } from '../errors.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** enum Code's enumerators in order, numbered as C++ numbers them (kOk = 0, then one more each). */
function enumCodes(): Map<string, number> {
  const body = /enum class Code[^{]*\{([^}]*)\}/.exec(read('cpp/status.h'))?.[1];
  if (!body) throw new Error('cpp/status.h: no enum class Code');
  const codes = new Map<string, number>();
  let next = 0;
  for (const line of body.split('\n')) {
    const m = /^\s*(k\w+)\s*(?:=\s*(\d+))?\s*,?/.exec(line.replace(/\/\/.*/, ''));
    if (!m) continue;
    const value = m[2] !== undefined ? Number(m[2]) : next;
    codes.set(m[1]!, value);
    next = value + 1;
  }
  return codes;
}

/** code_name()'s cases: enumerator → name. */
function codeNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of read('cpp/status.cc').matchAll(/case Code::(k\w+):\s*return "(\w+)";/g)) names.set(m[1]!, m[2]!);
  return names;
}

describe('engine codes', () => {
  it('js/errors.ts numbers and names every code of cpp/status.h as the engine does', () => {
    const codes = enumCodes();
    const names = codeNames();
    expect(codes.get('kOk')).toBe(0);
    expect(codes.size).toBeGreaterThan(5);
    const fromCpp: Record<number, string> = {};
    for (const [enumerator, value] of codes) {
      const name = names.get(enumerator);
      expect(name, `code_name() names ${enumerator}`).toBeDefined();
      if (value !== 0) fromCpp[value] = name!;
    }
    expect({ ...ENGINE_CODES }).toEqual(fromCpp);
    expect(ENGINE_CODES[EngineCode.PendingFull]).toBe('pending_full');
  });

  it('every engine code becomes a public code; an unknown one is corrupt', () => {
    for (const [code, name] of Object.entries(ENGINE_CODES)) {
      const e = engineError(Number(code), 'm');
      expect(ERROR_CODES).toContain(e.code);
      if ((ERROR_CODES as readonly string[]).includes(name)) expect(e.code).toBe(name);
    }
    expect(engineError(EngineCode.PendingFull, 'm').code).toBe('limit_exceeded');
    expect(engineError(200, 'm').code).toBe('corrupt');
  });
});
