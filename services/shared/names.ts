import { isIP } from 'node:net';

/** A subjectAltName entry: certificates name hosts by DNS name or by IP address. */
export type SubjectName = { type: 'dns'; value: string } | { type: 'ip'; value: string };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Parses one host name or IP literal; throws a one-line reason when it is neither. */
function parseSubjectName(raw: string): SubjectName {
  const name = raw.trim();
  if (isIP(name) !== 0) return { type: 'ip', value: name };
  if (isDnsName(name)) return { type: 'dns', value: name.toLowerCase() };
  throw new Error(`"${raw}" is neither a valid DNS name nor an IP address`);
}

/** A comma-separated list of names, e.g. "server,localhost,127.0.0.1,::1". */
export function parseSubjectNames(list: string): SubjectName[] {
  const parts = list.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) throw new Error('the list of names is empty');
  const names = parts.map(parseSubjectName);
  const seen = new Set<string>();
  for (const name of names) {
    const key = formatSubjectName(name);
    if (seen.has(key)) throw new Error(`"${name.value}" is listed twice`);
    seen.add(key);
  }
  return names;
}

/** RFC 1123 host names; a last label of digits only is an IP typo, not a name. */
function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  return !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

/** The OpenSSL spelling, as `openssl x509 -text` prints it: "DNS:server", "IP:::1". */
export function formatSubjectName(name: SubjectName): string {
  return `${name.type === 'dns' ? 'DNS' : 'IP'}:${canonicalIp(name)}`;
}

function canonicalIp(name: SubjectName): string {
  if (name.type === 'dns' || isIP(name.value) === 4) return name.value;
  // Node prints IPv6 SANs fully expanded and uppercased; compare in one canonical form.
  return new URL(`http://[${name.value}]/`).hostname.slice(1, -1);
}

/** The names in a certificate's subjectAltName, as Node's X509Certificate reports them. */
export function namesFromSubjectAltName(subjectAltName: string | undefined): SubjectName[] {
  if (subjectAltName === undefined) return [];
  const names: SubjectName[] = [];
  for (const entry of subjectAltName.split(', ')) {
    if (entry.startsWith('DNS:')) names.push({ type: 'dns', value: entry.slice(4) });
    if (entry.startsWith('IP Address:')) names.push({ type: 'ip', value: entry.slice(11) });
  }
  return names;
}

/** Whether two name lists hold the same names, in any order. */
export function sameNames(a: readonly SubjectName[], b: readonly SubjectName[]): boolean {
  const left = new Set(a.map(formatSubjectName));
  const right = new Set(b.map(formatSubjectName));
  return left.size === right.size && [...left].every((name) => right.has(name));
}
