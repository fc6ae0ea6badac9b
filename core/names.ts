import { isIP } from 'node:net';

/**
 * A subjectAltName entry: certificates name hosts by DNS name or IP address,
 * and workloads by DNS name or URI (e.g. a SPIFFE ID).
 */
export type SubjectName = { type: 'dns'; value: string } | { type: 'ip'; value: string } | { type: 'uri'; value: string };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Parses one host name or IP literal; throws a one-line reason when it is neither. */
function parseSubjectName(raw: string): SubjectName {
  const name = raw.trim();
  if (isIP(name) !== 0) return { type: 'ip', value: name };
  if (isDnsName(name)) return { type: 'dns', value: name.toLowerCase() };
  throw new Error(`"${raw}" is neither a valid DNS name nor an IP address`);
}

/**
 * A workload's name as an authorization rule gives it: an entry with a scheme
 * ("spiffe://…", "https://…") is a URI, matched exactly; anything else is a
 * DNS name, matched without regard to case. Throws a one-line reason otherwise.
 */
export function parseWorkloadName(raw: string): SubjectName {
  const name = raw.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) {
    if (!URL.canParse(name) || /\s/.test(name)) throw new Error(`"${raw}" is not a valid URI`);
    return { type: 'uri', value: name };
  }
  if (isDnsName(name)) return { type: 'dns', value: name.toLowerCase() };
  throw new Error(`"${raw}" is neither a DNS name nor a URI with a scheme`);
}

/** Whether a certificate's name is the workload name a rule gives (from parseWorkloadName). */
export function isWorkloadName(certified: SubjectName, rule: SubjectName): boolean {
  if (certified.type !== rule.type) return false;
  return rule.type === 'dns' ? certified.value.toLowerCase() === rule.value : certified.value === rule.value;
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
  if (name.type === 'dns') return `DNS:${name.value}`;
  if (name.type === 'uri') return `URI:${name.value}`;
  return `IP:${canonicalIp(name.value)}`;
}

function canonicalIp(address: string): string {
  if (isIP(address) === 4) return address;
  // Node prints IPv6 SANs fully expanded and uppercased; compare in one canonical form.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

// One entry of Node's subjectAltName string: `TYPE:value`, where a value holding a
// comma or a quote is written as a JSON string, so that one name cannot pass for two.
const ALT_NAME_ENTRY = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
const ALT_NAME_TYPES: Record<string, SubjectName['type']> = { DNS: 'dns', URI: 'uri', 'IP Address': 'ip' };

/** The DNS, URI and IP names in a certificate's subjectAltName, as Node's X509Certificate reports them. */
export function namesFromSubjectAltName(subjectAltName: string | undefined): SubjectName[] {
  const text = subjectAltName ?? '';
  const entry = new RegExp(ALT_NAME_ENTRY);
  const names: SubjectName[] = [];
  for (let match = entry.exec(text); match !== null; match = entry.exec(text)) {
    const type = ALT_NAME_TYPES[match[1] ?? ''];
    const raw = match[2] ?? '';
    if (type !== undefined) names.push({ type, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
    if (entry.lastIndex === text.length) break;
  }
  return names;
}
