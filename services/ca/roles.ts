import type { Profile } from '../../core/x509.ts';

/** Who a certificate is for. `admin` is a client that will later be allowed to manage the CA. */
export type CaRole = 'server' | 'client' | 'admin';
export const ROLES: readonly CaRole[] = ['server', 'client', 'admin'];

// The role decides the extended key usage; the database keeps the role itself.
const PROFILE: Record<CaRole, Profile> = { server: 'server', client: 'client', admin: 'client' };

export function profileOf(role: CaRole): Profile {
  return PROFILE[role];
}

export function isRole(value: string): value is CaRole {
  return (ROLES as readonly string[]).includes(value);
}
