/**
 * Trust: the one certificate-path engine, the pools of candidate issuers it
 * searches, and the usage rules for end entities and CAs.
 *
 * @module
 */

export { CertPool } from "./pool.ts";
export {
  isSignedBy,
  issuerChain,
  type PathResult,
  type TrustStore,
  trustStore,
  unknownCriticalExtension,
  validatePath,
} from "./path.ts";
export { caProblem, type Purpose, usageProblem } from "./usage.ts";
