/**
 * How far back a certificate's validity starts, so that a peer whose clock is
 * a little behind ours still accepts it from the moment it is issued: the
 * CAs, the CA's serving certificate and the PKI's certificates (days to years).
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The same for the CA service's leaves, which live minutes: backdated by
 * CLOCK_SKEW_MS, a 2-minute certificate would start its life inside its
 * renewal window (its last third), and agents would renew it at once.
 */
export const LEAF_BACKDATE_MS = 5000;
