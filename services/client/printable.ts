// Whatever the server sends (body, headers, certificate fields) reaches a
// terminal or a log through us. Escaped, it cannot move the cursor, colour a
// line, or start a fake "result: OK" line of its own.

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

// C0 and C1 controls, DEL, the Unicode line separators and the bidirectional
// overrides that reorder what a reader sees.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;

/** `text` with every control character written as an escape (\n, \x1b, \u{202e}); backslashes doubled. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => NAMED[char] ?? escapeCode(char.codePointAt(0) ?? 0));
}

function escapeCode(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** At most `max` characters of `text`, escaped, with "…" when some were left out. */
export function excerpt(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? printable(text) : `${printable(chars.slice(0, max).join(''))}…`;
}

// JSON.stringify escapes C0 controls but writes C1 controls, line separators
// and bidi overrides as they are; a terminal showing the JSON would obey them.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `value` as JSON in which every control character is a \u escape. */
export function printableJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}
